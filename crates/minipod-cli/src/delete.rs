//! `minipod delete pod NAME... | -f FILE | --all`: graceful termination, then the record goes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use minipod_manifest::read_inputs;
use minipod_pod::store::{PodRecord, PodStore};
use minipod_pod::supervisor::launch;

use crate::control;
use crate::exit::input;
use crate::global::GlobalArgs;
use crate::pods;

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// `pod NAME...` (also `pods`, `po`, `pod/NAME`).
    pub resource: Vec<String>,
    /// Delete the pods this manifest describes.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Delete every pod in the namespace.
    #[arg(long)]
    pub all: bool,
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Seconds given to the pod to terminate gracefully (default: its
    /// terminationGracePeriodSeconds). 0 with --force kills at once.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub grace_period: Option<i64>,
    /// Same as --grace-period=1.
    #[arg(long)]
    pub now: bool,
    /// With --grace-period=0: kill at once.
    #[arg(long)]
    pub force: bool,
    /// Wait until the pods are gone (default true).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub wait: bool,
    /// Give up waiting after this long (e.g. 30s, 2m).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Missing pods are not an error.
    #[arg(long)]
    pub ignore_not_found: bool,
}

pub fn run(args: DeleteArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let grace = match (args.grace_period, args.now) {
        (Some(_), true) => {
            return Err(input(anyhow::anyhow!(
                "--now and --grace-period cannot be specified together"
            )))
        }
        (_, true) => Some(1),
        // kubectl: a negative value means "use the pod's", 0 without --force means 1.
        (Some(g), false) if g < 0 => None,
        (Some(0), false) if !args.force => Some(1),
        (g, false) => g,
    };
    let timeout = timeout_arg(args.timeout.as_deref())?;
    let store = PodStore::open(&global.root_dir())?;
    let targets = targets(&args, &store)?;
    let mut code = ExitCode::SUCCESS;
    let mut found = Vec::new();
    for t in targets {
        match t {
            Target::Pod(record) => found.push(*record),
            Target::Missing(name) => {
                if !args.ignore_not_found {
                    eprintln!("Error from server (NotFound): pods {name:?} not found");
                    code = ExitCode::from(1);
                }
            }
        }
    }
    // A workload's controller stops before its pods go, so it does not replace them.
    let owners: std::collections::BTreeSet<&str> =
        found.iter().filter_map(control::owner_uid).collect();
    for (uid, dir) in control::controller_dirs(global) {
        if args.all || owners.contains(uid.as_str()) {
            control::stop(&dir)?;
        }
    }
    for record in &found {
        pods::request_termination(record, grace)?;
        println!("pod {:?} deleted", record.name());
    }
    if !args.wait {
        return Ok(code);
    }
    let deadline = timeout.map(deadline_after);
    for record in &found {
        pods::wait_for_supervisor_exit(record, deadline)?;
        pods::remove_pod(global, &store, record)?;
    }
    // Controllers that ended and have no pod left are forgotten.
    let remaining = store.list()?;
    for (uid, dir) in control::controller_dirs(global) {
        if !control::is_running(&dir)
            && !remaining
                .iter()
                .any(|r| control::owner_uid(r) == Some(uid.as_str()))
        {
            let _ = minipod_runtime::removeall::remove_all_one_filesystem(&dir);
        }
    }
    Ok(code)
}

enum Target {
    Pod(Box<PodRecord>),
    Missing(String),
}

fn targets(args: &DeleteArgs, store: &PodStore) -> anyhow::Result<Vec<Target>> {
    let mut out = Vec::new();
    if !args.files.is_empty() {
        let inputs = read_inputs(&args.files).map_err(input)?;
        // Names of workload pods are generated: matching them by their controller's labels
        // is not possible across runs, so every pod made from one of these files goes (its
        // plan names the file it came from), as kubectl deletes what a file declares.
        let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
        for record in store.list()? {
            if record.namespace() != args.namespace {
                continue;
            }
            if let Ok(plan) = launch::load_plan(&record.dir) {
                if names.contains(&plan.file) {
                    out.push(Target::Pod(Box::new(record)));
                }
            }
        }
        return Ok(out);
    }
    if args.all {
        for record in store.list()? {
            if record.namespace() == args.namespace {
                out.push(Target::Pod(Box::new(record)));
            }
        }
        return Ok(out);
    }
    let mut words = args.resource.iter();
    let Some(kind) = words.next() else {
        return Err(input(anyhow::anyhow!(
            "you must provide one or more resources by argument or filename"
        )));
    };
    let mut names: Vec<String> = Vec::new();
    if let Some((k, n)) = kind.split_once('/') {
        check_kind(k)?;
        names.push(n.to_owned());
    } else {
        check_kind(kind)?;
    }
    names.extend(words.map(|w| w.strip_prefix("pod/").unwrap_or(w).to_owned()));
    if names.is_empty() {
        return Err(input(anyhow::anyhow!(
            "resource(s) were provided, but no name was specified"
        )));
    }
    for name in names {
        match store.find(&args.namespace, &name)? {
            Some(r) => out.push(Target::Pod(Box::new(r))),
            None => out.push(Target::Missing(name)),
        }
    }
    Ok(out)
}

fn check_kind(kind: &str) -> anyhow::Result<()> {
    match kind {
        "pod" | "pods" | "po" => Ok(()),
        other => Err(input(anyhow::anyhow!(
            "the server doesn't have a resource type {other:?}"
        ))),
    }
}

/// A `--timeout` flag's value, when given: a usage error when it does not parse.
pub fn timeout_arg(value: Option<&str>) -> anyhow::Result<Option<Duration>> {
    value.map(parse_duration).transpose().map_err(input)
}

/// `30s`, `2m`, `1h`, `500ms`, or plain seconds.
pub fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => anyhow::bail!("invalid duration {s:?} (use e.g. 30s, 2m, 1h)"),
    };
    if !secs.is_finite() || secs < 0.0 {
        anyhow::bail!("invalid duration {s:?}");
    }
    // Go's time.ParseDuration (what kubectl uses) refuses what overflows an int64 of
    // nanoseconds; so does minipod, rather than panicking in Duration::from_secs_f64.
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        _ => anyhow::bail!(
            "invalid duration {s:?}: longer than the maximum of 2562047h (about 292 years)"
        ),
    }
}

/// Go's longest `time.Duration`: i64::MAX nanoseconds (2562047h47m16.854775807s).
pub const MAX_DURATION: Duration = Duration::from_nanos(i64::MAX as u64);

/// `Instant::now() + d`, clamped to a century instead of panicking on overflow.
pub fn deadline_after(d: Duration) -> Instant {
    minipod_pod::time::deadline_after(Instant::now(), d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_or_are_refused_never_panic() {
        let ok = [
            ("30s", Duration::from_secs(30)),
            ("2m", Duration::from_secs(120)),
            ("500ms", Duration::from_millis(500)),
            ("7", Duration::from_secs(7)),
            ("2562047h", Duration::from_secs(2562047 * 3600)),
        ];
        for (s, want) in ok {
            assert_eq!(parse_duration(s).unwrap(), want, "{s}");
        }
        for s in [
            "100000000000000000000s",
            "2562048h",
            "1e400s",
            "99999999999999999999999999999h",
            "-1s",
            "soon",
        ] {
            let err = parse_duration(s).unwrap_err().to_string();
            assert!(err.starts_with("invalid duration"), "{s}: {err}");
        }
        // The longest valid timeout still makes a deadline.
        assert!(deadline_after(MAX_DURATION) > Instant::now());
        assert!(deadline_after(Duration::MAX) > Instant::now());
    }
}
