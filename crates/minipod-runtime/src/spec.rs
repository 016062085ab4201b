//! OCI runtime spec generation from a [`crate::config::ContainerConfig`].
//!
//! Three steps, so that the part with all the rules stays pure and table-tested:
//!
//! 1. [`HostFacts::probe`] (once per supervisor): the host's `RLIMIT_NOFILE` hard limit, the
//!    last capability the kernel knows, whether swap can be limited.
//! 2. [`prepare_inputs`] (per container start, I/O): the kubelet's `runAsNonRoot` check, the
//!    user resolved in the container's own `/etc/passwd` and `/etc/group` (in-root), a
//!    `Localhost` seccomp profile read from disk, the host's devices for a privileged container.
//! 3. [`build_spec`] (pure): containerd's CRI defaults plus the container's securityContext,
//!    volumes, namespaces and resources, as an `oci_spec::runtime::Spec`.
//!
//! Before libcontainer 0.7.0 reads the spec, pass it through [`adapt_for_libcontainer`]
//! (works around its swapped `SCMP_CMP_MASKED_EQ` operands).

pub mod capabilities;
pub mod defaults;
pub mod seccomp;
pub mod sysctl;
pub mod user;

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{
    Capability, Linux, LinuxCpu, LinuxDevice, LinuxDeviceType, LinuxMemory, LinuxNamespace,
    LinuxNamespaceType, LinuxPids, LinuxResources, LinuxSeccomp, Mount as OciMount, Process, Root,
    Spec, User,
};

use crate::config::{ContainerConfig, MountSource, NamespaceMode, ProcMount, Propagation, Seccomp};
pub use capabilities::{
    capability_mask, effective_capabilities, effective_mask, status_hex, DEFAULT_CAPABILITIES,
};
pub use seccomp::{LoadProfileError, SeccompArch};
pub use sysctl::SysctlError;
pub use user::{ResolvedUser, UserError};

/// Annotation keys minipod-pod is expected to set (the kubelet's container label names); the
/// `runAsNonRoot` messages name the pod from them as the kubelet does (`name_namespace(uid)`).
pub const ANNOTATION_POD_NAME: &str = "io.kubernetes.pod.name";
pub const ANNOTATION_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const ANNOTATION_POD_UID: &str = "io.kubernetes.pod.uid";
pub const ANNOTATION_CONTAINER_NAME: &str = "io.kubernetes.container.name";

/// Facts about the host that change the spec, probed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// The supervisor's hard `RLIMIT_NOFILE`; `None` when unlimited. Container limits are
    /// clamped to it (raising a hard limit needs `CAP_SYS_RESOURCE`).
    pub nofile_hard_limit: Option<u64>,
    /// `/proc/sys/kernel/cap_last_cap`: "all capabilities" means up to this one.
    pub last_cap: u8,
    /// The supervisor's own bounding set (`CapBnd`): a privileged container gets these, as
    /// containerd gives it the current process's capabilities (WithPrivileged → cap.Current),
    /// since asking for more fails where root itself lacks some (CI drops CAP_SYS_RESOURCE).
    pub bounding_set: u64,
    /// Whether the memory controller can limit swap (`memory.memsw.*` on v1, `memory.swap.max`
    /// on v2). When it cannot, the swap limit is left out instead of failing the create
    /// (containerd: SwapControllerAvailable).
    pub swap_limit_supported: bool,
    /// The architecture the `RuntimeDefault` seccomp profile is rendered for.
    pub seccomp_arch: Option<SeccompArch>,
    /// The cgroup v1 controller hierarchies (v1 and hybrid hosts; empty on v2). Their
    /// container directories are bind-mounted read-only into non-privileged containers,
    /// because libcontainer 0.7.0 mounts v1 hierarchies read-write whatever the spec says.
    pub cgroup_v1: Vec<crate::cgroup::V1Hierarchy>,
}

impl Default for HostFacts {
    /// A host without limits: what unit tests use.
    fn default() -> Self {
        HostFacts {
            nofile_hard_limit: None,
            last_cap: capabilities::LAST_KNOWN_CAP,
            bounding_set: u64::MAX,
            swap_limit_supported: true,
            seccomp_arch: SeccompArch::native(),
            cgroup_v1: Vec::new(),
        }
    }
}

/// Why the host could not be probed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeHostError {
    #[error("read the RLIMIT_NOFILE hard limit")]
    Rlimit(#[source] nix::Error),
    #[error("read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parse {} ({text:?})", path.display())]
    Parse { path: PathBuf, text: String },
}

const CAP_LAST_CAP: &str = "/proc/sys/kernel/cap_last_cap";

impl HostFacts {
    /// Reads the host facts from the running kernel and cgroup mounts.
    pub fn probe() -> Result<HostFacts, ProbeHostError> {
        let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_err(ProbeHostError::Rlimit)?;
        let nofile_hard_limit = (hard != nix::sys::resource::RLIM_INFINITY).then_some(hard);

        let path = PathBuf::from(CAP_LAST_CAP);
        let text = std::fs::read_to_string(&path).map_err(|source| ProbeHostError::Read {
            path: path.clone(),
            source,
        })?;
        let last_cap = text
            .trim()
            .parse::<u8>()
            .map_err(|_| ProbeHostError::Parse {
                path,
                text: text.clone(),
            })?;

        Ok(HostFacts {
            nofile_hard_limit,
            // A kernel newer than minipod may know more capabilities than oci-spec can name.
            last_cap: last_cap.min(capabilities::LAST_KNOWN_CAP),
            bounding_set: probe_bounding_set(),
            swap_limit_supported: probe_swap_limit(),
            seccomp_arch: SeccompArch::native(),
            cgroup_v1: match crate::cgroup::CgroupLayout::host() {
                Ok(crate::cgroup::CgroupLayout::Legacy { hierarchies, .. }) => hierarchies.clone(),
                _ => Vec::new(),
            },
        })
    }
}

/// `CapBnd` of this process; all bits when it cannot be read.
fn probe_bounding_set() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX)
}

/// containerd (internal/cri/opts SwapControllerAvailable): v1 has
/// `memory/memory.memsw.limit_in_bytes`; v2 has `memory.swap.max` in our own cgroup.
fn probe_swap_limit() -> bool {
    if Path::new("/sys/fs/cgroup/memory").is_dir() {
        return Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists();
    }
    let Ok(self_cgroup) = std::fs::read_to_string("/proc/self/cgroup") else {
        return false;
    };
    self_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| {
            Path::new("/sys/fs/cgroup")
                .join(p.trim_start_matches('/'))
                .join("memory.swap.max")
                .exists()
        })
        .unwrap_or(false)
}

/// What [`build_spec`] needs beyond the config, produced by [`prepare_inputs`] (or by hand in
/// tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecInputs {
    pub user: ResolvedUser,
    /// The profile read for `Seccomp::Localhost`; `None` otherwise.
    pub localhost_seccomp: Option<LinuxSeccomp>,
    /// Host devices to create in a privileged container; empty otherwise.
    pub host_devices: Vec<LinuxDevice>,
}

/// Why a spec could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("container {container:?}: resolve user")]
    ResolveUser {
        container: String,
        #[source]
        source: UserError,
    },
    #[error("container {container:?}: capabilities")]
    Capabilities {
        container: String,
        #[source]
        source: capabilities::UnknownCapability,
    },
    #[error("container {container:?}: sysctls")]
    Sysctl {
        container: String,
        #[source]
        source: SysctlError,
    },
    #[error("container {container:?}: load Localhost seccomp profile")]
    LoadSeccompProfile {
        container: String,
        #[source]
        source: LoadProfileError,
    },
    #[error("container {container:?}: Localhost seccomp profile {} was not loaded (call prepare_inputs)", path.display())]
    SeccompProfileNotLoaded { container: String, path: PathBuf },
    #[error("container {container:?}: no RuntimeDefault seccomp profile for this architecture")]
    NoRuntimeDefaultProfile { container: String },
    #[error("container {container:?}: list host devices for a privileged container")]
    HostDevices {
        container: String,
        #[source]
        source: std::io::Error,
    },
    #[error("container {container:?}: no command to run")]
    NoCommand { container: String },
    #[error("container {container:?}: working directory {} is not an absolute path", cwd.display())]
    RelativeWorkingDir { container: String, cwd: PathBuf },
    #[error("container {container:?}: mount on {}: destination must be an absolute path without \"..\"", destination.display())]
    InvalidMountDestination {
        container: String,
        destination: PathBuf,
    },
    #[error("container {container:?}: mount on {}: Bidirectional mount propagation is available only to privileged containers", destination.display())]
    BidirectionalNotPrivileged {
        container: String,
        destination: PathBuf,
    },
    #[error("container {container:?}: {field} {value} is out of range")]
    OutOfRange {
        container: String,
        field: &'static str,
        value: i64,
    },
}

/// The kubelet's pod description for messages: `name_namespace(uid)`, from annotations.
fn pod_description(config: &ContainerConfig) -> String {
    let get = |k: &str| config.annotations.get(k).map(String::as_str).unwrap_or("");
    let (name, namespace, uid) = (
        get(ANNOTATION_POD_NAME),
        get(ANNOTATION_POD_NAMESPACE),
        get(ANNOTATION_POD_UID),
    );
    if name.is_empty() {
        return String::new();
    }
    format!("{name}_{namespace}({uid})")
}

/// Step 2: everything [`build_spec`] needs that takes I/O. In order: the kubelet's
/// `runAsNonRoot` verification, user resolution inside `config.rootfs` (in-root, via pathrs),
/// the `Localhost` seccomp profile (skipped for privileged containers, which run unconfined),
/// and the host's devices (privileged containers only).
pub fn prepare_inputs(config: &ContainerConfig) -> Result<SpecInputs, SpecError> {
    let container = || config.name.clone();
    let sec = &config.security;
    user::verify_run_as_non_root(&sec.user, &pod_description(config), &config.name).map_err(
        |source| SpecError::ResolveUser {
            container: container(),
            source,
        },
    )?;
    let resolved =
        user::resolve_user(&config.rootfs, &sec.user).map_err(|source| SpecError::ResolveUser {
            container: container(),
            source,
        })?;
    let localhost_seccomp = match (&sec.seccomp, sec.privileged) {
        (Seccomp::Localhost(path), false) => {
            Some(seccomp::load_localhost_profile(path).map_err(|source| {
                SpecError::LoadSeccompProfile {
                    container: container(),
                    source,
                }
            })?)
        }
        _ => None,
    };
    let host_devices = if sec.privileged {
        host_devices(Path::new("/dev")).map_err(|source| SpecError::HostDevices {
            container: container(),
            source,
        })?
    } else {
        Vec::new()
    };
    Ok(SpecInputs {
        user: resolved,
        localhost_seccomp,
        host_devices,
    })
}

/// The device nodes under `dev` (the host's `/dev`), for a privileged container. Skips what a
/// container gets its own of (`pts`, `shm`, `mqueue`, `fd`) and `console` (runc:
/// libcontainer/devices GetDevices; containerd: pkg/oci HostDevices).
pub fn host_devices(dev: &Path) -> Result<Vec<LinuxDevice>, std::io::Error> {
    const SKIP_DIRS: [&str; 7] = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];
    let mut out = Vec::new();
    let mut stack = vec![dev.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let path = entry.path();
            // A device can vanish between readdir and lstat (udev); that is not an error.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let file_type = meta.file_type();
            if file_type.is_dir() {
                if !SKIP_DIRS.iter().any(|s| name == *s) {
                    stack.push(path);
                }
                continue;
            }
            if name == "console" {
                continue;
            }
            let typ = if file_type.is_char_device() {
                LinuxDeviceType::C
            } else if file_type.is_block_device() {
                LinuxDeviceType::B
            } else {
                continue;
            };
            let rdev = meta.rdev();
            let mut device = LinuxDevice::default();
            device.set_path(path);
            device.set_typ(typ);
            device.set_major(i64::try_from(nix::sys::stat::major(rdev)).unwrap_or(i64::MAX));
            device.set_minor(i64::try_from(nix::sys::stat::minor(rdev)).unwrap_or(i64::MAX));
            device.set_file_mode(Some(meta.mode() & 0o7777));
            device.set_uid(Some(meta.uid()));
            device.set_gid(Some(meta.gid()));
            out.push(device);
        }
    }
    out.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(out)
}

/// Whether `allowPrivilegeEscalation` ends up allowed. Kubernetes rejects
/// `allowPrivilegeEscalation: false` together with `privileged: true` or an added
/// `CAP_SYS_ADMIN` (pkg/apis/core/validation validateContainerSecurityContext): those
/// containers can escalate anyway, so no_new_privs is not set for them.
fn allow_privilege_escalation(config: &ContainerConfig, caps: &[Capability]) -> bool {
    let sec = &config.security;
    match sec.allow_privilege_escalation {
        Some(false) => sec.privileged || caps.contains(&Capability::SysAdmin),
        _ => true,
    }
}

/// Lexically normalizes an absolute container path; `None` if relative or it has `..`.
fn clean_destination(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => out.push(part),
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn oci_mount(destination: PathBuf, typ: &str, source: PathBuf, options: Vec<String>) -> OciMount {
    let mut m = OciMount::default();
    m.set_destination(destination);
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(source));
    m.set_options(Some(options));
    m
}

/// Default mounts plus volumes, with containerd's override rules (internal/cri/opts
/// spec_linux_opts.go withMounts): a volume replaces the default mount at the same destination,
/// a `/dev` volume replaces every default under `/dev`; volumes are mounted after the defaults,
/// shallower destinations first (stable). Also returns the root propagation the volumes need.
fn mounts(
    config: &ContainerConfig,
    cgroup_v1: &[crate::cgroup::V1Hierarchy],
) -> Result<(Vec<OciMount>, String), SpecError> {
    let privileged = config.security.privileged;
    let mut volumes = Vec::with_capacity(config.mounts.len());
    let mut root_propagation: Option<&str> = None;
    for (i, m) in config.mounts.iter().enumerate() {
        let destination = clean_destination(&m.destination).ok_or_else(|| {
            SpecError::InvalidMountDestination {
                container: config.name.clone(),
                destination: m.destination.clone(),
            }
        })?;
        // A later mount at the same destination replaces an earlier one: a container's own
        // volume at /etc/hosts or /dev/shm replaces the pod's (kubelet makeMounts).
        let replaced = config.mounts[i + 1..]
            .iter()
            .any(|later| clean_destination(&later.destination).as_ref() == Some(&destination));
        if replaced {
            continue;
        }
        let rw = if m.read_only { "ro" } else { "rw" };
        let mount = match &m.source {
            MountSource::Bind(source) => {
                let propagation = match m.propagation {
                    Propagation::Private => "rprivate",
                    Propagation::HostToContainer => {
                        // containerd: the root must be rslave (or rshared) for host mounts to
                        // propagate into the volume.
                        root_propagation = root_propagation.or(Some("slave"));
                        "rslave"
                    }
                    Propagation::Bidirectional => {
                        if !privileged {
                            return Err(SpecError::BidirectionalNotPrivileged {
                                container: config.name.clone(),
                                destination: m.destination.clone(),
                            });
                        }
                        root_propagation = Some("shared");
                        "rshared"
                    }
                };
                oci_mount(
                    destination,
                    "bind",
                    source.clone(),
                    vec!["rbind".into(), propagation.into(), rw.into()],
                )
            }
            MountSource::Tmpfs { size } => {
                // Like a kubelet emptyDir with medium: Memory (a 0777 directory).
                let mut options = vec!["nosuid".into(), "nodev".into(), "mode=0777".into()];
                if let Some(size) = size {
                    options.push(format!("size={size}"));
                }
                options.push(rw.into());
                oci_mount(destination, "tmpfs", PathBuf::from("tmpfs"), options)
            }
        };
        volumes.push(mount);
    }
    volumes.sort_by_key(|m| m.destination().components().count());
    // Root propagation uses the unprefixed names: libcontainer 0.7.0 (rootfs/rootfs.rs) rejects
    // "rshared"/"rslave" there, and applies it recursively anyway. It also ignores the
    // propagation options of a bind (open_tree + move_mount with no propagation attribute):
    // the clone keeps the propagation its source has in the container's namespace after the
    // root was made shared/slave/private. So the root is what makes a volume private, slave or
    // shared: "private" unless a volume asks for more (containerd leaves it unset and runc
    // applies the per-mount rprivate, which libcontainer cannot), and a `None` volume beside a
    // HostToContainer or Bidirectional one gets the root's propagation.
    let root_propagation = root_propagation.unwrap_or("private");

    let overridden: BTreeSet<&Path> = volumes.iter().map(|m| m.destination().as_path()).collect();
    let dev_overridden = overridden.contains(Path::new("/dev"));
    let mut all: Vec<OciMount> = Vec::new();
    for m in defaults::default_mounts(privileged) {
        let destination = m.destination().as_path();
        let under_dev_volume = dev_overridden && destination.starts_with("/dev");
        if overridden.contains(destination) || under_dev_volume {
            continue;
        }
        if m.typ().as_deref() == Some("cgroup") && !privileged && !cgroup_v1.is_empty() {
            all.extend(defaults::read_only_v1_cgroup_mounts(
                cgroup_v1,
                &config.cgroups_path,
            ));
            continue;
        }
        all.push(m);
    }
    all.extend(volumes);
    Ok((all, root_propagation.to_string()))
}

fn namespace(typ: LinuxNamespaceType, path: Option<PathBuf>) -> LinuxNamespace {
    let mut ns = LinuxNamespace::default();
    ns.set_typ(typ);
    ns.set_path(path);
    ns
}

/// Mount and cgroup namespaces are always new; the others follow the config: `Private` is a
/// new namespace, `Join` names the pod's namespace file, `Host` leaves the namespace out.
fn namespaces(config: &ContainerConfig) -> Vec<LinuxNamespace> {
    let ns = &config.namespaces;
    let mut out = vec![
        namespace(LinuxNamespaceType::Mount, None),
        namespace(LinuxNamespaceType::Cgroup, None),
    ];
    for (typ, mode) in [
        (LinuxNamespaceType::Pid, &ns.pid),
        (LinuxNamespaceType::Network, &ns.network),
        (LinuxNamespaceType::Ipc, &ns.ipc),
        (LinuxNamespaceType::Uts, &ns.uts),
    ] {
        match mode {
            NamespaceMode::Host => {}
            NamespaceMode::Private => out.push(namespace(typ, None)),
            NamespaceMode::Join(path) => out.push(namespace(typ, Some(path.clone()))),
        }
    }
    out
}

fn resources(config: &ContainerConfig, host: &HostFacts) -> Result<LinuxResources, SpecError> {
    let r = &config.resources;
    let out_of_range = |field, value| SpecError::OutOfRange {
        container: config.name.clone(),
        field,
        value,
    };
    let mut out = LinuxResources::default();
    out.set_devices(Some(defaults::device_cgroup_rules(
        config.security.privileged,
    )));

    if r.cpu_shares.is_some() || r.cpu_quota.is_some() || r.cpu_period.is_some() {
        let mut cpu = LinuxCpu::default();
        cpu.set_shares(r.cpu_shares);
        cpu.set_quota(r.cpu_quota);
        cpu.set_period(r.cpu_period);
        out.set_cpu(Some(cpu));
    }
    if let Some(limit) = r.memory_limit {
        if limit <= 0 {
            return Err(out_of_range("memory limit", limit));
        }
        let mut memory = LinuxMemory::default();
        memory.set_limit(Some(limit));
        // containerd WithResources: memory+swap = memory, i.e. no swap.
        if host.swap_limit_supported {
            memory.set_swap(Some(limit));
        }
        out.set_memory(Some(memory));
    }
    if let Some(limit) = r.pids_limit {
        if limit <= 0 {
            return Err(out_of_range("pids limit", limit));
        }
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        out.set_pids(Some(pids));
    }
    Ok(out)
}

/// The seccomp filter: none for privileged containers (containerd WithPrivileged ⇒
/// WithSeccompUnconfined) and for `Unconfined`; minipod's profile for `RuntimeDefault`; the
/// loaded file for `Localhost`.
fn seccomp_profile(
    config: &ContainerConfig,
    inputs: &SpecInputs,
    host: &HostFacts,
    caps: &[Capability],
) -> Result<Option<LinuxSeccomp>, SpecError> {
    if config.security.privileged {
        return Ok(None);
    }
    match &config.security.seccomp {
        Seccomp::Unconfined => Ok(None),
        Seccomp::RuntimeDefault => {
            let arch = host
                .seccomp_arch
                .ok_or_else(|| SpecError::NoRuntimeDefaultProfile {
                    container: config.name.clone(),
                })?;
            Ok(Some(seccomp::runtime_default(caps, arch)))
        }
        Seccomp::Localhost(path) => inputs.localhost_seccomp.clone().map(Some).ok_or_else(|| {
            SpecError::SeccompProfileNotLoaded {
                container: config.name.clone(),
                path: path.clone(),
            }
        }),
    }
}

/// Step 3: the OCI runtime spec of one container. Pure: every host fact comes in through
/// `inputs` and `host`.
pub fn build_spec(
    config: &ContainerConfig,
    inputs: &SpecInputs,
    host: &HostFacts,
) -> Result<Spec, SpecError> {
    let sec = &config.security;
    let privileged = sec.privileged;

    // Process.
    if config.process.args.is_empty() {
        return Err(SpecError::NoCommand {
            container: config.name.clone(),
        });
    }
    let cwd = config
        .process
        .cwd
        .clone()
        .unwrap_or_else(|| PathBuf::from("/"));
    if !cwd.is_absolute() {
        return Err(SpecError::RelativeWorkingDir {
            container: config.name.clone(),
            cwd,
        });
    }
    let mut caps = effective_capabilities(
        privileged,
        &sec.capabilities_add,
        &sec.capabilities_drop,
        host.last_cap,
    )
    .map_err(|source| SpecError::Capabilities {
        container: config.name.clone(),
        source,
    })?;
    if privileged {
        caps.retain(|c| host.bounding_set & (1u64 << capabilities::capability_number(*c)) != 0);
    }
    let mut user = User::default();
    user.set_uid(inputs.user.uid);
    user.set_gid(inputs.user.gid);
    user.set_additional_gids(Some(inputs.user.additional_gids.clone()));
    // runc sets 0022 when the spec has no umask; libcontainer 0.7.0 would leave the
    // supervisor's own umask in place (process/init/process.rs).
    user.set_umask(Some(0o022));
    let mut process = Process::default();
    process.set_terminal(Some(config.process.tty));
    if let (true, Some(size)) = (config.process.tty, config.process.console_size) {
        process.set_console_size(Some(size.into()));
    }
    process.set_user(user);
    process.set_args(Some(config.process.args.clone()));
    process.set_env(Some(
        config
            .process
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
    ));
    process.set_cwd(cwd);
    process.set_capabilities(Some(capabilities::linux_capabilities(&caps)));
    process.set_rlimits(Some(defaults::rlimits(host.nofile_hard_limit)));
    process.set_no_new_privileges(Some(!allow_privilege_escalation(config, &caps)));

    // Root filesystem and mounts.
    let mut root = Root::default();
    root.set_path(config.rootfs.clone());
    root.set_readonly(Some(sec.read_only_root_filesystem));
    let (mounts, rootfs_propagation) = mounts(config, &host.cgroup_v1)?;

    // Linux section.
    let sysctls = sysctl::validate(
        &sec.sysctls,
        &config.namespaces.network,
        &config.namespaces.ipc,
    )
    .map_err(|source| SpecError::Sysctl {
        container: config.name.clone(),
        source,
    })?;
    let (masked, readonly) = if privileged || sec.proc_mount == ProcMount::Unmasked {
        (Vec::new(), Vec::new())
    } else {
        (
            defaults::MASKED_PATHS
                .iter()
                .map(|p| p.to_string())
                .collect(),
            defaults::READONLY_PATHS
                .iter()
                .map(|p| p.to_string())
                .collect(),
        )
    };
    let mut linux = Linux::default();
    linux.set_namespaces(Some(namespaces(config)));
    linux.set_resources(Some(resources(config, host)?));
    let cgroups_path = if config.cgroups_path.starts_with('/') {
        PathBuf::from(&config.cgroups_path)
    } else {
        // OCI: an absolute cgroupsPath is relative to the hierarchy root, which is what the
        // config means; a relative one would be taken relative to the supervisor's cgroup.
        Path::new("/").join(&config.cgroups_path)
    };
    linux.set_cgroups_path(Some(cgroups_path));
    linux.set_masked_paths(Some(masked));
    linux.set_readonly_paths(Some(readonly));
    linux.set_sysctl((!sysctls.is_empty()).then(|| sysctls.into_iter().collect()));
    linux.set_devices((!inputs.host_devices.is_empty()).then(|| inputs.host_devices.clone()));
    linux.set_seccomp(seccomp_profile(config, inputs, host, &caps)?);
    linux.set_rootfs_propagation(Some(rootfs_propagation));
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);

    let mut spec = Spec::default();
    spec.set_version(oci_spec::runtime::VERSION.to_string());
    spec.set_root(Some(root));
    spec.set_mounts(Some(mounts));
    spec.set_process(Some(process));
    // A hostname needs a UTS namespace of its own; a joined one already has the pod's.
    spec.set_hostname(match config.namespaces.uts {
        NamespaceMode::Private => config.hostname.clone(),
        _ => None,
    });
    spec.set_domainname(None);
    spec.set_hooks(None);
    spec.set_annotations(Some(
        config
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>(),
    ));
    spec.set_linux(Some(linux));
    Ok(spec)
}

/// Adjusts a spec for libcontainer 0.7.0, which reads `SCMP_CMP_MASKED_EQ` operands in the
/// opposite order from the OCI spec and runc (see
/// [`seccomp::fix_masked_eq_for_libcontainer`]). Apply it to the copy libcontainer reads, and
/// only once; keep the unadjusted spec for runc/crun (`scripts/bench-container.sh`).
pub fn adapt_for_libcontainer(spec: &mut Spec) {
    if let Some(linux) = spec.linux_mut() {
        if let Some(profile) = linux.seccomp_mut() {
            seccomp::fix_masked_eq_for_libcontainer(profile);
        }
    }
}

#[cfg(test)]
mod tests;
