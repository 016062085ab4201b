//! The pod sandbox: what the containers of one pod share.
//!
//! No pause process holds the shared namespaces. A short-lived thread unshares the network,
//! IPC and UTS namespaces (these are per-thread in Linux), brings loopback up, sets the
//! hostname, and bind-mounts `/proc/thread-self/ns/{net,ipc,uts}` onto files under
//! `<run>/pods/<uid>/ns/`; the mounts keep the namespaces alive after the thread ends, and
//! every container joins them by path. The `ns` directory is itself a private bind mount, so
//! these mounts never propagate into other mount namespaces (where nobody could unmount them).
//!
//! The sandbox also writes the pod's `/etc/hosts` (the kubelet's managed format), a copy of the
//! host's `/etc/resolv.conf`, and `/etc/hostname`, which each container bind-mounts, and creates
//! the pod cgroup.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::cgroup::{CgroupError, PodCgroup};
use crate::config::{Mount, MountSource, NamespaceMode, Namespaces, Propagation, SandboxConfig};

/// How long teardown waits for killed processes to leave the pod cgroup.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of sandbox setup and teardown; each names the pod and the step.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("pod {pod:?}: create directory {path}: {source}")]
    CreateDir {
        pod: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("pod {pod:?}: write {path}: {source}")]
    WriteFile {
        pod: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("pod {pod:?}: read host {path}: {source}")]
    ReadHost {
        pod: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("pod {pod:?}: mount the pod's /dev/shm at {path}: {source}")]
    Shm {
        pod: String,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("pod {pod:?}: make {path} a private mount: {source}")]
    PrivateMount {
        pod: String,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("pod {pod:?}: unshare {kinds} namespaces: {source}")]
    Unshare {
        pod: String,
        kinds: String,
        #[source]
        source: nix::Error,
    },
    #[error("pod {pod:?}: set hostname {hostname:?}: {source}")]
    SetHostname {
        pod: String,
        hostname: String,
        #[source]
        source: nix::Error,
    },
    #[error("pod {pod:?}: bring loopback up: {source}")]
    LoopbackUp {
        pod: String,
        #[source]
        source: io::Error,
    },
    #[error("pod {pod:?}: bind {kind} namespace to {path}: {source}")]
    BindNamespace {
        pod: String,
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("pod {pod:?}: namespace thread panicked")]
    ThreadPanicked { pod: String },
    #[error("pod {pod:?}: {source}")]
    Cgroup {
        pod: String,
        #[source]
        source: CgroupError,
    },
    #[error("pod {pod:?}: start the shared PID namespace's init: {source}")]
    PidNamespaceInit {
        pod: String,
        #[source]
        source: io::Error,
    },
    #[error("pod {pod:?}: unmount {path}: {source}")]
    Unmount {
        pod: String,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("pod {pod:?}: remove {path}: {source}")]
    Remove {
        pod: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, SandboxError>;

/// The namespace kinds a pod can hold as files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsKind {
    Net,
    Ipc,
    Uts,
}

impl NsKind {
    fn name(self) -> &'static str {
        match self {
            NsKind::Net => "net",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
        }
    }
    fn flag(self) -> CloneFlags {
        match self {
            NsKind::Net => CloneFlags::CLONE_NEWNET,
            NsKind::Ipc => CloneFlags::CLONE_NEWIPC,
            NsKind::Uts => CloneFlags::CLONE_NEWUTS,
        }
    }
}

/// A created pod sandbox. Dropping it does nothing: call [`PodSandbox::teardown`].
#[derive(Debug)]
pub struct PodSandbox {
    pod: String,
    run_dir: PathBuf,
    host_network: bool,
    host_ipc: bool,
    host_pid: bool,
    share_pid: bool,
    cgroup: PodCgroup,
}

impl PodSandbox {
    /// Creates the sandbox of a pod: run directory, namespace files (unless host namespaces
    /// are asked for), loopback up, hostname, `/etc` files, pod cgroup. On failure, everything
    /// already made is removed again.
    pub fn create(cfg: &SandboxConfig) -> Result<PodSandbox> {
        let pod = cfg.pod_name.clone();
        let cgroup = PodCgroup::create(&cfg.cgroup_parent, &cfg.resources).map_err(|source| {
            SandboxError::Cgroup {
                pod: pod.clone(),
                source,
            }
        })?;
        let sandbox = PodSandbox::of(cfg, pod, cgroup);
        match sandbox.setup(cfg) {
            Ok(()) => Ok(sandbox),
            Err(e) => {
                let _ = sandbox.teardown_ref();
                Err(e)
            }
        }
    }

    /// The sandbox `cfg` describes, around its pod cgroup.
    fn of(cfg: &SandboxConfig, pod: String, cgroup: PodCgroup) -> PodSandbox {
        PodSandbox {
            pod,
            run_dir: cfg.run_dir.clone(),
            host_network: cfg.host_network,
            host_ipc: cfg.host_ipc,
            host_pid: cfg.host_pid,
            share_pid: cfg.share_process_namespace && !cfg.host_pid,
            cgroup,
        }
    }

    /// The sandbox of `cfg` as left on disk, without creating anything: for `delete`/`gc`
    /// after the supervisor died.
    pub fn open(cfg: &SandboxConfig) -> Result<PodSandbox> {
        let pod = cfg.pod_name.clone();
        let cgroup =
            PodCgroup::open(&cfg.cgroup_parent).map_err(|source| SandboxError::Cgroup {
                pod: pod.clone(),
                source,
            })?;
        Ok(PodSandbox::of(cfg, pod, cgroup))
    }

    fn kinds(&self) -> Vec<NsKind> {
        let mut k = Vec::new();
        if !self.host_network {
            k.push(NsKind::Net);
            // kubelet: a pod on the host network also uses the host's UTS namespace.
            k.push(NsKind::Uts);
        }
        if !self.host_ipc {
            k.push(NsKind::Ipc);
        }
        k
    }

    fn ns_dir(&self) -> PathBuf {
        self.run_dir.join("ns")
    }

    fn etc_dir(&self) -> PathBuf {
        self.run_dir.join("etc")
    }

    /// The path of the pod's namespace file for `net`, `ipc` or `uts`.
    pub fn ns_path(&self, kind: &str) -> PathBuf {
        self.ns_dir().join(kind)
    }

    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    pub fn cgroup(&self) -> &PodCgroup {
        &self.cgroup
    }

    /// The `cgroupsPath` for a container of this pod.
    pub fn container_cgroups_path(&self, container_id: &str) -> String {
        self.cgroup.container_cgroups_path(container_id)
    }

    /// How a container of this pod gets its namespaces.
    pub fn namespaces(&self) -> Namespaces {
        let mode = |host: bool, kind: NsKind| {
            if host {
                NamespaceMode::Host
            } else {
                NamespaceMode::Join(self.ns_path(kind.name()))
            }
        };
        Namespaces {
            network: mode(self.host_network, NsKind::Net),
            ipc: mode(self.host_ipc, NsKind::Ipc),
            uts: mode(self.host_network, NsKind::Uts),
            pid: if self.host_pid {
                NamespaceMode::Host
            } else if self.share_pid {
                NamespaceMode::Join(self.ns_path("pid"))
            } else {
                NamespaceMode::Private
            },
        }
    }

    /// The `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname` bind mounts every container
    /// of the pod gets.
    pub fn etc_mounts(&self) -> Vec<Mount> {
        ["hosts", "resolv.conf", "hostname"]
            .iter()
            .map(|f| Mount {
                source: MountSource::Bind(self.etc_dir().join(f)),
                destination: Path::new("/etc").join(f),
                read_only: false,
                propagation: Propagation::Private,
            })
            .collect()
    }

    fn shm_dir(&self) -> PathBuf {
        self.ns_dir().join("shm")
    }

    /// The pod's `/dev/shm`, shared by all its containers as containerd shares the sandbox's:
    /// a 64 MiB tmpfs of the pod, or the host's `/dev/shm` for `hostIPC` pods.
    pub fn shm_mount(&self) -> Mount {
        let source = if self.host_ipc {
            PathBuf::from("/dev/shm")
        } else {
            self.shm_dir()
        };
        Mount {
            source: MountSource::Bind(source),
            destination: PathBuf::from("/dev/shm"),
            read_only: false,
            propagation: Propagation::Private,
        }
    }

    fn setup(&self, cfg: &SandboxConfig) -> Result<()> {
        let pod = &self.pod;
        // 0700: the pod's run directory leads to its containers' root filesystems and holds
        // their config (with the environment); see crate::private.
        let mkdir = |path: &Path| {
            crate::private::create_dir_all(path).map_err(|source| SandboxError::CreateDir {
                pod: pod.clone(),
                path: path.to_path_buf(),
                source,
            })
        };
        mkdir(&self.run_dir)?;
        mkdir(&self.etc_dir())?;
        self.write_etc_files(cfg)?;

        let kinds = self.kinds();
        if kinds.is_empty() && !self.share_pid {
            return Ok(());
        }
        let ns_dir = self.ns_dir();
        mkdir(&ns_dir)?;
        // A private mount of its own, so the namespace mounts below never propagate.
        let private_err = |source| SandboxError::PrivateMount {
            pod: pod.clone(),
            path: ns_dir.clone(),
            source,
        };
        mount(
            Some(&ns_dir),
            &ns_dir,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(private_err)?;
        mount(
            None::<&str>,
            &ns_dir,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(private_err)?;
        if !self.host_ipc {
            // containerd's sandbox shm (defaultShmSize 64 MiB), inside the private ns
            // directory so that it never propagates either.
            let shm = self.shm_dir();
            mkdir(&shm)?;
            mount(
                Some("shm"),
                &shm,
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("mode=1777,size=65536k"),
            )
            .map_err(|source| SandboxError::Shm {
                pod: pod.clone(),
                path: shm.clone(),
                source,
            })?;
        }
        for k in &kinds {
            let path = ns_dir.join(k.name());
            crate::private::write_file(&path, b"").map_err(|source| SandboxError::WriteFile {
                pod: pod.clone(),
                path: path.clone(),
                source,
            })?;
        }

        // The namespaces are made by a thread of their own: unshare of net/ipc/uts affects
        // only the calling thread, so the caller keeps its namespaces, and the thread is gone
        // (joined) before the caller goes on to clone containers single-threaded.
        let pod_name = pod.clone();
        let hostname = cfg.hostname.clone();
        let targets: Vec<(NsKind, PathBuf)> =
            kinds.iter().map(|k| (*k, ns_dir.join(k.name()))).collect();
        if !targets.is_empty() {
            std::thread::Builder::new()
                .name("minipod-netns".into())
                .spawn(move || make_namespaces(&pod_name, &hostname, &targets))
                .map_err(|source| SandboxError::LoopbackUp {
                    pod: pod.clone(),
                    source,
                })?
                .join()
                .map_err(|_| SandboxError::ThreadPanicked { pod: pod.clone() })??;
        }
        if self.share_pid {
            self.start_pid_namespace(&ns_dir)?;
        }
        Ok(())
    }

    /// shareProcessNamespace: a PID namespace whose PID 1 is a tiny forked reaper (the
    /// kernel kills a PID namespace when its init exits, so something must stay PID 1, and
    /// orphans of every container are reparented to it and must be reaped). It lives in the
    /// pod cgroup's `sandbox-init` child, so pod teardown kills it; the namespace file
    /// `ns/pid` is what containers join.
    fn start_pid_namespace(&self, ns_dir: &Path) -> Result<()> {
        let pod = &self.pod;
        let init_err = |source| SandboxError::PidNamespaceInit {
            pod: pod.clone(),
            source,
        };
        let pid = fork_pid_namespace_init().map_err(init_err)?;
        if let Err(source) = self.cgroup.adopt("sandbox-init", pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            return Err(SandboxError::Cgroup {
                pod: pod.clone(),
                source,
            });
        }
        let target = ns_dir.join("pid");
        crate::private::write_file(&target, b"").map_err(|source| SandboxError::WriteFile {
            pod: pod.clone(),
            path: target.clone(),
            source,
        })?;
        let src = format!("/proc/{pid}/ns/pid");
        mount(
            Some(src.as_str()),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|source| SandboxError::BindNamespace {
            pod: pod.clone(),
            kind: "pid",
            path: target,
            source,
        })
    }

    fn write_etc_files(&self, cfg: &SandboxConfig) -> Result<()> {
        let pod = &self.pod;
        let write = |name: &str, text: &[u8]| {
            let path = self.etc_dir().join(name);
            // 0644 as the kubelet writes them: a container's non-root user reads them through
            // the bind mount; on the host they sit in the 0700 pod run directory.
            fs::write(&path, text)
                .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(0o644)))
                .map_err(|source| SandboxError::WriteFile {
                    pod: pod.clone(),
                    path,
                    source,
                })
        };
        let read_host = |path: &str| {
            fs::read(path).map_err(|source| SandboxError::ReadHost {
                pod: pod.clone(),
                path: path.into(),
                source,
            })
        };
        let hosts = if cfg.host_network {
            // kubelet: pods on the host network see the host's /etc/hosts (plus aliases).
            let mut h = String::from_utf8_lossy(&read_host("/etc/hosts")?).into_owned();
            if !h.ends_with('\n') && !h.is_empty() {
                h.push('\n');
            }
            h.push_str(&host_aliases_section(&cfg.host_aliases));
            h
        } else {
            managed_hosts_file(&cfg.hostname, cfg.fqdn.as_deref(), &cfg.host_aliases)
        };
        write("hosts", hosts.as_bytes())?;
        // A missing host resolv.conf gives an empty one rather than a failed pod.
        let resolv = match fs::read("/etc/resolv.conf") {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(SandboxError::ReadHost {
                    pod: pod.clone(),
                    path: "/etc/resolv.conf".into(),
                    source,
                })
            }
        };
        write("resolv.conf", &resolv)?;
        let hostname = if cfg.host_network {
            nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            cfg.hostname.clone()
        };
        write("hostname", format!("{hostname}\n").as_bytes())
    }

    /// Removes everything the sandbox holds: kills every process left in the pod cgroup,
    /// removes the cgroup tree, unmounts and removes the namespace files and the `/etc` files.
    /// Safe to call on a half-made or already removed sandbox.
    pub fn teardown(self) -> Result<()> {
        self.teardown_ref()
    }

    fn teardown_ref(&self) -> Result<()> {
        let pod = &self.pod;
        let mut first: Option<SandboxError> = None;
        if let Err(source) = self.cgroup.remove(TEARDOWN_TIMEOUT) {
            first.get_or_insert(SandboxError::Cgroup {
                pod: pod.clone(),
                source,
            });
        }
        let ns_dir = self.ns_dir();
        for k in ["net", "ipc", "uts", "pid"] {
            let path = ns_dir.join(k);
            if let Err(e) = unmount_and_remove(pod, &path) {
                first.get_or_insert(e);
            }
        }
        if let Err(e) = unmount_and_remove_dir(pod, &self.shm_dir()) {
            first.get_or_insert(e);
        }
        if let Err(e) = unmount_and_remove_dir(pod, &ns_dir) {
            first.get_or_insert(e);
        }
        let etc = self.etc_dir();
        if let Err(source) = fs::remove_dir_all(&etc) {
            if source.kind() != io::ErrorKind::NotFound {
                first.get_or_insert(SandboxError::Remove {
                    pod: pod.clone(),
                    path: etc,
                    source,
                });
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Unmounts (if mounted) and removes an empty directory; a missing one is fine.
fn unmount_and_remove_dir(pod: &str, dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    match umount2(dir, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(source) => {
            return Err(SandboxError::Unmount {
                pod: pod.into(),
                path: dir.to_path_buf(),
                source,
            })
        }
    }
    match fs::remove_dir(dir) {
        Err(source) if source.kind() != io::ErrorKind::NotFound => Err(SandboxError::Remove {
            pod: pod.into(),
            path: dir.to_path_buf(),
            source,
        }),
        _ => Ok(()),
    }
}

fn unmount_and_remove(pod: &str, path: &Path) -> Result<()> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    // EINVAL: not a mount point (setup failed before the bind); the file still goes.
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) => {}
        Err(source) => {
            return Err(SandboxError::Unmount {
                pod: pod.into(),
                path: path.to_path_buf(),
                source,
            })
        }
    }
    fs::remove_file(path).map_err(|source| SandboxError::Remove {
        pod: pod.into(),
        path: path.to_path_buf(),
        source,
    })
}

/// Runs on its own thread: new namespaces for this thread only, then pinned by bind mounts.
fn make_namespaces(pod: &str, hostname: &str, targets: &[(NsKind, PathBuf)]) -> Result<()> {
    let flags = targets
        .iter()
        .fold(CloneFlags::empty(), |f, (k, _)| f | k.flag());
    unshare(flags).map_err(|source| SandboxError::Unshare {
        pod: pod.into(),
        kinds: targets
            .iter()
            .map(|(k, _)| k.name())
            .collect::<Vec<_>>()
            .join(","),
        source,
    })?;
    if targets.iter().any(|(k, _)| *k == NsKind::Uts) {
        nix::unistd::sethostname(hostname).map_err(|source| SandboxError::SetHostname {
            pod: pod.into(),
            hostname: hostname.into(),
            source,
        })?;
    }
    if targets.iter().any(|(k, _)| *k == NsKind::Net) {
        loopback_up().map_err(|source| SandboxError::LoopbackUp {
            pod: pod.into(),
            source,
        })?;
    }
    for (k, target) in targets {
        let src = format!("/proc/thread-self/ns/{}", k.name());
        mount(
            Some(src.as_str()),
            target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|source| SandboxError::BindNamespace {
            pod: pod.into(),
            kind: k.name(),
            path: target.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Forks the init of a new PID namespace; returns its pid (as seen from here). The init is
/// not our child (its parent, an intermediate process, exits at once), so it never needs
/// reaping by the supervisor. Call from a single-threaded process: between fork and the
/// reaper loop only async-signal-safe calls are made.
fn fork_pid_namespace_init() -> io::Result<i32> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    use std::os::fd::AsRawFd;
    let (rfd, wfd) = (r.as_raw_fd(), w.as_raw_fd());
    // SAFETY: fork in a single-threaded caller; the child only makes raw syscalls and exits.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(io::Error::last_os_error());
    }
    if child == 0 {
        // SAFETY: async-signal-safe syscalls only, ending in _exit.
        unsafe {
            libc::close(rfd);
            if libc::unshare(libc::CLONE_NEWPID) != 0 {
                libc::_exit(1);
            }
            let init = libc::fork();
            if init == 0 {
                pid_namespace_init();
            }
            let bytes = init.to_ne_bytes();
            let ok = init > 0
                && libc::write(wfd, bytes.as_ptr().cast(), bytes.len()) == bytes.len() as isize;
            libc::_exit(if ok { 0 } else { 1 });
        }
    }
    drop(w);
    let mut buf = [0u8; 4];
    let n = nix::unistd::read(rfd, &mut buf).map_err(io::Error::from)?;
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
    drop(r);
    if n != 4 {
        return Err(io::Error::other("pid namespace init did not start"));
    }
    Ok(i32::from_ne_bytes(buf))
}

extern "C" fn on_sigchld(_: libc::c_int) {}

/// PID 1 of a shared PID namespace: reap every child, forever. Runs in a forked child.
fn pid_namespace_init() -> ! {
    // SAFETY: async-signal-safe syscalls only; never returns.
    unsafe {
        // Hold nothing of the supervisor: no pipe of any container may stay open here.
        libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
        libc::setsid();
        libc::prctl(libc::PR_SET_NAME, c"minipod-pidns".as_ptr());
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigchld as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGCHLD, &sa, std::ptr::null_mut());
        let mut block: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &block, std::ptr::null_mut());
        let mut wait_mask: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut wait_mask);
        loop {
            while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
            // SIGCHLD is blocked outside sigsuspend: no exit is missed between the two calls.
            libc::sigsuspend(&wait_mask);
        }
    }
}

/// `ip link set lo up` in the calling thread's network namespace.
fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket syscall; the fd is owned right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let name = CString::new("lo").map_err(io::Error::other)?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.as_bytes_with_nul()) {
        *dst = *src as libc::c_char;
    }
    use std::os::fd::AsRawFd;
    // SAFETY: SIOCGIFFLAGS reads into req, which lives for the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel filled ifru_flags above.
    unsafe {
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    // SAFETY: SIOCSIFFLAGS reads req, which lives for the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The kubelet's managed `/etc/hosts` (pkg/kubelet/kubelet_pods.go managedHostsFileContent).
/// minipod pods have only loopback, so the pod's own name maps to 127.0.1.1 where the kubelet
/// writes the pod IP.
pub fn managed_hosts_file(
    hostname: &str,
    fqdn: Option<&str>,
    aliases: &[(String, Vec<String>)],
) -> String {
    let mut s = String::from(
        "# Kubernetes-managed hosts file.\n\
         127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         fe00::0\tip6-mcastprefix\n\
         fe00::1\tip6-allnodes\n\
         fe00::2\tip6-allrouters\n",
    );
    match fqdn {
        Some(f) => s.push_str(&format!("127.0.1.1\t{f}\t{hostname}\n")),
        None => s.push_str(&format!("127.0.1.1\t{hostname}\n")),
    }
    s.push_str(&host_aliases_section(aliases));
    s
}

fn host_aliases_section(aliases: &[(String, Vec<String>)]) -> String {
    if aliases.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n# Entries added by HostAliases.\n");
    for (ip, names) in aliases {
        s.push_str(&format!("{ip}\t{}\n", names.join("\t")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_has_kubelet_shape() {
        let h = managed_hosts_file(
            "web-0",
            Some("web-0.web.default.svc.cluster.local"),
            &[("10.0.0.1".into(), vec!["foo".into(), "bar".into()])],
        );
        assert!(h.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"));
        assert!(h.contains("127.0.1.1\tweb-0.web.default.svc.cluster.local\tweb-0\n"));
        assert!(h.ends_with("\n# Entries added by HostAliases.\n10.0.0.1\tfoo\tbar\n"));
        let plain = managed_hosts_file("p", None, &[]);
        assert!(plain.ends_with("fe00::2\tip6-allrouters\n127.0.1.1\tp\n"));
    }
}
