//! `minipod run -f FILE` (and `apply -f`): accept the manifests, start one supervisor per pod,
//! and in the foreground print the pods' rows as `kubectl get pods -w` would, one per change
//! of READY, STATUS or RESTARTS, until every pod has finished.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use k8s_openapi::api::core::v1::Pod;
use minipod_image::ImageStore;
use minipod_manifest::read_inputs;
use minipod_pod::kubectl::print_pod;
use minipod_pod::store::{PodRecord, PodStore};
use minipod_pod::supervisor::launch;
use minipod_pod::supervisor::DELETION_REQUEST_FILE;
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::control;
use crate::delete::timeout_arg;
use crate::exit::input;
use crate::global::GlobalArgs;
use crate::pods;
use crate::printers::{PodTable, TableOptions};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Manifest file (YAML or JSON, several documents allowed; `-` for stdin).
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Return once the pods are created instead of following them.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Delete the pods once they have finished.
    #[arg(long)]
    pub rm: bool,
    /// In the foreground: stop the pods (gracefully) and fail after this long (e.g. 5m).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// `apply` semantics: an unchanged pod is left alone, a changed one replaced.
    #[arg(skip)]
    pub apply: bool,
}

pub fn run(args: RunArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let timeout = timeout_arg(args.timeout.as_deref())?;
    let inputs = read_inputs(&args.files).map_err(input)?;
    let seed = pods::random_seed();
    let manifest = pods::accept(&inputs, seed)?;
    let file = &args.files[0];
    if manifest.pods.is_empty() {
        return Err(input(anyhow::anyhow!(
            "{}: no pods to run (expected a Pod or a workload with a pod template)",
            file.display()
        )));
    }
    let root = global.root_dir();
    let store = PodStore::open(&root)?;
    let images = ImageStore::open(&root)?;
    pods::ensure_images(&images, &manifest.pods, file)?;
    let mut unchanged = Vec::new();
    let mut replaced = Vec::new();
    for plan in &manifest.pods {
        let Some(existing) = store.find(&plan.namespace, &plan.name)? else {
            continue;
        };
        if args.apply {
            if same_pod(&existing.pod, &plan.pod) {
                unchanged.push(plan.uid.clone());
            } else {
                replaced.push(existing);
            }
            continue;
        }
        {
            return Err(input(anyhow::anyhow!(
                "{}: pods {:?} already exists in namespace {:?} (delete it first: minipod delete pod {})",
                file.display(),
                plan.name,
                plan.namespace,
                plan.name
            )));
        }
    }
    // Every check passed: now replace what changed, then create.
    for old in &replaced {
        pods::request_termination(old, None)?;
        pods::wait_for_supervisor_exit(old, None)?;
        pods::remove_pod(global, &store, old)?;
    }
    let exe = std::env::current_exe().context("locate the minipod binary")?;
    let source = pods::source_of(&inputs, seed);
    let mut uids = Vec::new();
    for plan in &manifest.pods {
        if unchanged.contains(&plan.uid) {
            println!("pod/{} unchanged", plan.name);
            continue;
        }
        let record = pods::create_pod(&store, &images, &exe, &root, plan)?;
        uids.push(record.uid().to_owned());
        if args.detach {
            let verb = if replaced.iter().any(|r| r.name() == plan.name) {
                "configured"
            } else {
                "created"
            };
            println!("pod/{} {verb}", plan.name);
        }
    }
    // Workloads whose pods all exist already (apply of an unchanged file) keep theirs.
    let mut wanted = manifest.clone();
    wanted
        .workloads
        .iter_mut()
        .filter(|w| {
            !w.pods.is_empty()
                && w.pods.iter().all(|name| {
                    manifest
                        .pods
                        .iter()
                        .any(|p| &p.name == name && unchanged.contains(&p.uid))
                })
        })
        .for_each(|w| w.kind = minipod_manifest::WorkloadKind::DaemonSet);
    let controllers = control::start_controllers(global, &exe, &wanted, &source)?;
    if args.detach {
        return Ok(ExitCode::SUCCESS);
    }
    follow(global, &store, &uids, &controllers, args.rm, timeout)
}

/// Foreground: rows on change, Ctrl-C handling, exit code from the pods' phases.
fn follow(
    global: &GlobalArgs,
    store: &PodStore,
    uids: &[String],
    controllers: &[PathBuf],
    remove_when_done: bool,
    timeout: Option<Duration>,
) -> anyhow::Result<ExitCode> {
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).context("handle Ctrl-C")?;
    let deadline = timeout.map(crate::delete::deadline_after);
    let mut table = PodTable::new(TableOptions::default());
    let mut shown: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    // How many entries of each pod's status history were already looked at.
    // Per pod, the resourceVersion of the last history entry replayed (by version, not by
    // position: the store compacts the history).
    let mut replayed: BTreeMap<String, u64> = BTreeMap::new();
    let mut interrupts = 0usize;
    let mut timed_out = false;
    let mut uids = uids.to_vec();
    // Workload uid → controller directory.
    let workloads: BTreeMap<String, &PathBuf> = controllers
        .iter()
        .filter_map(|d| Some((d.file_name()?.to_string_lossy().into_owned(), d)))
        .collect();
    loop {
        let now = jiff::Timestamp::now();
        // Pods the controllers made since the last look join the table.
        if !workloads.is_empty() {
            for r in store.list()? {
                if control::owner_uid(&r).is_some_and(|o| workloads.contains_key(o))
                    && !uids.iter().any(|u| u == r.uid())
                {
                    uids.push(r.uid().to_owned());
                }
            }
        }
        let mut records: Vec<PodRecord> = Vec::new();
        for uid in &uids {
            if let Some(r) = store.load(uid)? {
                records.push(r);
            }
        }
        for r in &records {
            // Replay every status written since the last look, like a watch: a state that
            // lasted a millisecond (PodInitializing) still gets its row.
            let history = store.status_history(r.uid())?;
            let seen = replayed.entry(r.uid().to_owned()).or_insert(0);
            let rv_of = |p: &Pod| {
                p.metadata
                    .resource_version
                    .as_deref()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let newer: Vec<Pod> = history.into_iter().filter(|h| rv_of(h) > *seen).collect();
            if let Some(last) = newer.last() {
                *seen = rv_of(last);
            }
            let mut states: Vec<Pod> = newer
                .into_iter()
                .map(|h| {
                    let mut pod = r.pod.clone();
                    pod.status = h.status;
                    pod.metadata.deletion_timestamp = h.metadata.deletion_timestamp;
                    pod
                })
                .collect();
            if states.is_empty() && !shown.contains_key(r.uid()) {
                states.push(r.pod.clone());
            }
            for pod in &states {
                let row = print_pod(pod, now);
                // RESTARTS without its "(5s ago)": the count changing is the change.
                let restarts = row
                    .restarts
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let key = (row.ready.clone(), row.status.clone(), restarts);
                if shown.get(r.uid()) != Some(&key) {
                    print!("{}", table.render(&[pod], now));
                    shown.insert(r.uid().to_owned(), key);
                }
            }
        }
        let alive: BTreeSet<&str> = records
            .iter()
            .filter(|r| launch::running_supervisor(&r.dir).is_some())
            .map(|r| r.uid())
            .collect();
        if alive.is_empty() && !controllers.iter().any(|d| control::is_running(d)) {
            break;
        }
        for sig in signals.pending() {
            if sig == SIGINT || sig == SIGTERM {
                interrupts += 1;
                // No new pods while stopping.
                for d in controllers {
                    control::stop(d)?;
                }
                // First: graceful (preStop, stop signal, grace period). Second: at once.
                let grace = if interrupts == 1 { None } else { Some(0) };
                for r in &records {
                    pods::request_termination(r, grace)?;
                }
            }
        }
        if !timed_out && deadline.is_some_and(|d| Instant::now() >= d) {
            timed_out = true;
            for d in controllers {
                control::stop(d)?;
            }
            for r in &records {
                pods::request_termination(r, None)?;
            }
        }
        // A pod a controller made just before it was stopped was not in `records` yet when
        // the others were asked to stop: it is asked when it first shows up.
        if interrupts > 0 || timed_out {
            for r in &records {
                if !r.dir.join(DELETION_REQUEST_FILE).exists() {
                    pods::request_termination(r, None)?;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let records: Vec<PodRecord> = uids
        .iter()
        .filter_map(|u| store.load(u).ok().flatten())
        .collect();
    // A Job's outcome is its own (failed pods it replaced do not count); other pods must
    // have succeeded.
    let jobs_ok = controllers.iter().all(|d| match control::outcome(d) {
        Some(o) if o.type_ == "Failed" => {
            eprintln!(
                "error: {} failed: {}: {}",
                workload_name(d),
                o.reason,
                o.message
            );
            false
        }
        Some(_) => true,
        None => false,
    });
    let all_succeeded = jobs_ok
        && records.iter().all(|r| {
            phase(r) == Some("Succeeded")
                || control::owner_uid(r).is_some_and(|o| workloads.contains_key(o))
        });
    for r in &records {
        if !matches!(phase(r), Some("Succeeded") | Some("Failed")) && interrupts == 0 && !timed_out
        {
            eprintln!(
                "error: the supervisor of pod {:?} ended before the pod did; see {}",
                r.name(),
                r.dir.join(launch::LOG_FILE).display()
            );
        }
    }
    if interrupts > 0 || timed_out || remove_when_done {
        for r in &records {
            pods::remove_pod(global, store, r)?;
        }
        for d in controllers {
            let _ = minipod_runtime::removeall::remove_all_one_filesystem(d);
        }
    }
    if timed_out {
        eprintln!("error: timed out waiting for the pods to finish");
    }
    Ok(if all_succeeded && interrupts == 0 && !timed_out {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Whether a stored pod is what the manifest asks for now (labels, annotations, spec; the
/// generated uid and timestamps aside).
fn same_pod(stored: &Pod, wanted: &Pod) -> bool {
    stored.metadata.labels == wanted.metadata.labels
        && stored.metadata.annotations == wanted.metadata.annotations
        && stored.spec == wanted.spec
}

/// `Kind "name"` of the workload a controller directory is for.
fn workload_name(dir: &std::path::Path) -> String {
    control::describe(dir).unwrap_or_else(|| dir.display().to_string())
}

fn phase(r: &PodRecord) -> Option<&str> {
    r.pod.status.as_ref().and_then(|s| s.phase.as_deref())
}
