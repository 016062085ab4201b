//! One container attempt through youki's `libcontainer`: create, start, signal, wait, delete,
//! and exec into it.
//!
//! Rules this module keeps (see design.md §5):
//! - Call it from a single-threaded process: libcontainer clones and runs Rust code in the
//!   child, and a second thread holding the allocator lock would deadlock that child.
//! - The spec always has an absolute `linux.cgroupsPath` and the root filesystem of the
//!   [`ContainerConfig`]; stdin, stdout and stderr are always passed explicitly.
//! - The container process is a direct child of the caller (libcontainer clones it with
//!   `CLONE_PARENT`), so its exit status comes from `waitpid` on its pid, never `waitpid(-1)`.
//!   Create and exec also fork a short-lived helper ([`cgroup::AttachLockWarmup`]) that they
//!   kill and reap by pid before they return.
//! - libcontainer logs through `tracing`; with no subscriber installed nothing is printed, so
//!   nothing of the runtime ends up on the container's stderr. Do not install a tracing
//!   subscriber that writes to fd 2 in a process that creates containers.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container as LcContainer, ContainerStatus};
use libcontainer::error::LibcontainerError;
use libcontainer::signal::Signal as LcSignal;
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;

use crate::cgroup::{self, CgroupError};
use crate::config::{ContainerConfig, ProcessConfig};
use crate::terminal::ConsoleSizeExecutor;

/// The console socket of a container's own process (`tty: true`), in its bundle.
const CONSOLE_SOCKET: &str = "console.sock";

/// How long delete waits for a killed container's cgroup to empty.
const DELETE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a failing step was doing.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("create container {name:?}: {step}: {source}")]
    CreateIo {
        name: String,
        step: String,
        #[source]
        source: io::Error,
    },
    #[error("create container {name:?}: write bundle {path}: {source}")]
    WriteBundle {
        name: String,
        path: PathBuf,
        #[source]
        source: oci_spec::OciSpecError,
    },
    #[error("create container {name:?}: {}", chain(.source))]
    Create {
        name: String,
        #[source]
        source: LibcontainerError,
    },
    #[error("create container {name:?}: libcontainer returned no pid")]
    NoPid { name: String },
    #[error("{op} container {name:?}: {source}")]
    Cgroup {
        op: &'static str,
        name: String,
        #[source]
        source: CgroupError,
    },
    #[error("start container {name:?}: {}", chain(.source))]
    Start {
        name: String,
        #[source]
        source: LibcontainerError,
    },
    #[error("signal container {name:?} with {signal}: {source}")]
    Signal {
        name: String,
        signal: Signal,
        #[source]
        source: nix::Error,
    },
    #[error("signal every process of container {name:?} with {signal}: {}", chain(.source))]
    SignalAll {
        name: String,
        signal: Signal,
        #[source]
        source: LibcontainerError,
    },
    #[error("wait for container {name:?} (pid {pid}): {source}")]
    Wait {
        name: String,
        pid: i32,
        #[source]
        source: nix::Error,
    },
    #[error("delete container {name:?}: {}", chain(.source))]
    Delete {
        name: String,
        #[source]
        source: LibcontainerError,
    },
    #[error("delete container {name:?}: remove {path}: {source}")]
    DeleteIo {
        name: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("exec in container {name:?}: {}", chain(.source))]
    Exec {
        name: String,
        #[source]
        source: LibcontainerError,
    },
    #[error("exec in container {name:?}: read {path}: {source}")]
    ReadBundle {
        name: String,
        path: PathBuf,
        #[source]
        source: oci_spec::OciSpecError,
    },
    #[error("exec in container {name:?}: {path} has no {field}")]
    IncompleteBundle {
        name: String,
        path: PathBuf,
        field: &'static str,
    },
    #[error("exec in container {id}: read its state: {}", chain(.source))]
    ReadState {
        id: String,
        #[source]
        source: LibcontainerError,
    },
    #[error("container {name:?} ({id}) is not running")]
    NotRunning { name: String, id: String },
    #[error("exec in container {name:?}: {step}: {source}")]
    ExecIo {
        name: String,
        step: &'static str,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, ContainerError>;

/// libcontainer's errors are mostly `transparent` wrappers: print the whole chain on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// The file descriptors that become the container's fd 0, 1 and 2.
#[derive(Debug)]
pub struct ContainerStdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// The supervisor's ends of the pipes made by [`ContainerStdio::pipes`].
#[derive(Debug)]
pub struct StdioPipes {
    /// Write end of the container's stdin (`None`: stdin is /dev/null).
    pub stdin: Option<OwnedFd>,
    /// Read end of the container's stdout.
    pub stdout: OwnedFd,
    /// Read end of the container's stderr.
    pub stderr: OwnedFd,
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}

fn dev_null(write: bool) -> io::Result<OwnedFd> {
    let f = OpenOptions::new()
        .read(!write)
        .write(write)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/null")?;
    Ok(f.into())
}

impl ContainerStdio {
    /// Pipes for stdout and stderr (and stdin when `with_stdin`, else /dev/null). Every fd is
    /// close-on-exec; libcontainer dup2s the container's ends onto 0, 1, 2 in the child.
    pub fn pipes(with_stdin: bool) -> io::Result<(ContainerStdio, StdioPipes)> {
        let (out_r, out_w) = pipe_cloexec()?;
        let (err_r, err_w) = pipe_cloexec()?;
        let (stdin, stdin_w) = if with_stdin {
            let (r, w) = pipe_cloexec()?;
            (r, Some(w))
        } else {
            (dev_null(false)?, None)
        };
        Ok((
            ContainerStdio {
                stdin,
                stdout: out_w,
                stderr: err_w,
            },
            StdioPipes {
                stdin: stdin_w,
                stdout: out_r,
                stderr: err_r,
            },
        ))
    }

    /// stdin, stdout and stderr all /dev/null.
    pub fn null() -> io::Result<ContainerStdio> {
        Ok(ContainerStdio {
            stdin: dev_null(false)?,
            stdout: dev_null(true)?,
            stderr: dev_null(true)?,
        })
    }
}

/// Where a container's bundle (`config.json`) and libcontainer state live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPaths {
    /// Directory holding `config.json`.
    pub bundle: PathBuf,
    /// libcontainer's root; the state of a container is `<state_root>/<id>/`.
    pub state_root: PathBuf,
}

impl ContainerPaths {
    /// Both in `<run>/pods/<uid>/containers/<name>/` (design.md §4): `config.json` and
    /// libcontainer's `<id>/` side by side. One directory that outlives the attempts of the
    /// container: each attempt creates and removes only libcontainer's `<id>/`, and on this
    /// kind of host every directory created and removed costs (ext4 without a journal, mounted
    /// with `discard`: an inode search on create and a synchronous discard on removal).
    pub fn in_pod_run_dir(pod_run_dir: &Path, container_name: &str) -> ContainerPaths {
        let dir = pod_run_dir.join("containers").join(container_name);
        ContainerPaths {
            bundle: dir.clone(),
            state_root: dir,
        }
    }
}

/// How a container process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// The exit code, or 128 + the signal number when a signal killed it (as the kubelet
    /// reports it).
    pub code: i32,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    /// The kernel OOM killer killed a process of the container's cgroup.
    pub oom_killed: bool,
}

impl ExitStatus {
    fn from_wait(ws: WaitStatus) -> Option<(i32, Option<i32>)> {
        match ws {
            WaitStatus::Exited(_, code) => Some((code, None)),
            WaitStatus::Signaled(_, sig, _) => Some((128 + sig as i32, Some(sig as i32))),
            _ => None,
        }
    }

    /// The `state.terminated.reason` the kubelet shows: `OOMKilled`, `Completed` or `Error`.
    pub fn reason(&self) -> &'static str {
        if self.oom_killed {
            "OOMKilled"
        } else if self.code == 0 {
            "Completed"
        } else {
            "Error"
        }
    }
}

/// A created (and possibly started) container. Dropping it does not delete it: call
/// [`Container::delete`].
#[derive(Debug)]
pub struct Container {
    /// Name, id, paths, cgroup and process template: all an exec needs.
    target: ExecTarget,
    pid: Pid,
    inner: LcContainer,
    exit: Option<ExitStatus>,
    pty_master: Option<OwnedFd>,
    /// The spec has poststop hooks or Intel RDT: only libcontainer's delete handles those.
    lc_delete: bool,
}

impl Container {
    /// Writes the bundle and creates the container: namespaces joined or made, mounts done,
    /// cgroup entered, process waiting for [`Container::start`] before it execs. On failure
    /// nothing is left behind.
    ///
    /// `spec` is the OCI spec as [`crate::spec::build_spec`] makes it (OCI meaning); this
    /// applies [`crate::spec::adapt_for_libcontainer`] to the copy it writes, so callers must
    /// not apply it themselves.
    pub fn create(
        cfg: &ContainerConfig,
        mut spec: Spec,
        paths: &ContainerPaths,
        stdio: ContainerStdio,
    ) -> Result<Container> {
        let name = cfg.name.clone();
        let cgroups_path = format!("/{}", cfg.cgroups_path.trim_start_matches('/'));
        cgroup::check_rel_path(&cgroups_path).map_err(|source| ContainerError::Cgroup {
            op: "create",
            name: name.clone(),
            source,
        })?;
        // The first cgroup join of this create waits for an RCU grace period: start it now
        // (see `AttachLockWarmup`), stopped once the v2 join below is done.
        let warmup = cgroup::AttachLockWarmup::start();
        // libcontainer 0.7.0 reads seccomp masked-eq operands reversed: adapt the copy it
        // reads (once, here; `spec` is in the OCI meaning).
        crate::spec::adapt_for_libcontainer(&mut spec);
        // The two fields this module is responsible for, whatever the spec generator did.
        let mut linux = spec.linux().clone().unwrap_or_default();
        linux.set_cgroups_path(Some(PathBuf::from(&cgroups_path)));
        spec.set_linux(Some(linux));
        let mut root = spec.root().clone().unwrap_or_default();
        root.set_path(cfg.rootfs.clone());
        spec.set_root(Some(root));

        let process_template = spec.process().clone().unwrap_or_default();
        let lc_delete = spec
            .hooks()
            .as_ref()
            .and_then(|h| h.poststop().as_ref())
            .is_some_and(|p| !p.is_empty())
            || linux_has_intel_rdt(&spec);
        let io_err = |step: &str| {
            let name = name.clone();
            let step = step.to_string();
            move |source| ContainerError::CreateIo { name, step, source }
        };
        let config_json = paths.bundle.join("config.json");
        // process.terminal: libcontainer makes the pty inside the container and sends the
        // master back over a unix socket.
        let terminal = spec
            .process()
            .as_ref()
            .and_then(|p| p.terminal())
            .unwrap_or(false);
        let prepared = (|| {
            // 0700 and 0600: config.json carries the whole environment (secretKeyRef values
            // included), and the bundle leads to the root filesystem (crate::private).
            crate::private::create_dir_all(&paths.bundle)
                .map_err(io_err("create bundle directory"))?;
            if paths.state_root != paths.bundle {
                crate::private::create_dir_all(&paths.state_root)
                    .map_err(io_err("create state directory"))?;
            }
            let json = serde_json::to_vec(&spec).map_err(|source| ContainerError::WriteBundle {
                name: name.clone(),
                path: config_json.clone(),
                source: source.into(),
            })?;
            crate::private::write_file(&config_json, &json).map_err(io_err("write config.json"))?;
            if terminal {
                ConsoleSocket::bind(&paths.bundle, CONSOLE_SOCKET)
                    .map(Some)
                    .map_err(io_err("bind console socket"))
            } else {
                Ok(None)
            }
        })();
        let console = match prepared {
            Ok(c) => c,
            Err(e) => {
                let _ = remove_paths(paths);
                return Err(e);
            }
        };
        let console_path = console.as_ref().map(|c| c.connect_path.clone());
        let built = ContainerBuilder::new(cfg.id.clone(), SyscallType::Linux)
            .validate_id()
            .and_then(|b| b.with_root_path(&paths.state_root))
            .map(|b| {
                b.with_console_socket(console_path)
                    .with_executor(ConsoleSizeExecutor)
                    .with_stdin(stdio.stdin)
                    .with_stdout(stdio.stdout)
                    .with_stderr(stdio.stderr)
                    .as_init(&paths.bundle)
                    .with_systemd(false)
                    .with_detach(true)
            })
            .and_then(|b| b.build());
        let inner = match built {
            Ok(c) => c,
            Err(source) => {
                // libcontainer removed its own state and cgroup (unless a process was still
                // in it); the bundle is ours.
                if let Err(e) = cgroup::remove_container(&cgroups_path, DELETE_TIMEOUT) {
                    log::warn!("create container {name:?}: cleanup: {e}");
                }
                let _ = fs::remove_dir_all(paths.state_root.join(&cfg.id));
                let _ = remove_paths(paths);
                return Err(ContainerError::Create { name, source });
            }
        };
        // libcontainer makes its state directory 0755 (state.json names the bundle and
        // the pid): private like the rest of the run directory.
        if let Err(e) = crate::private::tighten(&paths.state_root.join(&cfg.id)) {
            log::warn!("create container {name:?}: make its state directory private: {e}");
        }
        let target = ExecTarget {
            name: name.clone(),
            id: cfg.id.clone(),
            paths: paths.clone(),
            cgroups_path,
            process_template,
        };
        let pid = match inner.pid() {
            Some(p) => p,
            None => {
                let mut c = Container {
                    target,
                    pid: Pid::from_raw(0),
                    inner,
                    exit: Some(ExitStatus {
                        code: -1,
                        signal: None,
                        oom_killed: false,
                    }),
                    pty_master: None,
                    lc_delete,
                };
                let _ = c.cleanup_after_failure();
                return Err(ContainerError::NoPid { name });
            }
        };
        let mut c = Container {
            target,
            pid,
            inner,
            exit: None,
            pty_master: None,
            lc_delete,
        };
        if let Some(console) = console {
            match console.receive_master() {
                Ok(fd) => c.pty_master = Some(fd),
                Err(source) => {
                    let _ = c.cleanup_after_failure();
                    return Err(ContainerError::CreateIo {
                        name,
                        step: "receive pty master".into(),
                        source,
                    });
                }
            }
        }
        // Hybrid host: also put the (not yet exec'd) init into the v2 tree, so the pod's
        // cgroup.kill reaches it and everything it forks.
        let joined = cgroup::join_hybrid_unified(c.cgroups_path(), pid.as_raw());
        warmup.finish();
        if let Err(source) = joined {
            let _ = c.cleanup_after_failure();
            return Err(ContainerError::Cgroup {
                op: "create",
                name,
                source,
            });
        }
        Ok(c)
    }

    /// Deletes a container from what is left on disk, for `delete`/`gc` after the supervisor
    /// died: kills its processes (they are no longer our children: nothing to reap), removes
    /// its cgroup, libcontainer state and bundle. A container already gone is not an error.
    pub fn delete_from_disk(paths: &ContainerPaths, id: &str, name: &str) -> Result<()> {
        let state_dir = paths.state_root.join(id);
        if state_dir.exists() {
            let mut inner =
                LcContainer::load(state_dir.clone()).map_err(|source| ContainerError::Delete {
                    name: name.to_string(),
                    source,
                })?;
            let cgroups_path = inner
                .spec()
                .ok()
                .map(|c| c.cgroup_path.to_string_lossy().into_owned());
            if inner.pid().is_some() && inner.status() != ContainerStatus::Stopped {
                let _ = inner.kill(LcSignal::from(Signal::SIGKILL), true);
            }
            if let Err(source) = inner.delete(true) {
                if state_dir.exists() {
                    return Err(ContainerError::Delete {
                        name: name.to_string(),
                        source,
                    });
                }
            }
            if let Some(cg) = cgroups_path {
                cgroup::remove_hybrid_unified(&cg, DELETE_TIMEOUT).map_err(|source| {
                    ContainerError::Cgroup {
                        op: "delete",
                        name: name.to_string(),
                        source,
                    }
                })?;
            }
        }
        remove_paths(paths).map_err(|(path, source)| ContainerError::DeleteIo {
            name: name.to_string(),
            path,
            source,
        })
    }

    /// The ids of the containers whose libcontainer state is left under `paths`.
    pub fn ids_on_disk(paths: &ContainerPaths) -> Vec<String> {
        fs::read_dir(&paths.state_root)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().join("state.json").exists())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn cleanup_after_failure(&mut self) -> Result<()> {
        let name = self.target.name.clone();
        let r = self.delete_ref();
        if let Err(e) = &r {
            log::warn!("cleanup of container {name:?} after a failed create: {e}");
        }
        r
    }

    pub fn name(&self) -> &str {
        &self.target.name
    }

    pub fn id(&self) -> &str {
        &self.target.id
    }

    /// The container's init process, a direct child of the caller.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// The pty master of a container whose spec asked for a terminal (`tty: true`): read the
    /// container's output from it, write its input to it. Taken once.
    pub fn take_pty_master(&mut self) -> Option<OwnedFd> {
        self.pty_master.take()
    }

    /// The absolute cgroup path (`/minipod/<uid>/<id>`).
    pub fn cgroups_path(&self) -> &str {
        &self.target.cgroups_path
    }

    /// A pidfd for the init process (readable when it exits), for a poll-based event loop.
    pub fn pidfd(&self) -> io::Result<OwnedFd> {
        pidfd_open(self.pid.as_raw())
    }

    /// Lets the created process exec its entrypoint.
    pub fn start(&mut self) -> Result<()> {
        self.inner.start().map_err(|source| ContainerError::Start {
            name: self.target.name.clone(),
            source,
        })
    }

    /// Sends `signal` to the init process, or with `all` to every process of the container's
    /// cgroup. A process that is already gone is not an error.
    pub fn signal(&mut self, signal: Signal, all: bool) -> Result<()> {
        if self.exit.is_some() && !all {
            return Ok(());
        }
        if all {
            // libcontainer freezes, signals every pid of the cgroup, thaws.
            return self
                .inner
                .kill(LcSignal::from(signal), true)
                .map_err(|source| ContainerError::SignalAll {
                    name: self.target.name.clone(),
                    signal,
                    source,
                });
        }
        match nix::sys::signal::kill(self.pid, signal) {
            Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
            Err(source) => Err(ContainerError::Signal {
                name: self.target.name.clone(),
                signal,
                source,
            }),
        }
    }

    /// The exit status if the process has exited (reaps it), without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.wait_flags(Some(WaitPidFlag::WNOHANG))
    }

    /// Blocks until the process exits; returns its status (cached after the first call).
    pub fn wait(&mut self) -> Result<ExitStatus> {
        loop {
            if let Some(s) = self.wait_flags(None)? {
                return Ok(s);
            }
        }
    }

    /// The exit status, once collected by [`Container::wait`] or [`Container::try_wait`].
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.exit
    }

    fn wait_flags(&mut self, flags: Option<WaitPidFlag>) -> Result<Option<ExitStatus>> {
        if let Some(s) = self.exit {
            return Ok(Some(s));
        }
        let ws = match waitpid(self.pid, flags) {
            Ok(ws) => ws,
            Err(nix::Error::EINTR) => return Ok(None),
            Err(source) => {
                return Err(ContainerError::Wait {
                    name: self.target.name.clone(),
                    pid: self.pid.as_raw(),
                    source,
                })
            }
        };
        let Some((code, signal)) = ExitStatus::from_wait(ws) else {
            return Ok(None);
        };
        // Read before delete removes the cgroup.
        let oom_killed = cgroup::oom_killed(&self.target.cgroups_path);
        let s = ExitStatus {
            code,
            signal,
            oom_killed,
        };
        self.exit = Some(s);
        Ok(Some(s))
    }

    /// Kills whatever is left (SIGKILL to the whole cgroup), reaps the init process, and
    /// removes the cgroup, libcontainer state and bundle. Returns the exit status.
    pub fn delete(mut self) -> Result<ExitStatus> {
        self.delete_ref()?;
        Ok(self.exit.unwrap_or(ExitStatus {
            code: 128 + libc::SIGKILL,
            signal: Some(libc::SIGKILL),
            oom_killed: false,
        }))
    }

    fn delete_ref(&mut self) -> Result<()> {
        if self.exit.is_none() && self.pid.as_raw() > 0 {
            // Whole-cgroup kill only while the cgroup exists: libcontainer's v1 freezer would
            // otherwise re-create it (and the pod directory above it) after a pod teardown.
            if cgroup::any_exists(&self.target.cgroups_path) {
                let _ = self.inner.kill(LcSignal::from(Signal::SIGKILL), true);
            }
            let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
            self.wait()?;
        }
        if self.exit.is_some() && !self.lc_delete {
            // The init is reaped: do what libcontainer's delete would do, without its cost
            // (to find the cgroup directories it re-reads /proc/self/mountinfo and
            // /proc/self/cgroup once per v1 controller, each through a fresh procfs handle).
            // Cgroups first, in every hierarchy with stragglers killed, then the state
            // directory, so that a failure leaves the state for a later delete or gc.
            cgroup::remove_container(&self.target.cgroups_path, DELETE_TIMEOUT).map_err(
                |source| ContainerError::Cgroup {
                    op: "delete",
                    name: self.target.name.clone(),
                    source,
                },
            )?;
            match fs::remove_dir_all(&self.inner.root) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(ContainerError::DeleteIo {
                        name: self.target.name.clone(),
                        path: self.inner.root.clone(),
                        source,
                    })
                }
            }
        } else {
            if let Err(source) = self.inner.delete(true) {
                // State already gone (a second delete) is fine; anything else is reported
                // after the rest of the cleanup.
                if self.inner.root.exists() {
                    return Err(ContainerError::Delete {
                        name: self.target.name.clone(),
                        source,
                    });
                }
            }
            cgroup::remove_hybrid_unified(&self.target.cgroups_path, DELETE_TIMEOUT).map_err(
                |source| ContainerError::Cgroup {
                    op: "delete",
                    name: self.target.name.clone(),
                    source,
                },
            )?;
        }
        remove_paths(&self.target.paths).map_err(|(path, source)| ContainerError::DeleteIo {
            name: self.target.name.clone(),
            path,
            source,
        })?;
        Ok(())
    }

    /// Runs another process inside the running container (hooks, probes): see
    /// [`ExecTarget::exec`].
    pub fn exec(&self, process: &ProcessConfig, stdio: ContainerStdio) -> Result<ExecProcess> {
        self.target.exec(process, stdio)
    }

    /// What another process needs to exec into this container; the same as
    /// [`ExecTarget::load`] gives from disk.
    pub fn exec_target(&self) -> &ExecTarget {
        &self.target
    }
}

/// Numbers the execs of this process, for file names in the bundle that no other process
/// (the supervisor, a `minipod exec`) uses at the same time.
static EXECS: AtomicU32 = AtomicU32::new(0);

/// A running container as seen by a process that wants to run another process in it: the
/// supervisor that created it (hooks, probes), or any other process that loads it from disk
/// (`minipod exec`). One exec implementation for both.
#[derive(Debug, Clone)]
pub struct ExecTarget {
    name: String,
    id: String,
    paths: ContainerPaths,
    /// The absolute cgroup path (`/minipod/<uid>/<id>`).
    cgroups_path: String,
    /// The spec's process: the template of every exec (user, capabilities, env, rlimits).
    process_template: oci_spec::runtime::Process,
}

impl ExecTarget {
    /// Loads container `id` (named `name` in its pod) from its bundle's `config.json` (the
    /// process template, `linux.cgroupsPath`) and its libcontainer state, which must say it
    /// is running.
    pub fn load(name: &str, id: &str, paths: &ContainerPaths) -> Result<ExecTarget> {
        let not_running = || ContainerError::NotRunning {
            name: name.to_string(),
            id: id.to_string(),
        };
        let state_dir = paths.state_root.join(id);
        if !state_dir.join("state.json").exists() {
            return Err(not_running());
        }
        let state = LcContainer::load(state_dir).map_err(|source| ContainerError::ReadState {
            id: id.to_string(),
            source,
        })?;
        if state.status() != ContainerStatus::Running {
            return Err(not_running());
        }
        let config_json = paths.bundle.join("config.json");
        let spec = Spec::load(&config_json).map_err(|source| ContainerError::ReadBundle {
            name: name.to_string(),
            path: config_json.clone(),
            source,
        })?;
        let incomplete = |field| ContainerError::IncompleteBundle {
            name: name.to_string(),
            path: config_json.clone(),
            field,
        };
        let process_template = spec
            .process()
            .clone()
            .ok_or_else(|| incomplete("process"))?;
        let cgroups_path = spec
            .linux()
            .as_ref()
            .and_then(|l| l.cgroups_path().as_ref())
            .map(|p| p.to_string_lossy().into_owned())
            .ok_or_else(|| incomplete("linux.cgroupsPath"))?;
        Ok(ExecTarget {
            name: name.to_string(),
            id: id.to_string(),
            paths: paths.clone(),
            cgroups_path,
            process_template,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs another process inside the running container (hooks, probes, `minipod exec`):
    /// same namespaces, cgroup, user, capabilities, rlimits and no_new_privs as the
    /// container's own process, with `process`' args, its env when not empty (else the
    /// container's), its cwd when set, and a pty when `process.tty` (take it with
    /// [`ExecProcess::take_pty_master`]; `stdio` is then unused). The process is a direct child
    /// of the caller, which must be single-threaded (see the module's rules).
    pub fn exec(&self, process: &ProcessConfig, stdio: ContainerStdio) -> Result<ExecProcess> {
        let name = self.name.clone();
        let io_err = |step: &'static str| {
            let name = name.clone();
            move |source| ContainerError::ExecIo { name, step, source }
        };
        let mut p = self.process_template.clone();
        p.set_args(Some(process.args.clone()));
        if !process.env.is_empty() {
            p.set_env(Some(
                process
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ));
        }
        if let Some(cwd) = &process.cwd {
            p.set_cwd(cwd.clone());
        }
        p.set_terminal(Some(process.tty));
        p.set_console_size(process.console_size.filter(|_| process.tty).map(Into::into));
        // The supervisor and any number of `minipod exec` processes exec into the same
        // container: names carry the pid as well as this process's count.
        let n = EXECS.fetch_add(1, Ordering::Relaxed) + 1;
        let stem = format!("exec-{}-{n}", std::process::id());
        let process_json = self.paths.bundle.join(format!("{stem}.json"));
        let json = serde_json::to_vec(&p).map_err(|e| io_err("write process.json")(e.into()))?;
        // 0600: the exec'd process's environment may hold secrets.
        crate::private::write_file(&process_json, &json).map_err(io_err("write process.json"))?;
        let console = if process.tty {
            match ConsoleSocket::bind(&self.paths.bundle, &format!("{stem}.sock")) {
                Ok(c) => Some(c),
                Err(e) => {
                    let _ = fs::remove_file(&process_json);
                    return Err(io_err("bind console socket")(e));
                }
            }
        } else {
            None
        };
        // As for a create: the intermediate's cgroup joins and ours below find the attach
        // lock warm.
        let warmup = cgroup::AttachLockWarmup::start();
        let built = ContainerBuilder::new(self.id.clone(), SyscallType::Linux)
            .with_root_path(&self.paths.state_root)
            .map(|b| {
                b.with_console_socket(console.as_ref().map(|c| c.connect_path.clone()))
                    .with_executor(ConsoleSizeExecutor)
                    .with_stdin(stdio.stdin)
                    .with_stdout(stdio.stdout)
                    .with_stderr(stdio.stderr)
                    .as_tenant()
                    .with_process(Some(&process_json))
                    .with_detach(true)
            })
            .and_then(|b| b.build());
        let _ = fs::remove_file(&process_json);
        let pid = built.map_err(|source| ContainerError::Exec {
            name: name.clone(),
            source,
        })?;
        // Hybrid host: follow the container into the v2 tree, as for its init.
        if let Err(e) = cgroup::join_hybrid_unified(&self.cgroups_path, pid.as_raw()) {
            log::warn!("exec in container {name:?}: {e}");
        }
        warmup.finish();
        let pty_master = match console.map(ConsoleSocket::receive_master) {
            Some(Ok(fd)) => Some(fd),
            Some(Err(e)) => {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                return Err(io_err("receive pty master")(e));
            }
            None => None,
        };
        Ok(ExecProcess {
            container: name,
            pid,
            exit: None,
            pty_master,
        })
    }
}

/// The listening end of libcontainer's console socket, bound inside the bundle directory.
struct ConsoleSocket {
    listener: std::os::unix::net::UnixListener,
    /// Kept open: `connect_path` goes through it.
    _dir: OwnedFd,
    connect_path: PathBuf,
    file: PathBuf,
}

impl ConsoleSocket {
    fn bind(dir: &Path, file_name: &str) -> io::Result<ConsoleSocket> {
        // Bound through /proc/self/fd/N so a long bundle path never hits the 108-byte limit
        // of a socket address.
        let d = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(dir)?;
        let dirfd: OwnedFd = d.into();
        use std::os::fd::AsRawFd;
        let connect_path =
            PathBuf::from(format!("/proc/self/fd/{}/{file_name}", dirfd.as_raw_fd()));
        let file = dir.join(file_name);
        let _ = fs::remove_file(&file);
        let listener = std::os::unix::net::UnixListener::bind(&connect_path)?;
        Ok(ConsoleSocket {
            listener,
            _dir: dirfd,
            connect_path,
            file,
        })
    }

    /// libcontainer connected while creating the container; the init sent the master.
    fn receive_master(self) -> io::Result<OwnedFd> {
        use std::os::fd::AsRawFd;
        self.listener.set_nonblocking(true)?;
        let (conn, _) = self.listener.accept()?;
        let mut buf = [0u8; 4096];
        let mut iov = [io::IoSliceMut::new(&mut buf)];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
                if let Some(&fd) = fds.first() {
                    // SAFETY: the kernel just installed this fd for us.
                    return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        Err(io::Error::other("no pty master received"))
    }
}

impl Drop for ConsoleSocket {
    /// The socket file goes whether the master came or not: nothing connects to it twice.
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.file);
    }
}

fn linux_has_intel_rdt(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .is_some_and(|l| l.intel_rdt().is_some())
}

/// Removes the bundle's `config.json` and console socket, and the bundle and state
/// directories when they are empty and not the container directory that
/// [`ContainerPaths::in_pod_run_dir`] keeps across attempts.
fn remove_paths(paths: &ContainerPaths) -> std::result::Result<(), (PathBuf, io::Error)> {
    let mut todo = vec![
        paths.bundle.join("config.json"),
        paths.bundle.join(CONSOLE_SOCKET),
    ];
    if paths.bundle != paths.state_root {
        todo.push(paths.bundle.clone());
        todo.push(paths.state_root.clone());
    }
    for path in todo {
        let r = if path.is_dir() {
            fs::remove_dir(&path)
        } else {
            fs::remove_file(&path)
        };
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {}
            Err(e) => return Err((path, e)),
        }
    }
    Ok(())
}

/// A process started with [`Container::exec`].
#[derive(Debug)]
pub struct ExecProcess {
    container: String,
    pid: Pid,
    exit: Option<ExitStatus>,
    pty_master: Option<OwnedFd>,
}

impl ExecProcess {
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// The pty master when the exec asked for a tty. Taken once.
    pub fn take_pty_master(&mut self) -> Option<OwnedFd> {
        self.pty_master.take()
    }

    pub fn pidfd(&self) -> io::Result<OwnedFd> {
        pidfd_open(self.pid.as_raw())
    }

    pub fn kill(&self, signal: Signal) -> Result<()> {
        if self.exit.is_some() {
            return Ok(());
        }
        match nix::sys::signal::kill(self.pid, signal) {
            Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
            Err(source) => Err(ContainerError::Signal {
                name: self.container.clone(),
                signal,
                source,
            }),
        }
    }

    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.wait_flags(Some(WaitPidFlag::WNOHANG))
    }

    pub fn wait(&mut self) -> Result<ExitStatus> {
        loop {
            if let Some(s) = self.wait_flags(None)? {
                return Ok(s);
            }
        }
    }

    fn wait_flags(&mut self, flags: Option<WaitPidFlag>) -> Result<Option<ExitStatus>> {
        if let Some(s) = self.exit {
            return Ok(Some(s));
        }
        match waitpid(self.pid, flags) {
            Ok(ws) => Ok(ExitStatus::from_wait(ws).map(|(code, signal)| {
                let s = ExitStatus {
                    code,
                    signal,
                    oom_killed: false,
                };
                self.exit = Some(s);
                s
            })),
            Err(nix::Error::EINTR) => Ok(None),
            Err(source) => Err(ContainerError::Wait {
                name: self.container.clone(),
                pid: self.pid.as_raw(),
                source,
            }),
        }
    }
}

/// `pidfd_open(2)`: the fd is close-on-exec by definition.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_without_state_on_disk_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ContainerPaths::in_pod_run_dir(dir.path(), "app");
        let err = ExecTarget::load("app", "u1-app-0", &paths).unwrap_err();
        assert!(
            matches!(&err, ContainerError::NotRunning { name, id } if name == "app" && id == "u1-app-0"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "container \"app\" (u1-app-0) is not running"
        );
    }
}
