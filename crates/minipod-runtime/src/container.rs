//! One container attempt through youki's `libcontainer`: create, start, signal, wait, delete,
//! and exec into it.
//!
//! Rules this module keeps (see docs/runtime.md):
//! - Call it from a single-threaded process: libcontainer clones and runs Rust code in the
//!   child, and a second thread holding the allocator lock would deadlock that child.
//! - The spec always has an absolute `linux.cgroupsPath` and the root filesystem of the
//!   [`ContainerConfig`](crate::config::ContainerConfig); stdin, stdout and stderr are always
//!   passed explicitly.
//! - The container process is a direct child of the caller (libcontainer clones it with
//!   `CLONE_PARENT`), so its exit status comes from `waitpid` on its pid, never `waitpid(-1)`.
//!   Create and exec also fork a short-lived helper
//!   ([`AttachLockWarmup`](crate::cgroup::AttachLockWarmup)) that they kill and reap by pid
//!   before they return.
//! - libcontainer logs through `tracing`; with no subscriber installed nothing is printed, so
//!   nothing of the runtime ends up on the container's stderr. Do not install a tracing
//!   subscriber that writes to fd 2 in a process that creates containers.
//!
//! One file per concern, as youki keeps one per container verb: `lifecycle` (create, start,
//! signal, wait, delete), `stdio` (the fds that become the container's 0, 1, 2), `exec`
//! (another process in a running container), `console` (the pty master a `tty: true` process
//! sends back), and `reap` (the one child-reaper: signal, wait and exit status of a process
//! this process created, for a container's init and an exec alike).

use std::io;
use std::path::{Path, PathBuf};

use libcontainer::error::LibcontainerError;
use nix::sys::signal::Signal;

use crate::cgroup::CgroupError;

mod console;
mod exec;
mod lifecycle;
mod reap;
mod stdio;

pub use exec::{ExecProcess, ExecTarget};
pub use lifecycle::Container;
pub use reap::pidfd_open;
pub use stdio::{ContainerStdio, StdioPipes};

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

pub(crate) type Result<T> = std::result::Result<T, ContainerError>;

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

/// Where a container's bundle (`config.json`) and libcontainer state live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPaths {
    /// Directory holding `config.json`.
    pub bundle: PathBuf,
    /// libcontainer's root; the state of a container is `<state_root>/<id>/`.
    pub state_root: PathBuf,
}

impl ContainerPaths {
    /// Both in `<run>/pods/<uid>/containers/<name>/` (docs/runtime.md): `config.json` and
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
