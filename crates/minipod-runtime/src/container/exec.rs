//! Another process in a running container (postStart/preStop hooks, exec probes, `minipod
//! exec`): libcontainer's tenant builder with the container's own process as the template.

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, Ordering};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container as LcContainer, ContainerStatus};
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::signal::Signal;
use oci_spec::runtime::Spec;

use super::console::ConsoleSocket;
use super::reap::Child;
use super::stdio::ContainerStdio;
use super::{ContainerError, ContainerPaths, ExitStatus, Result};
use crate::cgroup;
use crate::config::ProcessConfig;
use crate::terminal::ConsoleSizeExecutor;

/// Numbers the execs of this process, for file names in the bundle that no other process
/// (the supervisor, a `minipod exec`) uses at the same time.
static EXECS: AtomicU32 = AtomicU32::new(0);

/// A running container as seen by a process that wants to run another process in it: the
/// supervisor that created it (hooks, probes), or any other process that loads it from disk
/// (`minipod exec`). One exec implementation for both.
#[derive(Debug, Clone)]
pub struct ExecTarget {
    pub(super) name: String,
    pub(super) id: String,
    pub(super) paths: ContainerPaths,
    /// The absolute cgroup path (`/minipod/<uid>/<id>`).
    pub(super) cgroups_path: String,
    /// The spec's process: the template of every exec (user, capabilities, env, rlimits).
    pub(super) process_template: oci_spec::runtime::Process,
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
        let mut child = Child::new(name.clone(), pid);
        let pty_master = match console.map(ConsoleSocket::receive_master) {
            Some(Ok(fd)) => Some(fd),
            Some(Err(e)) => {
                let _ = child.signal(Signal::SIGKILL);
                let _ = child.wait(&|| false);
                return Err(io_err("receive pty master")(e));
            }
            None => None,
        };
        Ok(ExecProcess { child, pty_master })
    }
}
/// A process started with [`Container::exec`](super::Container::exec).
#[derive(Debug)]
pub struct ExecProcess {
    child: Child,
    pty_master: Option<OwnedFd>,
}

impl ExecProcess {
    pub fn pid(&self) -> i32 {
        self.child.pid().as_raw()
    }

    /// The pty master when the exec asked for a tty. Taken once.
    pub fn take_pty_master(&mut self) -> Option<OwnedFd> {
        self.pty_master.take()
    }

    pub fn pidfd(&self) -> io::Result<OwnedFd> {
        self.child.pidfd()
    }

    pub fn kill(&self, signal: Signal) -> Result<()> {
        self.child.signal(signal)
    }

    /// An exec has no cgroup of its own: `oom_killed` is always false.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait(&|| false)
    }

    pub fn wait(&mut self) -> Result<ExitStatus> {
        self.child.wait(&|| false)
    }
}
