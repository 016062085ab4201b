//! `minipod wait pod NAME... | pod/NAME... | pods --all | pods -l SELECTOR --for=CONDITION
//! [--timeout D]`: block until pods meet a condition, as `kubectl wait` does.
//!
//! Conditions: `condition=NAME[=VALUE]` (a status condition; name and value compared without
//! case, value `true` by default), `jsonpath={EXPR}[=VALUE]` (the value, or without one: the
//! field is present and not empty), `delete` and `create`. One deadline covers every pod; each
//! pod that meets the condition prints `pod/NAME condition met` at once, each that did not by
//! the deadline gets kubectl's timeout error. The store is read every `POLL_INTERVAL`.

use std::io::Write;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use k8s_openapi::api::core::v1::Pod;
use minipod_pod::store::{PodRecord, PodStore};

use crate::exit::input;
use crate::get::{not_found, pod_names};
use crate::global::GlobalArgs;
use crate::printers::jsonpath::Template;
use crate::printers::pod_value;
use crate::watch::POLL_INTERVAL;

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// `pod NAME...`, `pods NAME...` or `pod/NAME...`; `pods` alone with --all or -l.
    #[arg(value_name = "TYPE[/NAME]")]
    pub resource: Vec<String>,
    /// The condition: `condition=NAME[=VALUE]`, `jsonpath={EXPR}[=VALUE]`, `delete` or `create`.
    #[arg(long = "for", value_name = "CONDITION", required = true)]
    pub for_condition: String,
    /// How long to wait (e.g. 30s, 2m); 0 checks once, a negative value waits a week.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        allow_hyphen_values = true
    )]
    pub timeout: String,
    /// Every pod in the namespace.
    #[arg(long)]
    pub all: bool,
    /// Label selector (`app=web`, `tier!=db`...).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Pods of every namespace (with --all or -l).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// The namespace.
    #[arg(short, long, value_name = "NS", default_value = "default")]
    pub namespace: String,
}

/// What `--for` asks for.
#[derive(Debug, Clone, PartialEq)]
enum WaitFor {
    Delete,
    Create,
    /// A `status.conditions[]` entry of this type with this status (both without case).
    Condition {
        name: String,
        status: String,
    },
    /// The template's output equals `value`, or is non-empty when there is no value.
    JsonPath {
        template: Template,
        value: Option<String>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unrecognized condition: {0:?}")]
pub struct ConditionError(String);

impl FromStr for WaitFor {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<WaitFor> {
        let unrecognized = || anyhow::Error::new(ConditionError(s.to_owned()));
        let lower = s.to_ascii_lowercase();
        if lower == "delete" {
            return Ok(WaitFor::Delete);
        }
        if lower == "create" {
            return Ok(WaitFor::Create);
        }
        if lower.starts_with("condition=") {
            let rest = &s["condition=".len()..];
            let (name, status) = rest.split_once('=').unwrap_or((rest, "true"));
            if name.is_empty() || status.is_empty() {
                return Err(unrecognized());
            }
            return Ok(WaitFor::Condition {
                name: name.to_owned(),
                status: status.to_owned(),
            });
        }
        if lower.starts_with("jsonpath=") {
            let rest = &s["jsonpath=".len()..];
            let (expr, value) = split_jsonpath(rest).ok_or_else(unrecognized)?;
            if value.is_some_and(str::is_empty) {
                anyhow::bail!("jsonpath wait value cannot be empty in {s:?}");
            }
            let template = Template::parse(&expr)?;
            return Ok(WaitFor::JsonPath {
                template,
                value: value.map(str::to_owned),
            });
        }
        Err(unrecognized())
    }
}

/// Splits `{EXPR}=VALUE` (or `{EXPR}`) at the `=` after the expression's closing brace, so
/// that `==` inside a filter stays in the expression. An expression without braces
/// (`.status.phase=Running`) ends at the first `=` and gets its braces added.
fn split_jsonpath(s: &str) -> Option<(String, Option<&str>)> {
    if !s.starts_with('{') {
        let (expr, value) = match s.split_once('=') {
            Some((e, v)) => (e, Some(v)),
            None => (s, None),
        };
        return (!expr.is_empty()).then(|| (format!("{{{expr}}}"), value));
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{') => depth += 1,
            (None, '}') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    let (expr, rest) = s.split_at(i + 1);
                    return match rest {
                        "" => Some((expr.to_owned(), None)),
                        _ => rest.strip_prefix('=').map(|v| (expr.to_owned(), Some(v))),
                    };
                }
            }
            (None, _) => {}
        }
    }
    None
}

impl WaitFor {
    /// Whether the pod (present in the store) meets a condition on its state.
    fn met_by(&self, pod: &Pod) -> anyhow::Result<bool> {
        Ok(match self {
            WaitFor::Delete => false,
            WaitFor::Create => true,
            WaitFor::Condition { name, status } => pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|conditions| {
                    conditions.iter().any(|c| {
                        c.type_.eq_ignore_ascii_case(name) && c.status.eq_ignore_ascii_case(status)
                    })
                }),
            WaitFor::JsonPath { template, value } => {
                let text = template.render(&pod_value(pod))?;
                match value {
                    Some(v) => text == *v,
                    None => !text.is_empty(),
                }
            }
        })
    }
}

/// `--timeout`: Go durations as kubectl takes them; negative means "a week".
fn parse_timeout(s: &str) -> anyhow::Result<Duration> {
    match s.trim().strip_prefix('-') {
        Some(positive) => {
            crate::delete::parse_duration(positive)?;
            Ok(Duration::from_secs(7 * 24 * 3600))
        }
        None => crate::delete::parse_duration(s),
    }
}

/// One pod being waited for.
struct Waited {
    name: String,
    namespace: String,
    /// The uid when the wait began: a new pod of the same name is another object.
    uid: Option<String>,
    state: WaitState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitState {
    Waiting,
    Met,
    Gone,
}

pub fn run(args: WaitArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    // Stage 1: the arguments alone.
    let condition: WaitFor = args.for_condition.parse().map_err(input)?;
    let timeout = parse_timeout(&args.timeout)
        .with_context(|| format!("--timeout {:?}", args.timeout))
        .map_err(input)?;
    let selector = crate::get::parse_selector(args.selector.as_deref())?;
    let names = match args.resource.split_first() {
        Some((first, rest)) => pod_names(first, rest)?,
        None if args.all || args.selector.is_some() => Vec::new(),
        None => {
            return Err(input(anyhow::anyhow!(
                "you must provide one or more resources by argument, --all or -l"
            )))
        }
    };
    let by_selection = args.all || args.selector.is_some();
    if by_selection && !names.is_empty() {
        return Err(input(anyhow::anyhow!(
            "name cannot be provided when a selector or --all is specified"
        )));
    }
    if !by_selection && names.is_empty() {
        return Err(input(anyhow::anyhow!(
            "resource(s) were provided, but no name was specified"
        )));
    }
    let namespace = (!args.all_namespaces).then_some(args.namespace.as_str());
    let store = PodStore::open(&global.root_dir()).context("open pod store")?;
    let deadline = crate::delete::deadline_after(timeout);
    let selected = |r: &PodRecord| {
        namespace.is_none_or(|ns| r.namespace() == ns)
            && selector.matches(r.pod.metadata.labels.as_ref())
    };

    // Stage 2: what to wait for. kubectl resolves a selector once, at the start.
    let mut code = ExitCode::SUCCESS;
    let mut waited: Vec<Waited> = Vec::new();
    if by_selection {
        let mut records: Vec<PodRecord> = store.list()?.into_iter().filter(selected).collect();
        // `create` with a selector waits until something matches.
        while records.is_empty() && condition == WaitFor::Create && Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL.min(deadline - Instant::now()));
            records = store.list()?.into_iter().filter(selected).collect();
        }
        if records.is_empty() {
            return match condition {
                WaitFor::Delete => Ok(ExitCode::SUCCESS),
                WaitFor::Create => anyhow::bail!("timed out waiting for the condition on pods"),
                _ => anyhow::bail!("no matching resources found"),
            };
        }
        waited.extend(records.iter().map(|r| Waited {
            name: r.name().to_owned(),
            namespace: r.namespace().to_owned(),
            uid: Some(r.uid().to_owned()),
            state: WaitState::Waiting,
        }));
    } else {
        let records = store.list()?;
        for name in names {
            let ns = args.namespace.clone();
            let found = records
                .iter()
                .find(|r| r.namespace() == ns && r.name() == name);
            match (found, &condition) {
                // kubectl ignores NotFound for `delete`: already gone, nothing printed.
                (None, WaitFor::Delete) => {}
                (None, WaitFor::Create) => waited.push(Waited {
                    name,
                    namespace: ns,
                    uid: None,
                    state: WaitState::Waiting,
                }),
                (None, _) => {
                    eprintln!("{}", not_found(&name));
                    code = ExitCode::from(1);
                }
                (Some(r), _) => waited.push(Waited {
                    name,
                    namespace: ns,
                    uid: Some(r.uid().to_owned()),
                    state: WaitState::Waiting,
                }),
            }
        }
    }

    // Stage 3: poll until every pod is done or the deadline passes.
    let mut stdout = std::io::stdout().lock();
    loop {
        let records = store.list().context("list pods")?;
        for w in waited.iter_mut().filter(|w| w.state == WaitState::Waiting) {
            let current = records.iter().find(|r| match &w.uid {
                Some(uid) => r.uid() == uid,
                None => r.namespace() == w.namespace && r.name() == w.name,
            });
            let met = match (current, &condition) {
                (None, WaitFor::Delete) => true,
                (None, WaitFor::Create) => false,
                (None, _) => {
                    // Deleted while waiting for a state it can no longer reach.
                    eprintln!("{}", not_found(&w.name));
                    w.state = WaitState::Gone;
                    code = ExitCode::from(1);
                    continue;
                }
                (Some(r), c) => c.met_by(&r.pod)?,
            };
            if met {
                w.state = WaitState::Met;
                writeln!(stdout, "pod/{} condition met", w.name)?;
                stdout.flush()?;
            }
        }
        if waited.iter().all(|w| w.state != WaitState::Waiting) {
            return Ok(code);
        }
        let now = Instant::now();
        if now >= deadline {
            for w in waited.iter().filter(|w| w.state == WaitState::Waiting) {
                eprintln!(
                    "error: timed out waiting for the condition on pods/{}",
                    w.name
                );
            }
            return Ok(ExitCode::from(1));
        }
        std::thread::sleep(POLL_INTERVAL.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};

    fn pod(phase: &str, conditions: &[(&str, &str)]) -> Pod {
        Pod {
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(t, s)| PodCondition {
                            type_: (*t).into(),
                            status: (*s).into(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn parse(s: &str) -> WaitFor {
        s.parse().unwrap()
    }

    #[test]
    fn conditions_compare_without_case_and_default_to_true() {
        let running = pod("Running", &[("Ready", "True"), ("Initialized", "True")]);
        assert!(parse("condition=Ready").met_by(&running).unwrap());
        assert!(parse("condition=ready").met_by(&running).unwrap());
        assert!(parse("Condition=READY=true").met_by(&running).unwrap());
        assert!(!parse("condition=Ready=false").met_by(&running).unwrap());
        assert!(!parse("condition=ContainersReady").met_by(&running).unwrap());
        let not_ready = pod("Running", &[("Ready", "False")]);
        assert!(parse("condition=Ready=False").met_by(&not_ready).unwrap());
        // An absent condition is neither true nor false.
        assert!(!parse("condition=Ready=false")
            .met_by(&pod("Pending", &[]))
            .unwrap());
    }

    #[test]
    fn jsonpath_compares_the_value_or_checks_presence() {
        let done = pod("Succeeded", &[]);
        assert!(parse("jsonpath={.status.phase}=Succeeded")
            .met_by(&done)
            .unwrap());
        assert!(!parse("jsonpath={.status.phase}=Running")
            .met_by(&done)
            .unwrap());
        assert!(parse("jsonpath=.status.phase=Succeeded")
            .met_by(&done)
            .unwrap());
        assert!(parse("jsonpath={.status.phase}").met_by(&done).unwrap());
        assert!(!parse("jsonpath={.status.podIP}").met_by(&done).unwrap());
        let ready = pod("Running", &[("Ready", "True")]);
        assert!(
            parse(r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}=True"#)
                .met_by(&ready)
                .unwrap()
        );
    }

    #[test]
    fn delete_and_create_are_recognised_and_anything_else_is_not() {
        assert_eq!(parse("delete"), WaitFor::Delete);
        assert_eq!(parse("Delete"), WaitFor::Delete);
        assert_eq!(parse("create"), WaitFor::Create);
        for bad in [
            "",
            "ready",
            "condition=",
            "jsonpath=",
            "jsonpath={.a",
            "deleted",
        ] {
            let err = bad.parse::<WaitFor>().expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!("unrecognized condition: {bad:?}"),
                "{bad}"
            );
        }
        let err = "jsonpath={.status.phase}=".parse::<WaitFor>().unwrap_err();
        assert!(err.to_string().contains("cannot be empty"), "{err}");
    }

    #[test]
    fn timeouts_zero_positive_and_negative() {
        assert_eq!(parse_timeout("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_timeout("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_timeout("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(
            parse_timeout("-1s").unwrap(),
            Duration::from_secs(7 * 24 * 3600)
        );
        assert!(parse_timeout("soon").is_err());
    }
}
