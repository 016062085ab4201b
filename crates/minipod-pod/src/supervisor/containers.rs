//! The real [`PodBackend`]: containers through minipod-runtime on root filesystems from
//! minipod-image — the sandbox, container start (image lease, root filesystem, termination
//! log), exec and network handlers, signals and teardown. A container of the plan (a
//! [`ContainerPlan`]) becomes the runtime's plain config in `containers/config.rs` (the kubelet's
//! `generateContainerConfig`); the pod's volumes are prepared in `containers/pod_volumes.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minipod_image::{unmount_rootfs, Image, ImageStore, RootfsDirs};
use minipod_manifest::{ContainerPlan, Handler, PodPlan, PullPolicy};
use minipod_runtime::config::{MountSource, ProcessConfig, Resources, SandboxConfig};
use minipod_runtime::container::{Container, ContainerPaths, ContainerStdio, ExecProcess};
use minipod_runtime::propagation::PodPropagation;
use minipod_runtime::sandbox::PodSandbox;
use minipod_runtime::spec::{self, HostFacts};
use minipod_runtime::subpath;
use minipod_runtime::volumes;
use nix::sys::signal::Signal;

use super::{
    BackendError, ExitDetails, Hook, HookLaunch, PodBackend, StartError, StartedContainer,
    StartedProcess,
};
use crate::handlers::{self, Purpose};
use crate::spec::ContainerKind;

mod config;
mod pod_volumes;

use config::prepare_propagation;

/// Where a pod's state lives.
#[derive(Debug, Clone)]
pub struct PodDirs {
    /// `<root>/pods/<uid>`: survives reboots (volumes, logs, records, the containers'
    /// writable layers).
    pub pod_dir: PathBuf,
    /// `<run>/pods/<uid>`: namespace files, root filesystem mount points, runtime state.
    pub run_dir: PathBuf,
}

impl PodDirs {
    /// A container's root filesystem: its writable layer on disk under the root (the run
    /// directory is usually a small tmpfs), its merged mount point in its bundle directory
    /// under the run directory (docs/runtime.md, "Private state, writable layers, removal").
    pub fn rootfs(&self, container: &str) -> RootfsDirs {
        RootfsDirs {
            layer: self.pod_dir.join("rootfs").join(container),
            mount_point: ContainerPaths::in_pod_run_dir(&self.run_dir, container)
                .bundle
                .join("rootfs"),
        }
    }
}

struct RunningContainer {
    container: Container,
    rootfs_dirs: RootfsDirs,
    /// Host side of the container's terminationMessagePath, if it has one.
    termination_log: Option<PathBuf>,
}

/// kubelet: kubecontainer.MaxContainerTerminationMessageLength, the most read from the end
/// of a termination message file.
const MAX_TERMINATION_MESSAGE: u64 = 4 * 1024;

/// kubelet makeMounts: an empty, world-writable file per container instance (so a non-root
/// process can write it), bind-mounted at terminationMessagePath.
fn create_termination_log(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        minipod_runtime::private::create_dir_all(dir)?;
    }
    std::fs::File::create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
}

/// kubelet getTerminationMessage: at most the last 4 KiB of the file; empty is no message.
fn read_termination_log(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(MAX_TERMINATION_MESSAGE)))
        .ok()?;
    let mut data = Vec::new();
    f.read_to_end(&mut data).ok()?;
    (!data.is_empty()).then(|| String::from_utf8_lossy(&data).into_owned())
}

pub struct ContainerBackend {
    plan: PodPlan,
    images: ImageStore,
    dirs: PodDirs,
    host: HostFacts,
    sandbox_config: SandboxConfig,
    sandbox: Option<PodSandbox>,
    /// Volume name → what is mounted for it.
    volumes: BTreeMap<String, MountSource>,
    running: BTreeMap<String, RunningContainer>,
    handlers: BTreeMap<(String, Hook), ExecProcess>,
    /// httpGet/tcpSocket checks in flight (`minipod __netcheck` processes).
    net_checks: BTreeMap<(String, Hook), std::process::Child>,
    /// The binary that runs network checks: this process's own executable.
    self_exe: PathBuf,
    /// The node's address (status.hostIP, the downward API), looked up once per pod.
    host_ip: Option<String>,
}

/// The pod cgroup under every hierarchy.
pub fn pod_cgroup(uid: &str) -> String {
    format!("minipod/{uid}")
}

/// The runtime's view of a pod's sandbox, derived from the plan alone, so that `delete` can
/// rebuild it after the supervisor died.
pub fn sandbox_config(plan: &PodPlan, run_dir: &Path) -> SandboxConfig {
    let s = &plan.sandbox;
    let fqdn = s.subdomain.as_ref().map(|sub| {
        let domain = s.domain.as_deref().unwrap_or("cluster.local");
        format!("{}.{sub}.{}.svc.{domain}", s.hostname, plan.namespace)
    });
    SandboxConfig {
        pod_uid: plan.uid.clone(),
        pod_name: plan.name.clone(),
        namespace: plan.namespace.clone(),
        hostname: s.hostname.clone(),
        fqdn,
        host_network: s.host_network,
        host_ipc: s.host_ipc,
        host_pid: s.host_pid,
        share_process_namespace: s.share_process_namespace,
        host_aliases: s
            .host_aliases
            .iter()
            .map(|a| (a.ip.clone(), a.hostnames.clone().unwrap_or_default()))
            .collect(),
        run_dir: run_dir.to_owned(),
        cgroup_parent: pod_cgroup(&plan.uid),
        resources: Resources::default(),
    }
}

impl ContainerBackend {
    pub fn new(plan: PodPlan, images: ImageStore, dirs: PodDirs) -> Result<Self, String> {
        let host = HostFacts::probe().map_err(|e| e.to_string())?;
        let sandbox_config = sandbox_config(&plan, &dirs.run_dir);
        Ok(ContainerBackend {
            plan,
            images,
            dirs,
            host,
            sandbox_config,
            sandbox: None,
            volumes: BTreeMap::new(),
            running: BTreeMap::new(),
            handlers: BTreeMap::new(),
            net_checks: BTreeMap::new(),
            // The supervisor runs from a sealed memfd; /proc/self/exe re-opens that copy.
            self_exe: PathBuf::from("/proc/self/exe"),
            host_ip: host_ip(),
        })
    }

    /// Removes what a pod whose supervisor died left behind: containers (state, cgroups,
    /// processes), root filesystem mounts, the sandbox (namespace files, pod cgroup) and
    /// memory-backed volumes. Each step is attempted; the errors are reported together.
    pub fn clean_up_after_crash(
        plan: PodPlan,
        _images: ImageStore,
        dirs: PodDirs,
        cfg: &SandboxConfig,
    ) -> Result<(), BackendError> {
        let mut errors = Vec::new();
        let names = plan
            .init_containers
            .iter()
            .map(|i| i.container.name.clone())
            .chain(plan.containers.iter().map(|c| c.name.clone()));
        for name in names {
            let paths = ContainerPaths::in_pod_run_dir(&dirs.run_dir, &name);
            for id in Container::ids_on_disk(&paths) {
                if let Err(e) = Container::delete_from_disk(&paths, &id, &name) {
                    errors.push(e.to_string());
                }
            }
            if let Err(e) = unmount_rootfs(&dirs.rootfs(&name)) {
                errors.push(e.to_string());
            }
        }
        match PodSandbox::open(cfg) {
            Ok(sandbox) => {
                if let Err(e) = sandbox.teardown() {
                    errors.push(e.to_string());
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
        if let Err(e) = subpath::release_all(&dirs.run_dir) {
            errors.push(format!("release subPath mounts: {e}"));
        }
        // Before the volumes: a shared bind may sit on top of a memory emptyDir.
        if let Err(e) = PodPropagation::new(&dirs.pod_dir).release() {
            errors.push(format!("mount propagation: {e}"));
        }
        if let Err(e) = volumes::remove_volumes(&dirs.pod_dir.join("volumes")) {
            errors.push(e.to_string());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(BackendError::KillPodSandbox(errors.join("; ")))
        }
    }

    fn image_for(&self, c: &ContainerPlan) -> Result<Image, StartError> {
        if c.image_pull_policy == PullPolicy::Always {
            log::info!(
                "container {:?}: imagePullPolicy Always uses the stored image (no registry is contacted by a running pod)",
                c.name
            );
        }
        // Leased at every start, by the image this start runs: the name may have moved
        // since the pod was created, and `image rm`/`prune` must keep these layers.
        self.images
            .lease_image(&self.plan.uid, &c.image)
            .map_err(|e| {
                let message = format!("image {:?} is not present: {e}", c.image);
                if c.image_pull_policy == PullPolicy::Never {
                    StartError::ErrImageNeverPull(message)
                } else {
                    StartError::ErrImagePull(message)
                }
            })
    }

    /// Starts `minipod __netcheck ARGS` in the pod's network namespace (or the host's, for
    /// hostNetwork pods); its exit status is the verdict, its stdout the output.
    fn net_check(&mut self, name: &str, hook: Hook, args: Vec<String>) -> HookLaunch {
        let mut cmd = std::process::Command::new(&self.self_exe);
        cmd.arg("__netcheck");
        if let Some(sandbox) = self
            .sandbox
            .as_ref()
            .filter(|_| !self.plan.sandbox.host_network)
        {
            cmd.arg(format!("--netns={}", sandbox.ns_path("net").display()));
        }
        cmd.args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        match cmd.spawn() {
            Ok(mut child) => {
                let process = StartedProcess {
                    pid: child.id() as i32,
                    backend_reaps: true,
                    stdout: child.stdout.take().map(Into::into),
                    stderr: child.stderr.take().map(Into::into),
                };
                self.net_checks.insert((name.to_owned(), hook), child);
                HookLaunch::Process(process)
            }
            Err(e) => HookLaunch::Finished(Err(format!("start network check: {e}"))),
        }
    }

    fn teardown_container(&mut self, name: &str) -> ExitDetails {
        let Some(mut rc) = self.running.remove(name) else {
            return ExitDetails::default();
        };
        // Reaps an exited process (and reads the OOM flag before delete removes the cgroup);
        // a process still running (a teardown after an error) is killed by delete instead of
        // being waited for.
        let status = rc.container.try_wait();
        let oom_killed = status
            .as_ref()
            .is_ok_and(|s| s.is_some_and(|s| s.oom_killed));
        if let Err(e) = rc.container.delete() {
            log::warn!("delete container {name:?}: {e}");
        }
        if let Err(e) = unmount_rootfs(&rc.rootfs_dirs) {
            log::warn!("unmount root filesystem of {name:?}: {e}");
        }
        release_sub_paths(&self.dirs.run_dir, name);
        ExitDetails {
            oom_killed,
            message: rc.termination_log.as_deref().and_then(read_termination_log),
        }
    }
}

impl PodBackend for ContainerBackend {
    fn create_sandbox(&mut self) -> Result<Option<String>, BackendError> {
        let sandbox = PodSandbox::create(&self.sandbox_config)
            .map_err(|e| BackendError::CreatePodSandbox(e.to_string()))?;
        self.sandbox = Some(sandbox);
        if let Err(e) = self.prepare_volumes() {
            self.teardown().ok();
            return Err(BackendError::CreatePodSandbox(e));
        }
        // With its own network namespace the pod has only loopback: there is no pod network
        // on one host, so no pod IP is reported (as `podman kube play --network none`).
        let ip = self
            .plan
            .sandbox
            .host_network
            .then(|| self.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into()));
        Ok(ip)
    }

    fn host_ip(&self) -> Option<String> {
        self.host_ip.clone()
    }

    fn start_container(
        &mut self,
        name: &str,
        _kind: ContainerKind,
        _index: usize,
        attempt: i32,
    ) -> Result<StartedContainer, StartError> {
        let create_error = StartError::CreateContainerError;
        let c = self
            .plan
            .container(name)
            .cloned()
            .ok_or_else(|| create_error(format!("no container {name:?} in the pod")))?;
        // A previous instance is always gone before a new one starts (container_exited).
        let image = self.image_for(&c)?;
        let id = format!("{}-{name}-{attempt}", short_uid(&self.plan.uid));
        let paths = ContainerPaths::in_pod_run_dir(&self.dirs.run_dir, name);
        let rootfs_dir = self.dirs.rootfs(name);
        let rootfs = self
            .images
            .mount_rootfs(&image, &rootfs_dir)
            .map_err(|e| create_error(format!("root filesystem: {e}")))?;
        let run_dir = self.dirs.run_dir.clone();
        // Undoes the root filesystem mount and the staged subPath mounts of this attempt.
        let cleanup_rootfs = |dirs: &RootfsDirs| {
            if let Err(e) = unmount_rootfs(dirs) {
                log::warn!("unmount {}: {e}", dirs.mount_point.display());
            }
            release_sub_paths(&run_dir, name);
        };
        let termination_log = (!c.termination_message_path.is_empty()).then(|| {
            self.dirs
                .pod_dir
                .join("containers")
                .join(name)
                .join(format!("{id}.termination-log"))
        });
        if let Some(path) = &termination_log {
            if let Err(e) = create_termination_log(path) {
                cleanup_rootfs(&rootfs_dir);
                return Err(create_error(format!(
                    "termination message file {}: {e}",
                    path.display()
                )));
            }
        }
        let cfg = match self.container_config(
            &c,
            &image,
            rootfs.path.clone(),
            &id,
            termination_log.as_deref(),
        ) {
            Ok(cfg) => cfg,
            Err(e) => {
                cleanup_rootfs(&rootfs_dir);
                return Err(e);
            }
        };
        let built = spec::prepare_inputs(&cfg)
            .and_then(|inputs| spec::build_spec(&cfg, &inputs, &self.host))
            .map_err(|e| StartError::CreateContainerConfigError(e.to_string()));
        let spec = match built {
            Ok(s) => s,
            Err(e) => {
                cleanup_rootfs(&rootfs_dir);
                return Err(e);
            }
        };
        // After the spec is accepted (a Bidirectional volume of an unprivileged container is
        // refused there), before libcontainer binds the volumes.
        if let Err(e) = prepare_propagation(&self.dirs.pod_dir, &cfg) {
            cleanup_rootfs(&rootfs_dir);
            return Err(create_error(e));
        }
        let (stdio, pipes) = match ContainerStdio::pipes(c.stdin) {
            Ok(p) => p,
            Err(e) => {
                cleanup_rootfs(&rootfs_dir);
                return Err(create_error(format!("stdio pipes: {e}")));
            }
        };
        // Creating and starting the libcontainer container is what containerd's
        // StartContainer does (runc create + start; the CRI CreateContainer before it only
        // records metadata). When it fails the container exists and exited with StartError,
        // e.g. for a command that is not in the image.
        let container_id = format!("minipod://{id}");
        let created = Container::create(&cfg, spec, &paths, stdio);
        // The container's init has made its own mounts by now: the staged subPaths it bound
        // are no longer needed on the host.
        release_sub_paths(&run_dir, name);
        let mut container = match created {
            Ok(c) => c,
            Err(e) => {
                cleanup_rootfs(&rootfs_dir);
                return Err(StartError::RunContainerError {
                    container_id,
                    message: e.to_string(),
                });
            }
        };
        if let Err(e) = container.start() {
            let _ = container.delete();
            cleanup_rootfs(&rootfs_dir);
            return Err(StartError::RunContainerError {
                container_id,
                message: e.to_string(),
            });
        }
        let pid = container.pid();
        let stop_signal = c.stop_signal.clone().or(image.defaults().stop_signal);
        self.running.insert(
            name.to_owned(),
            RunningContainer {
                container,
                rootfs_dirs: rootfs_dir,
                termination_log,
            },
        );
        Ok(StartedContainer {
            process: StartedProcess {
                pid,
                backend_reaps: true,
                stdout: Some(pipes.stdout),
                stderr: Some(pipes.stderr),
            },
            container_id,
            image_id: Some(image.id().to_string()),
            stop_signal,
        })
    }

    fn run_handler(&mut self, name: &str, hook: Hook, handler: &Handler, host: &str) -> HookLaunch {
        let Some(rc) = self.running.get(name) else {
            return HookLaunch::Finished(Err(format!("container {name:?} is not running")));
        };
        let purpose = match hook {
            Hook::Probe(_) => Purpose::Probe,
            Hook::PostStart | Hook::PreStop => Purpose::Lifecycle,
        };
        match handler {
            Handler::Exec { command } => {
                let process = ProcessConfig {
                    args: command.clone(),
                    env: Vec::new(),
                    cwd: None,
                    tty: false,
                    stdin: false,
                    console_size: None,
                };
                let started = ContainerStdio::pipes(false)
                    .map_err(|e| e.to_string())
                    .and_then(|(stdio, pipes)| {
                        rc.container
                            .exec(&process, stdio)
                            .map(|p| (p, pipes))
                            .map_err(|e| e.to_string())
                    });
                match started {
                    Ok((exec, pipes)) => {
                        let pid = exec.pid();
                        self.handlers.insert((name.to_owned(), hook), exec);
                        HookLaunch::Process(StartedProcess {
                            pid,
                            backend_reaps: true,
                            stdout: Some(pipes.stdout),
                            stderr: Some(pipes.stderr),
                        })
                    }
                    Err(e) => HookLaunch::Finished(Err(e)),
                }
            }
            Handler::HttpGet { .. } => {
                let Some(req) = handlers::http_get_request(handler, host, purpose) else {
                    return HookLaunch::Finished(Err("not an httpGet handler".into()));
                };
                if req.scheme != "http" {
                    // kubelet: an HTTPS hook falls back to HTTP (LifecycleHTTPFallback).
                    if matches!(hook, Hook::Probe(_)) {
                        return HookLaunch::Finished(Err(format!(
                            "{} probes are not supported by minipod yet",
                            req.scheme
                        )));
                    }
                }
                let mut args = vec![
                    "http".to_owned(),
                    req.host.clone(),
                    req.port.to_string(),
                    req.path.clone(),
                ];
                for (k, v) in &req.headers {
                    args.push(format!("--header={k}: {v}"));
                }
                if matches!(hook, Hook::PostStart | Hook::PreStop) {
                    args.push("--any-response".into());
                }
                self.net_check(name, hook, args)
            }
            Handler::TcpSocket { .. } => {
                let Some((host, port)) = handlers::tcp_socket_target(handler, host) else {
                    return HookLaunch::Finished(Err("not a tcpSocket handler".into()));
                };
                self.net_check(name, hook, vec!["tcp".into(), host, port.to_string()])
            }
            Handler::Grpc { port, service } => HookLaunch::Finished(Err(format!(
                "gRPC probes (port {port}, service {:?}) are not supported by minipod yet",
                service.as_deref().unwrap_or_default()
            ))),
            Handler::Sleep { seconds } => HookLaunch::Finished(Err(format!(
                "sleep {seconds}: the supervisor runs sleep hooks itself"
            ))),
        }
    }

    fn kill_handler(&mut self, name: &str, hook: Hook) {
        let key = (name.to_owned(), hook);
        if let Some(exec) = self.handlers.get(&key) {
            let _ = exec.kill(Signal::SIGKILL);
        } else if let Some(child) = self.net_checks.get_mut(&key) {
            let _ = child.kill();
        }
    }

    fn handler_exited(&mut self, name: &str, hook: Hook) {
        if let Some(mut child) = self.net_checks.remove(&(name.to_owned(), hook)) {
            let _ = child.wait();
        }
        if let Some(mut exec) = self.handlers.remove(&(name.to_owned(), hook)) {
            if let Err(e) = exec.wait() {
                log::warn!("wait for {hook:?} of {name:?}: {e}");
            }
        }
    }

    fn signal(&mut self, name: &str, signal: Signal) -> Result<(), BackendError> {
        match self.running.get_mut(name) {
            // The whole container on SIGKILL (stragglers included), its init otherwise: the
            // kubelet's StopContainer semantics.
            Some(rc) => rc
                .container
                .signal(signal, signal == Signal::SIGKILL)
                .map_err(|e| BackendError::KillContainer(e.to_string())),
            None => Ok(()),
        }
    }

    fn container_exited(&mut self, name: &str) -> ExitDetails {
        // Hooks still running in this container die with it; reap them.
        let hooks: Vec<(String, Hook)> = self
            .handlers
            .keys()
            .filter(|(n, _)| n == name)
            .cloned()
            .collect();
        for key in hooks {
            if let Some(exec) = self.handlers.remove(&key) {
                let _ = exec.kill(Signal::SIGKILL);
                let mut exec = exec;
                let _ = exec.wait();
            }
        }
        self.teardown_container(name)
    }

    fn teardown(&mut self) -> Result<(), BackendError> {
        let names: Vec<String> = self.running.keys().cloned().collect();
        for name in names {
            self.container_exited(&name);
        }
        let mut errors = Vec::new();
        if let Some(sandbox) = self.sandbox.take() {
            if let Err(e) = sandbox.teardown() {
                errors.push(e.to_string());
            }
        }
        if let Err(e) = subpath::release_all(&self.dirs.run_dir) {
            errors.push(format!("release subPath mounts: {e}"));
        }
        // The shared binds made for mountPropagation go first (once the containers that use
        // them are gone): one may sit on top of a memory emptyDir.
        if let Err(e) = PodPropagation::new(&self.dirs.pod_dir).release() {
            errors.push(format!("mount propagation: {e}"));
        }
        // Memory-backed emptyDirs are unmounted; the contents of the rest go with the pod
        // record when it is deleted.
        if let Err(e) = volumes::remove_volumes(&self.volumes_dir()) {
            errors.push(e.to_string());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(BackendError::KillPodSandbox(errors.join("; ")))
        }
    }
}

fn release_sub_paths(run_dir: &Path, container: &str) {
    if let Err(e) = subpath::release_container(run_dir, container) {
        log::warn!("release the subPath mounts of {container:?}: {e}");
    }
}

fn short_uid(uid: &str) -> String {
    uid.chars().filter(|c| *c != '-').take(12).collect()
}

/// The node's address: the IPv4 address of the interface holding the default route (what a
/// kubelet's node usually reports as InternalIP), else the first non-loopback one.
fn host_ip() -> Option<String> {
    let route = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let default_iface = default_route_interface(&route);
    let addrs: Vec<(String, std::net::Ipv4Addr)> = nix::ifaddrs::getifaddrs()
        .ok()?
        .filter_map(|a| {
            let ip = a.address.as_ref()?.as_sockaddr_in()?.ip();
            (!ip.is_loopback()).then_some((a.interface_name, ip))
        })
        .collect();
    addrs
        .iter()
        .find(|(name, _)| Some(name.as_str()) == default_iface.as_deref())
        .or_else(|| addrs.first())
        .map(|(_, ip)| ip.to_string())
}

/// The interface of the first default route (destination and mask 0) in `/proc/net/route`.
fn default_route_interface(route: &str) -> Option<String> {
    route.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 7 && f[1] == "00000000" && f[7] == "00000000").then(|| f[0].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_names_the_node_interface() {
        let route =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
                     eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                     eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(default_route_interface(route).as_deref(), Some("eth0"));
        assert_eq!(default_route_interface("Iface\tDestination\n"), None);
        assert_eq!(default_route_interface(""), None);
    }
}
