//! `minipod __supervise UID`: the per-pod supervisor process (started by `run`, never by hand).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use minipod_image::ImageStore;
use minipod_pod::backoff::{BackoffPolicy, INITIAL_BACKOFF_ENV};
use minipod_pod::store::PodStore;
use minipod_pod::supervisor::containers::{ContainerBackend, PodDirs};
use minipod_pod::supervisor::launch::SupervisorLock;
use minipod_pod::supervisor::{Outcome, Supervisor};
use minipod_runtime::cgroup::SupervisorCgroup;

use crate::global::GlobalArgs;
use crate::pods;

pub fn run(uid: &str, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    // CVE-2019-5736: containers are created from here, so run from a sealed copy of the
    // binary that no process in a container can write to. Returns only once sealed.
    minipod_runtime::seal::ensure_sealed().context("seal the supervisor binary")?;
    // Its own session: the terminal's Ctrl-C reaches `minipod run`, which decides.
    let _ = nix::unistd::setsid();
    // And its own cgroup, out of the invoking user's login session (systemd's
    // KillUserProcesses=yes kills the session's cgroup at logout).
    let cgroup = match SupervisorCgroup::enter(uid) {
        Ok(cg) => Some(cg),
        Err(e) => {
            log::warn!("pod {uid}: supervisor stays in its parent's cgroup: {e}");
            None
        }
    };
    let result = supervise(uid, global);
    if let Some(cg) = cgroup {
        if let Err(e) = cg.leave(CGROUP_REMOVE_TIMEOUT) {
            log::warn!("pod {uid}: remove the supervisor's cgroup: {e}");
        }
    }
    result
}

/// How long the supervisor's cgroup removal waits for exiting tasks to be gone.
const CGROUP_REMOVE_TIMEOUT: Duration = Duration::from_secs(2);

fn supervise(uid: &str, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let root = global.root_dir();
    let store = PodStore::open(&root)?;
    let record = store
        .load(uid)?
        .with_context(|| format!("pod {uid} not found under {}", root.display()))?;
    let _lock = SupervisorLock::acquire(&record.dir)?;
    let plan = pods::plan_of(&record)?;
    let images = ImageStore::open(&root)?;
    let dirs = PodDirs {
        pod_dir: record.dir.clone(),
        run_dir: pods::run_dir_of(global, uid),
    };
    let backend =
        ContainerBackend::new(plan.clone(), images, dirs).map_err(|e| anyhow::anyhow!(e))?;
    let policy = BackoffPolicy::from_initial_ms(std::env::var(INITIAL_BACKOFF_ENV).ok().as_deref());
    let Outcome::Finished(phase) = Supervisor::new(store, plan, backend, policy)?.run()?;
    log::info!("pod {uid} ended {}", phase.as_str());
    Ok(ExitCode::SUCCESS)
}
