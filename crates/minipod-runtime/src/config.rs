//! What the runtime is asked to do, as plain data: the contract between `minipod-pod` (which
//! reads Kubernetes objects and decides) and this crate (which acts). Shaped after the CRI
//! `PodSandboxConfig` / `ContainerConfig` messages, so each field has a known meaning, but with
//! Rust types that cannot express contradictions.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// How one kind of namespace is provided to a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceMode {
    /// Share the host's namespace (hostNetwork, hostIPC, hostPID).
    Host,
    /// Join the namespace held by this bind-mounted namespace file (pod-shared namespaces).
    Join(PathBuf),
    /// A fresh namespace for this container alone.
    Private,
}

/// The namespaces a container runs in. Mount and cgroup namespaces are always private.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    pub network: NamespaceMode,
    pub ipc: NamespaceMode,
    pub uts: NamespaceMode,
    /// `Private` by default; `Join` with shareProcessNamespace; `Host` with hostPID.
    pub pid: NamespaceMode,
}

/// The pod-level sandbox a set of containers share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Pod UID; names the state directory and the pod cgroup.
    pub pod_uid: String,
    pub pod_name: String,
    pub namespace: String,
    /// Hostname inside the pod (already computed with the kubelet's rule).
    pub hostname: String,
    /// `<hostname>.<subdomain>.<ns>.svc.<domain>` when a subdomain is set.
    pub fqdn: Option<String>,
    pub host_network: bool,
    pub host_ipc: bool,
    pub host_pid: bool,
    pub share_process_namespace: bool,
    /// `spec.hostAliases`: extra `/etc/hosts` lines (ip, hostnames).
    pub host_aliases: Vec<(String, Vec<String>)>,
    /// Per-pod runtime directory (`<run>/pods/<uid>`): namespace files, /etc/hosts, containers.
    pub run_dir: PathBuf,
    /// Pod cgroup, relative to each hierarchy's root (`minipod/<uid>`).
    pub cgroup_parent: String,
    /// Pod-level limits for the pod cgroup (the sum the kubelet would size it to), if any.
    pub resources: Resources,
}

/// Which user the process runs as, before resolution against the image's `/etc/passwd`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRequest {
    /// `securityContext.runAsUser` (container, else pod).
    pub run_as_user: Option<i64>,
    /// `securityContext.runAsGroup`.
    pub run_as_group: Option<i64>,
    /// The image config's `User` (`name`, `uid`, `name:group`, `uid:gid`), used when
    /// `run_as_user` is not set; names are looked up in the container's own /etc/passwd and
    /// /etc/group, resolved inside the root filesystem.
    pub image_user: Option<String>,
    /// `podSecurityContext.supplementalGroups`.
    pub supplemental_groups: Vec<i64>,
    /// `podSecurityContext.fsGroup`: also added to the supplementary groups.
    pub fs_group: Option<i64>,
    /// `runAsNonRoot`: refuse to start if the resolved uid is 0 (or a non-numeric user that
    /// cannot be verified), with the kubelet's message.
    pub run_as_non_root: bool,
}

/// The process to run (already expanded `$(VAR)`, command/args resolved against the image).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessConfig {
    pub args: Vec<String>,
    /// Final environment, in order, image ENV already merged underneath.
    pub env: Vec<(String, String)>,
    /// Working directory; `None` = image WorkingDir, else `/`.
    pub cwd: Option<PathBuf>,
    pub tty: bool,
    /// Keep stdin open (`stdin: true`).
    pub stdin: bool,
    /// With `tty`: the terminal's rows and columns before the process starts (OCI
    /// `process.consoleSize`); `None` leaves the kernel's 0x0.
    pub console_size: Option<crate::terminal::WindowSize>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seccomp {
    #[default]
    Unconfined,
    RuntimeDefault,
    /// `Localhost`: an OCI `linux.seccomp` JSON profile at this host path.
    Localhost(PathBuf),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProcMount {
    /// Masked and read-only /proc paths as containerd sets them.
    #[default]
    Default,
    /// `procMount: Unmasked`: no masked or read-only /proc paths.
    Unmasked,
}

/// `securityContext` fields that change the OCI spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityConfig {
    pub privileged: bool,
    /// Capability names as Kubernetes writes them (`NET_ADMIN`, also `CAP_NET_ADMIN`, `ALL`).
    pub capabilities_add: Vec<String>,
    pub capabilities_drop: Vec<String>,
    pub read_only_root_filesystem: bool,
    /// `allowPrivilegeEscalation`; `None` = Kubernetes default (true). false → no_new_privs.
    pub allow_privilege_escalation: Option<bool>,
    pub seccomp: Seccomp,
    pub proc_mount: ProcMount,
    /// Namespaced sysctls only (`net.*`, `kernel.shm*`, `kernel.msg*`, `kernel.sem`, `fs.mqueue.*`).
    pub sysctls: Vec<(String, String)>,
    pub user: UserRequest,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            privileged: false,
            capabilities_add: Vec::new(),
            capabilities_drop: Vec::new(),
            read_only_root_filesystem: false,
            allow_privilege_escalation: None,
            seccomp: Seccomp::Unconfined,
            proc_mount: ProcMount::Default,
            sysctls: Vec::new(),
            user: UserRequest::default(),
        }
    }
}

/// Limits for a container's (or the pod's) cgroup, already converted from Kubernetes
/// quantities the way the kubelet does (pkg/kubelet/cm/helpers_linux.go).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// cpu.shares from requests.cpu (milliCPU * 1024 / 1000, min 2).
    pub cpu_shares: Option<u64>,
    /// CFS quota in µs per `cpu_period`, from limits.cpu.
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    /// Bytes, from limits.memory; swap is disabled when set.
    pub memory_limit: Option<i64>,
    pub pids_limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Propagation {
    /// `None` in Kubernetes: rprivate.
    #[default]
    Private,
    /// `HostToContainer`: rslave.
    HostToContainer,
    /// `Bidirectional`: rshared (privileged containers only).
    Bidirectional,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// Bind mount of a host path (emptyDir dirs, hostPath, configMap/secret dirs, /etc/hosts).
    Bind(PathBuf),
    /// A fresh tmpfs with an optional size in bytes.
    Tmpfs { size: Option<u64> },
}

/// One volume mount, after subPath resolution. The destination is resolved inside the root
/// filesystem (it may not escape through symlinks in the image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: MountSource,
    pub destination: PathBuf,
    pub read_only: bool,
    pub propagation: Propagation,
}

/// Everything needed to create one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerConfig {
    /// Unique runtime id (also the libcontainer id and the cgroup leaf name).
    pub id: String,
    /// Kubernetes container name, for error messages and annotations.
    pub name: String,
    /// The mounted root filesystem (overlay merged dir).
    pub rootfs: PathBuf,
    pub process: ProcessConfig,
    pub security: SecurityConfig,
    pub resources: Resources,
    pub mounts: Vec<Mount>,
    pub namespaces: Namespaces,
    /// Hostname set in a private UTS namespace; ignored when joining the pod's.
    pub hostname: Option<String>,
    /// Container cgroup, relative to each hierarchy's root (`minipod/<uid>/<id>`).
    pub cgroups_path: String,
    /// Signal that asks the process to stop (image STOPSIGNAL, else SIGTERM).
    pub stop_signal: i32,
    /// Annotations written into the OCI spec (io.kubernetes.* names).
    pub annotations: BTreeMap<String, String>,
}
