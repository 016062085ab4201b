//! `minipod get pods [NAME...]`: kubectl's table, `-o wide|json|yaml|name|jsonpath=...`,
//! `-l SELECTOR`, `-A`/`-n`, and `-w`/`--watch-only`.
//!
//! Behaviour follows kubectl's get.go: a missing name is reported as the API server's
//! NotFound after the objects that were found, one name implies a single object for
//! `-o json|yaml` (several, or none, give a `List`), and an empty result says
//! `No resources found in NS namespace.` on stderr.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use k8s_openapi::api::core::v1::Pod;
use minipod_pod::store::{PodRecord, PodStore};
use minipod_pod::time::Timestamp;

use crate::exit::input;
use crate::global::GlobalArgs;
use crate::printers::{self, OutputFormat, PodTable, TableOptions};
use crate::watch::{PodWatcher, POLL_INTERVAL};

pub use minipod_pod::selector::LabelSelector;

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The resource type (`pods`, `pod` or `po`), or TYPE/NAME.
    #[arg(value_name = "TYPE[/NAME]")]
    pub resource: String,
    /// Pod names.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Output format: wide, json, yaml, name, jsonpath=TEMPLATE.
    #[arg(short, long, value_name = "FORMAT")]
    pub output: Option<String>,
    /// Label selector (`app=web`, `tier!=db`, `env in (a,b)`, `!canary`...).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// After listing, print one row per change.
    #[arg(short, long)]
    pub watch: bool,
    /// Print only changes, not the current list.
    #[arg(long)]
    pub watch_only: bool,
    /// List pods of every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// The namespace.
    #[arg(short, long, value_name = "NS", default_value = "default")]
    pub namespace: String,
    /// Do not print the header row.
    #[arg(long)]
    pub no_headers: bool,
    /// Add a LABELS column.
    #[arg(long)]
    pub show_labels: bool,
}

/// `pods`/`pod`/`po` (any case): the only resource type minipod has.
pub(crate) fn is_pod_type(s: &str) -> bool {
    matches!(s.to_ascii_lowercase().as_str(), "pods" | "pod" | "po")
}

/// kubectl's argument forms: `TYPE [NAME...]` or `TYPE/NAME...`. Returns the names.
/// One pod argument, `NAME` or `pod/NAME` (exec, logs, port-forward's kubectl forms).
pub(crate) fn pod_name_arg(arg: &str) -> anyhow::Result<String> {
    match arg.split_once('/') {
        Some((kind, name)) if is_pod_type(kind) => Ok(name.to_owned()),
        Some((kind, _)) => Err(input(anyhow::anyhow!(
            "the server doesn't have a resource type {kind:?}"
        ))),
        None => Ok(arg.to_owned()),
    }
}

/// `-l SELECTOR` (none: everything).
pub(crate) fn parse_selector(selector: Option<&str>) -> anyhow::Result<LabelSelector> {
    selector.unwrap_or("").parse().map_err(input)
}

pub(crate) fn pod_names(resource: &str, names: &[String]) -> anyhow::Result<Vec<String>> {
    if resource.contains('/') {
        let mut out = Vec::new();
        for arg in std::iter::once(resource).chain(names.iter().map(String::as_str)) {
            let Some((kind, name)) = arg.split_once('/') else {
                return Err(input(anyhow::anyhow!(
                    "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'minipod get resource/<resource_name>' instead of 'minipod get resource resource/<resource_name>'"
                )));
            };
            check_type(kind)?;
            if name.is_empty() {
                return Err(input(anyhow::anyhow!(
                    "arguments in resource/name form must have a single resource and name"
                )));
            }
            out.push(name.to_owned());
        }
        return Ok(out);
    }
    check_type(resource)?;
    Ok(names.to_vec())
}

fn check_type(kind: &str) -> anyhow::Result<()> {
    if is_pod_type(kind) {
        Ok(())
    } else {
        // kubectl's message for a type the API server does not serve.
        Err(input(anyhow::anyhow!(
            "the server doesn't have a resource type {kind:?}"
        )))
    }
}

/// The API server's answer for a missing pod, as kubectl prints it.
pub(crate) fn not_found(name: &str) -> String {
    format!("Error from server (NotFound): pods {name:?} not found")
}

/// kubectl's notice for an empty result (on stderr).
pub(crate) fn no_resources(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("No resources found in {ns} namespace."),
        None => "No resources found".to_owned(),
    }
}

/// How a listing ends, as kubectl ends it: each missing name reported (exit 1), else
/// kubectl's notice on stderr when nothing was printed.
pub(crate) fn finish_listing<S: AsRef<str>>(
    missing: &[S],
    printed_nothing: bool,
    namespace: Option<&str>,
) -> ExitCode {
    for name in missing {
        eprintln!("{}", not_found(name.as_ref()));
    }
    if !missing.is_empty() {
        return ExitCode::from(1);
    }
    if printed_nothing {
        eprintln!("{}", no_resources(namespace));
    }
    ExitCode::SUCCESS
}

pub fn run(args: GetArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    crate::printers::ignore_broken_pipe(run_verb(args, global))
}

fn run_verb(args: GetArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let format: OutputFormat = args
        .output
        .as_deref()
        .unwrap_or("")
        .parse()
        .map_err(input)?;
    let selector = parse_selector(args.selector.as_deref())?;
    let names = pod_names(&args.resource, &args.names)?;
    if args.all_namespaces && !names.is_empty() {
        return Err(input(anyhow::anyhow!(
            "a resource cannot be retrieved by name across all namespaces"
        )));
    }
    if args.selector.is_some() && !names.is_empty() {
        return Err(input(anyhow::anyhow!(
            "name cannot be provided when a selector is specified"
        )));
    }
    let namespace = (!args.all_namespaces).then(|| args.namespace.clone());
    let store = PodStore::open(&global.root_dir()).context("open pod store")?;

    // Selecting: by names (in the order given), else by namespace and selector.
    let records = store.list().context("list pods")?;
    let in_scope = |r: &PodRecord| namespace.as_deref().is_none_or(|ns| r.namespace() == ns);
    let mut found: Vec<PodRecord> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    if names.is_empty() {
        found = records
            .into_iter()
            .filter(|r| in_scope(r) && selector.matches(r.pod.metadata.labels.as_ref()))
            .collect();
    } else {
        for name in &names {
            match records.iter().find(|r| in_scope(r) && r.name() == name) {
                Some(r) => found.push(r.clone()),
                None => missing.push(name.clone()),
            }
        }
    }

    let table_options = TableOptions {
        wide: format == OutputFormat::Wide,
        with_namespace: args.all_namespaces,
        no_headers: args.no_headers,
        show_labels: args.show_labels,
    };
    let mut table = PodTable::new(table_options);
    let watching = args.watch || args.watch_only;
    let mut stdout = std::io::stdout().lock();

    if !watching {
        let pods: Vec<&Pod> = found.iter().map(|r| &r.pod).collect();
        let single = names.len() == 1;
        let text = render(&format, &pods, single, &mut table, Timestamp::now())?;
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        return Ok(finish_listing(
            &missing,
            text.is_empty(),
            namespace.as_deref(),
        ));
    }

    if let Some(name) = missing.first() {
        eprintln!("{}", not_found(name));
        return Ok(ExitCode::from(1));
    }
    let watch_names = names.clone();
    let filter_ns = namespace.clone();
    let mut watcher = PodWatcher::new(
        store,
        Box::new(move |r: &PodRecord| {
            filter_ns.as_deref().is_none_or(|ns| r.namespace() == ns)
                && (watch_names.is_empty() || watch_names.iter().any(|n| n == r.name()))
                && selector.matches(r.pod.metadata.labels.as_ref())
        }),
    );
    let initial = watcher.list().context("list pods")?;
    let mut printer = WatchPrinter {
        format,
        table,
        printed_objects: 0,
    };
    if !args.watch_only {
        let pods: Vec<&Pod> = initial.iter().map(|r| &r.pod).collect();
        let text = printer.print(&pods)?;
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
    }
    // Named pods: the watch ends when all of them are gone. Otherwise it runs until Ctrl-C
    // (the default SIGINT action ends the process; nothing needs cleaning up).
    let until_gone = !names.is_empty();
    loop {
        if until_gone && watcher.len() == 0 {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(POLL_INTERVAL);
        let events = watcher.poll().context("watch pods")?;
        for event in &events {
            // kubectl prints the object of every event, a deleted one in its last state.
            let text = printer.print(&[event.pod()])?;
            stdout.write_all(text.as_bytes())?;
        }
        if !events.is_empty() {
            stdout.flush()?;
        }
    }
}

/// Output of `get` for a set of pods (no watch).
fn render(
    format: &OutputFormat,
    pods: &[&Pod],
    single: bool,
    table: &mut PodTable,
    now: Timestamp,
) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Table | OutputFormat::Wide => table.render(pods, now),
        OutputFormat::Name => pods.iter().map(|p| printers::pod_name_line(p)).collect(),
        OutputFormat::Json | OutputFormat::Yaml | OutputFormat::JsonPath(_) => {
            if single && pods.is_empty() {
                return Ok(String::new());
            }
            let value = match (single, pods) {
                (true, [pod]) => printers::pod_value(pod),
                _ => printers::list_value(pods),
            };
            match format {
                OutputFormat::Json => printers::to_json(&value),
                OutputFormat::Yaml => printers::to_yaml(&value)?,
                OutputFormat::JsonPath(t) => t.render(&value)?,
                _ => String::new(),
            }
        }
    })
}

/// Output of `get -w`: each object on its own (kubectl's watch prints objects, not lists).
struct WatchPrinter {
    format: OutputFormat,
    table: PodTable,
    printed_objects: usize,
}

impl WatchPrinter {
    fn print(&mut self, pods: &[&Pod]) -> anyhow::Result<String> {
        let now = Timestamp::now();
        let mut out = String::new();
        match &self.format {
            OutputFormat::Table | OutputFormat::Wide => out = self.table.render(pods, now),
            _ => {
                for pod in pods {
                    // kubectl's YAML printer separates documents after the first with `---`.
                    if self.format == OutputFormat::Yaml && self.printed_objects > 0 {
                        out.push_str("---\n");
                    }
                    out.push_str(&render(&self.format, &[pod], true, &mut self.table, now)?);
                    self.printed_objects += 1;
                }
            }
        }
        Ok(out)
    }
}
