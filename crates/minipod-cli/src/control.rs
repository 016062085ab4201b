//! Workload controllers: `minipod __control DIR`, one detached process per Job and per
//! `OrderedReady` StatefulSet, making the pods [`minipod_pod::workload::decide`] asks for
//! (the next ordinal once the previous is Running and Ready; a Job's next pods up to its
//! completions, with the failure back-off and limits). Every other workload has all its
//! pods from the start.
//!
//! A controller's directory is `<root>/workloads/<workload uid>/`: `source.json` (the input,
//! seed and which workload), the lock a live controller holds (as a pod supervisor does),
//! its log, and `outcome.json` once the workload ended (a Job's `Complete` or `Failed`).
//! `delete` stops the controller of a workload before it deletes that workload's pods, so a
//! deleted Job pod is not replaced (a cluster would replace it; here the delete is the
//! user's way to stop the workload).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use minipod_image::ImageStore;
use minipod_manifest::{Manifest, WorkloadKind, WorkloadPlan};
use minipod_pod::backoff::INITIAL_BACKOFF_ENV;
use minipod_pod::store::{write_json_atomic, PodRecord, PodStore};
use minipod_pod::supervisor::launch::{self, PodSource, SupervisorLock};
use minipod_pod::time::Timestamp;
use minipod_pod::workload::{
    decide, ControlledPod, Controller, JobSpec, Outcome, PodPhaseView, JOB_BACKOFF_INITIAL,
};
use serde::{Deserialize, Serialize};

use crate::global::GlobalArgs;
use crate::pods;

pub const WORKLOADS_DIR: &str = "workloads";
const OUTCOME_FILE: &str = "outcome.json";
/// How often a controller looks at its pods.
const POLL: Duration = Duration::from_millis(100);

/// What a controller was started for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlSource {
    pub source: PodSource,
    /// Index of the workload in the accepted manifest.
    pub workload: usize,
    /// When the workload started (the Job's startTime).
    pub started_at: Timestamp,
}

/// How a workload ended, as its controller recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadOutcome {
    /// `Complete`, `Failed` or `AllCreated`.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The controller a workload needs on this host, if any.
pub fn controller_for(w: &WorkloadPlan, started_at: Timestamp) -> Option<Controller> {
    match &w.kind {
        WorkloadKind::StatefulSet {
            replicas,
            ordered_ready: true,
            ..
        } if *replicas > 1 => Some(Controller::OrderedStatefulSet {
            replicas: *replicas as u32,
        }),
        WorkloadKind::Job {
            completions,
            parallelism,
            backoff_limit,
            indexed,
            suspend: false,
            active_deadline_seconds,
            ..
        } => {
            let on_failure = w
                .template
                .spec
                .as_ref()
                .and_then(|s| s.restart_policy.as_deref())
                == Some("OnFailure");
            let backoff_initial = std::env::var(INITIAL_BACKOFF_ENV)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(JOB_BACKOFF_INITIAL, Duration::from_millis);
            Some(Controller::Job(JobSpec {
                completions: completions.map(|c| c.max(0) as u32),
                parallelism: (*parallelism).max(0) as u32,
                backoff_limit: (*backoff_limit).max(0) as u32,
                indexed: *indexed,
                on_failure,
                active_deadline: active_deadline_seconds
                    .map(|s| Duration::from_secs(s.max(0) as u64)),
                started_at,
                backoff_initial,
            }))
        }
        _ => None,
    }
}

pub fn workloads_dir(global: &GlobalArgs) -> PathBuf {
    global.root_dir().join(WORKLOADS_DIR)
}

/// Starts the controllers the accepted manifest needs; returns their directories.
pub fn start_controllers(
    global: &GlobalArgs,
    exe: &Path,
    manifest: &Manifest,
    source: &PodSource,
) -> anyhow::Result<Vec<PathBuf>> {
    let now = Timestamp::now();
    let mut dirs = Vec::new();
    for (index, w) in manifest.workloads.iter().enumerate() {
        if controller_for(w, now).is_none() {
            continue;
        }
        let dir = workloads_dir(global).join(&w.uid);
        // 0700: the controller's source.json holds the input, Secrets included.
        minipod_runtime::private::create_dir_all(&workloads_dir(global))
            .and_then(|()| minipod_runtime::private::create_dir_all(&dir))
            .with_context(|| format!("create {}", dir.display()))?;
        let control = ControlSource {
            source: source.clone(),
            workload: index,
            started_at: now,
        };
        write_json_atomic(&dir.join(launch::SOURCE_FILE), &control)?;
        launch::spawn_locked(
            exe,
            &global.root_dir(),
            &["__control", dir.to_str().context("non-UTF-8 root")?],
            &dir,
        )
        .with_context(|| {
            format!(
                "start the controller of {} {:?}",
                w.object.kind, w.object.name
            )
        })?;
        dirs.push(dir);
    }
    Ok(dirs)
}

/// Every controller directory under the root: (workload uid, dir).
pub fn controller_dirs(global: &GlobalArgs) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(workloads_dir(global)) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect()
}

pub fn is_running(dir: &Path) -> bool {
    launch::running_supervisor(dir).is_some()
}

pub fn outcome(dir: &Path) -> Option<WorkloadOutcome> {
    let bytes = std::fs::read(dir.join(OUTCOME_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Stops a controller (SIGTERM) and waits until it has let go of its lock.
pub fn stop(dir: &Path) -> anyhow::Result<()> {
    if let Some(pid) = launch::running_supervisor(dir) {
        if pid > 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while is_running(dir) {
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "the workload controller in {} does not stop",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}

/// A controller's stored source, and the manifest it accepts again.
fn load_control(dir: &Path) -> anyhow::Result<(ControlSource, Manifest)> {
    let path = dir.join(launch::SOURCE_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
    let control: ControlSource =
        serde_json::from_slice(&bytes).with_context(|| format!("decode {}", path.display()))?;
    let manifest = pods::manifest_of(&control.source)?;
    Ok((control, manifest))
}

/// `Job "name"` for messages, from the controller's stored source.
pub fn describe(dir: &Path) -> Option<String> {
    let (control, manifest) = load_control(dir).ok()?;
    let w = manifest.workloads.get(control.workload)?;
    Some(format!("{} {:?}", w.object.kind, w.object.name))
}

/// The uid of the workload that owns a pod (its controller ownerReference).
pub fn owner_uid(record: &PodRecord) -> Option<&str> {
    record
        .pod
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}

/// `minipod __control DIR`: the controller process.
pub fn run(dir: &Path, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let _ = nix::unistd::setsid();
    let _lock = SupervisorLock::acquire(dir)?;
    let stop_requested = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop_requested))?;
    }
    let (control, manifest) = load_control(dir)?;
    let w = manifest
        .workloads
        .get(control.workload)
        .context("the workload is not in its stored manifest")?;
    let Some(controller) = controller_for(w, control.started_at) else {
        return Ok(ExitCode::SUCCESS);
    };
    let root = global.root_dir();
    let store = PodStore::open(&root)?;
    let images = ImageStore::open(&root)?;
    let exe = std::env::current_exe().context("locate the minipod binary")?;
    // Pods seen so far (uid → identity), and when each was first seen ended.
    let mut seen: BTreeMap<String, ControlledPod> = BTreeMap::new();
    let mut finished: BTreeMap<String, Timestamp> = BTreeMap::new();
    loop {
        if stop_requested.load(Ordering::Relaxed) {
            log::info!("{} {:?}: stopped", w.object.kind, w.object.name);
            return Ok(ExitCode::SUCCESS);
        }
        let now = Timestamp::now();
        let records: Vec<PodRecord> = store
            .list()?
            .into_iter()
            .filter(|r| owner_uid(r) == Some(w.uid.as_str()))
            .collect();
        for p in seen.values_mut() {
            p.phase = PodPhaseView::Gone;
        }
        for r in &records {
            // The pod's identity in its workload: `Manifest::new_pod`'s sequence and
            // attempt, kept in the plan it was accepted with.
            let Some(id) = launch::load_plan(&r.dir).ok().and_then(|p| p.controller) else {
                continue;
            };
            let status = r.pod.status.as_ref();
            let phase = PodPhaseView::from_phase(status.and_then(|s| s.phase.as_deref()));
            if matches!(phase, PodPhaseView::Succeeded | PodPhaseView::Failed) {
                finished.entry(r.uid().to_owned()).or_insert(now);
            }
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            let restarts = status
                .and_then(|s| s.container_statuses.as_ref())
                .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum());
            seen.insert(
                r.uid().to_owned(),
                ControlledPod {
                    sequence: id.index,
                    attempt: id.attempt,
                    phase,
                    ready,
                    restarts,
                    finished_at: finished.get(r.uid()).copied(),
                },
            );
        }
        let uids: Vec<&String> = seen.keys().collect();
        let observed: Vec<ControlledPod> = seen.values().cloned().collect();
        let d = decide(&controller, &observed, now);
        for &i in &d.terminate {
            if let Some(r) = records.iter().find(|r| r.uid() == uids[i]) {
                pods::request_termination(r, None)?;
            }
        }
        for &(sequence, attempt) in &d.create {
            let plan = manifest
                .new_pod(control.workload, sequence, attempt)
                .map_err(|r| anyhow::anyhow!("plan the next pod: {r}"))?;
            if store.find(&plan.namespace, &plan.name)?.is_some() {
                continue;
            }
            pods::create_pod(&store, &images, &exe, &root, &plan)
                .with_context(|| format!("create pod {:?}", plan.name))?;
            log::info!("created pod {:?}", plan.name);
        }
        if let Some(outcome) = d.outcome {
            let o = match outcome {
                Outcome::AllCreated => WorkloadOutcome {
                    type_: "AllCreated".into(),
                    reason: String::new(),
                    message: String::new(),
                },
                Outcome::Complete => WorkloadOutcome {
                    type_: "Complete".into(),
                    reason: String::new(),
                    message: String::new(),
                },
                Outcome::Failed { reason, message } => WorkloadOutcome {
                    type_: "Failed".into(),
                    reason,
                    message,
                },
            };
            write_json_atomic(&dir.join(OUTCOME_FILE), &o)?;
            log::info!("{} {:?}: {}", w.object.kind, w.object.name, o.type_);
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(POLL);
    }
}
