//! What `run`, `apply`, `delete` and the supervisor share: accepting manifests on this host,
//! and removing a pod with everything it left.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;
use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use minipod_image::ImageStore;
use minipod_manifest::{load, Input, LoadOptions, Manifest, NodeInfo, PodPlan, PullPolicy};
use minipod_pod::store::{PodRecord, PodStore, StatusMeta};
use minipod_pod::supervisor::containers::{sandbox_config, ContainerBackend, PodDirs};
use minipod_pod::supervisor::launch::{self, PodSource};
use minipod_pod::supervisor::DELETION_REQUEST_FILE;
use minipod_pod::time::k8s_time;

use crate::exit::input;
use crate::global::GlobalArgs;

/// This host as the node the pods are "scheduled" on: its name and capacity feed the
/// downward API (limits default to node allocatable).
pub fn node_info() -> NodeInfo {
    let mut node = NodeInfo::default();
    if let Ok(name) = nix::unistd::gethostname() {
        if let Ok(name) = name.into_string() {
            node.name = name.to_lowercase();
        }
    }
    if let Ok(n) = std::thread::available_parallelism() {
        node.cpu_millis = n.get() as i64 * 1000;
    }
    if let Ok(info) = nix::sys::sysinfo::sysinfo() {
        node.memory_bytes = info.ram_total() as i64;
    }
    node
}

/// Accepts inputs the way `validate` does, printing warnings; every error is printed and the
/// whole input refused (exit 2) before anything is created.
pub fn accept(inputs: &[Input], seed: u64) -> anyhow::Result<Manifest> {
    // The supervisors read the log rotation settings; a bad one is refused here, before
    // anything is created, rather than only noted in a supervisor's own log.
    minipod_runtime::logs::RotationPolicy::from_env().map_err(|e| input(anyhow::anyhow!(e)))?;
    let options = LoadOptions {
        seed,
        node: node_info(),
    };
    match load(inputs, &options) {
        Ok(m) => {
            for w in &m.warnings {
                eprintln!("warning: {w}");
            }
            Ok(m)
        }
        Err(rejected) => {
            for w in &rejected.warnings {
                eprintln!("warning: {w}");
            }
            let n = rejected.errors.len();
            for e in rejected.errors.iter().take(n.saturating_sub(1)) {
                eprintln!("error: {e}");
            }
            let last = rejected
                .errors
                .last()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "the input was refused".into());
            Err(input(anyhow::anyhow!(last)))
        }
    }
}

/// Accepts a stored input again, as it was accepted at first (same seed: same names, uids).
pub fn manifest_of(source: &PodSource) -> anyhow::Result<Manifest> {
    let inputs: Vec<Input> = source
        .inputs
        .iter()
        .map(|i| Input::new(i.name.clone(), i.text.clone()))
        .collect();
    let options = LoadOptions {
        seed: source.seed,
        node: node_info(),
    };
    load(&inputs, &options).map_err(|r| anyhow::anyhow!("the stored manifest no longer loads: {r}"))
}

/// The plan of a stored pod, as it was stored when the pod was accepted.
pub fn plan_of(record: &PodRecord) -> anyhow::Result<PodPlan> {
    Ok(launch::load_plan(&record.dir)?)
}

pub fn run_dir_of(global: &GlobalArgs, uid: &str) -> std::path::PathBuf {
    global.run_dir().join("pods").join(uid)
}

/// Asks the pod's supervisor to terminate the pod (preStop, stop signal, grace period).
/// Returns false when no supervisor runs.
pub fn request_termination(
    record: &PodRecord,
    grace_period_seconds: Option<i64>,
) -> anyhow::Result<bool> {
    let Some(pid) = launch::running_supervisor(&record.dir) else {
        return Ok(false);
    };
    let request = minipod_pod::supervisor::DeletionRequest {
        grace_period_seconds,
    };
    minipod_pod::store::write_json_atomic(&record.dir.join(DELETION_REQUEST_FILE), &request)?;
    if pid > 0 {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .with_context(|| {
            format!(
                "signal the supervisor of pod {:?} (pid {pid})",
                record.name()
            )
        })?;
    }
    Ok(true)
}

/// Waits until the pod's supervisor has ended (its lock is free), at most until `deadline`.
pub fn wait_for_supervisor_exit(
    record: &PodRecord,
    deadline: Option<std::time::Instant>,
) -> anyhow::Result<()> {
    while launch::running_supervisor(&record.dir).is_some() {
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            anyhow::bail!("timed out waiting for pod {:?} to terminate", record.name());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(())
}

/// Removes what a pod left on the host when its supervisor is gone (it tears down itself
/// when it ends normally; this covers a supervisor that was killed), then its record.
pub fn remove_pod(global: &GlobalArgs, store: &PodStore, record: &PodRecord) -> anyhow::Result<()> {
    let run_dir = run_dir_of(global, record.uid());
    if run_dir.exists() {
        match plan_of(record) {
            Ok(plan) => {
                let images = ImageStore::open(global.root_dir())?;
                let dirs = PodDirs {
                    pod_dir: record.dir.clone(),
                    run_dir: run_dir.clone(),
                };
                let cfg = sandbox_config(&plan, &run_dir);
                ContainerBackend::clean_up_after_crash(plan, images, dirs, &cfg)
                    .map_err(|e| anyhow::anyhow!("clean up pod {:?}: {e}", record.name()))?;
            }
            Err(e) => log::warn!("pod {:?}: {e:#}; removing its record only", record.name()),
        }
        // Never through a mount: what the clean-up missed is unmounted, and a mount that
        // cannot be stops the removal with an error naming it.
        minipod_runtime::removeall::unmount_and_remove_all(&run_dir)
            .with_context(|| format!("remove the run directory of pod {:?}", record.name()))?;
    }
    // A supervisor that was killed could not remove its own cgroup.
    if let Err(e) = minipod_runtime::cgroup::remove_supervisor_cgroup(
        record.uid(),
        std::time::Duration::from_secs(2),
    ) {
        log::warn!(
            "remove the supervisor cgroup of pod {:?}: {e}",
            record.name()
        );
    }
    if let Ok(images) = ImageStore::open(global.root_dir()) {
        if let Err(e) = images.remove_lease(record.uid()) {
            log::warn!("release images of pod {:?}: {e}", record.name());
        }
    }
    store.remove(record.uid())?;
    Ok(())
}

/// Makes sure the store has every image the plans use, following each container's
/// `imagePullPolicy` as the kubelet does (kuberuntime_image.go `EnsureImageExists`): `Never`
/// requires the image to be present, `IfNotPresent` pulls a missing one, `Always` pulls and
/// fails when the pull fails even if the image is present. Each image is pulled once per
/// call. The first failure is an error naming the file, pod, container and image; nothing
/// has been created yet.
pub fn ensure_images(images: &ImageStore, plans: &[PodPlan], file: &Path) -> anyhow::Result<()> {
    let mut pulled: HashSet<&str> = HashSet::new();
    for plan in plans {
        let all = plan
            .init_containers
            .iter()
            .map(|i| &i.container)
            .chain(plan.containers.iter());
        for c in all {
            let whose = || {
                format!(
                    "{}: Pod {:?}: container {:?}",
                    file.display(),
                    plan.name,
                    c.name
                )
            };
            let present = pulled.contains(c.image.as_str()) || images.image(&c.image).is_ok();
            let must_pull = match c.image_pull_policy {
                PullPolicy::Never if !present => {
                    return Err(input(anyhow::anyhow!(
                        "{}: ErrImageNeverPull: container image {:?} is not present with pull policy of Never",
                        whose(),
                        c.image
                    )));
                }
                PullPolicy::Never | PullPolicy::IfNotPresent => !present,
                PullPolicy::Always => !pulled.contains(c.image.as_str()),
            };
            if !must_pull {
                continue;
            }
            let options = crate::image::pull_options_for(&c.image).map_err(|e| {
                e.context(format!(
                    "{}: ErrImagePull: failed to pull image {:?}",
                    whose(),
                    c.image
                ))
            })?;
            if let Err(e) = crate::image::pull(images, &c.image, &options) {
                let e = crate::image::pull_err(e);
                return Err(e.context(format!(
                    "{}: ErrImagePull: failed to pull image {:?}",
                    whose(),
                    c.image
                )));
            }
            pulled.insert(&c.image);
        }
    }
    Ok(())
}

/// A fresh seed for generated names and uids.
pub fn random_seed() -> u64 {
    let mut buf = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        if f.read_exact(&mut buf).is_ok() {
            return u64::from_le_bytes(buf);
        }
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id())
}

pub fn source_of(inputs: &[Input], seed: u64) -> PodSource {
    PodSource {
        seed,
        inputs: inputs
            .iter()
            .map(|i| launch::SourceInput {
                name: i.name.clone(),
                text: i.text.clone(),
            })
            .collect(),
    }
}

/// Creates a pod's record and starts its supervisor. A pod whose supervisor never started
/// does not stay behind as a Pending record holding its images.
pub fn create_pod(
    store: &PodStore,
    images: &ImageStore,
    exe: &Path,
    root: &Path,
    plan: &PodPlan,
) -> anyhow::Result<PodRecord> {
    let record = store.create(&plan.pod)?;
    if let Err(e) = start_pod(store, images, exe, root, &record, plan) {
        let _ = images.remove_lease(record.uid());
        let _ = store.remove(record.uid());
        return Err(e);
    }
    Ok(record)
}

/// Everything after the record exists: first status, plan, image leases, supervisor.
fn start_pod(
    store: &PodStore,
    images: &ImageStore,
    exe: &std::path::Path,
    root: &std::path::Path,
    record: &PodRecord,
    plan: &minipod_manifest::PodPlan,
) -> anyhow::Result<()> {
    {
        let pending = PodStatus {
            phase: Some("Pending".into()),
            conditions: Some(vec![PodCondition {
                type_: "PodScheduled".into(),
                status: "True".into(),
                last_transition_time: Some(k8s_time(jiff::Timestamp::now())),
                ..Default::default()
            }]),
            qos_class: None,
            ..Default::default()
        };
        store.write_status(record.uid(), &pending, &StatusMeta::default())?;
        launch::save_plan(&record.dir, plan)?;
        for c in plan
            .init_containers
            .iter()
            .map(|i| &i.container)
            .chain(plan.containers.iter())
        {
            // Images that do not resolve are reported by the supervisor, which leases
            // what each container start runs.
            match images.lease_image(record.uid(), &c.image) {
                Ok(_) => {}
                Err(e) if e.is_input() => {}
                Err(e) => return Err(e.into()),
            }
        }
        launch::spawn_supervisor(exe, root, record.uid(), &record.dir)?;
    }
    Ok(())
}
