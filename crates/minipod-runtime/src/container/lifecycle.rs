//! A container's lifecycle through libcontainer: create (bundle, namespaces, mounts, cgroup),
//! start, signal, wait, and delete (cgroup, state and bundle), also from what is left on disk
//! after the supervisor died.

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Duration;

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container as LcContainer, ContainerStatus};
use libcontainer::signal::Signal as LcSignal;
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::Spec;

use super::console::{ConsoleSocket, CONSOLE_SOCKET};
use super::exec::{ExecProcess, ExecTarget};
use super::reap::Child;
use super::stdio::ContainerStdio;
use super::{ContainerError, ContainerPaths, ExitStatus, Result};
use crate::cgroup;
use crate::config::{ContainerConfig, ProcessConfig};
use crate::terminal::ConsoleSizeExecutor;

/// How long delete waits for a killed container's cgroup to empty.
const DELETE_TIMEOUT: Duration = Duration::from_secs(5);
/// A created (and possibly started) container. Dropping it does not delete it: call
/// [`Container::delete`].
#[derive(Debug)]
pub struct Container {
    /// Name, id, paths, cgroup and process template: all an exec needs.
    target: ExecTarget,
    /// The init process: a direct child of the caller.
    child: Child,
    inner: LcContainer,
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
                    child: Child::exited(
                        name.clone(),
                        Pid::from_raw(0),
                        ExitStatus {
                            code: -1,
                            signal: None,
                            oom_killed: false,
                        },
                    ),
                    inner,
                    pty_master: None,
                    lc_delete,
                };
                let _ = c.cleanup_after_failure();
                return Err(ContainerError::NoPid { name });
            }
        };
        let mut c = Container {
            target,
            child: Child::new(name.clone(), pid),
            inner,
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
        self.child.pid().as_raw()
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
        self.child.pidfd()
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
        self.child.signal(signal)
    }

    /// The exit status if the process has exited (reaps it), without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        // Read before delete removes the cgroup.
        let cgroups_path = &self.target.cgroups_path;
        self.child.try_wait(&|| cgroup::oom_killed(cgroups_path))
    }

    /// Blocks until the process exits; returns its status (cached after the first call).
    pub fn wait(&mut self) -> Result<ExitStatus> {
        let cgroups_path = &self.target.cgroups_path;
        self.child.wait(&|| cgroup::oom_killed(cgroups_path))
    }

    /// The exit status, once collected by [`Container::wait`] or [`Container::try_wait`].
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.child.exit()
    }

    /// Kills whatever is left (SIGKILL to the whole cgroup), reaps the init process, and
    /// removes the cgroup, libcontainer state and bundle. Returns the exit status.
    pub fn delete(mut self) -> Result<ExitStatus> {
        self.delete_ref()?;
        Ok(self.child.exit().unwrap_or(ExitStatus {
            code: 128 + libc::SIGKILL,
            signal: Some(libc::SIGKILL),
            oom_killed: false,
        }))
    }

    fn delete_ref(&mut self) -> Result<()> {
        if self.child.exit().is_none() && self.child.pid().as_raw() > 0 {
            // Whole-cgroup kill only while the cgroup exists: libcontainer's v1 freezer would
            // otherwise re-create it (and the pod directory above it) after a pod teardown.
            if cgroup::any_exists(&self.target.cgroups_path) {
                let _ = self.inner.kill(LcSignal::from(Signal::SIGKILL), true);
            }
            let _ = self.child.signal(Signal::SIGKILL);
            self.wait()?;
        }
        if self.child.exit().is_some() && !self.lc_delete {
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
