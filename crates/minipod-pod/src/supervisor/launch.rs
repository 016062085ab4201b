//! Starting a pod's supervisor and finding it again: the files in the pod directory that
//! link the CLI verbs to the supervisor process.
//!
//! - `plan.json` (0600: it holds resolved ConfigMap and Secret values): the pod's
//!   [`PodPlan`], built once when the pod was accepted. The supervisor loads it at start
//!   and nothing derives it again.
//!   `delete -f` reads the file it came from and the workload controllers their pods'
//!   identities (`controller.index`, `controller.attempt`) from it too.
//! - `supervisor.lock`: held (flock) by the live supervisor for its whole life, with its pid
//!   inside. A lock that can be taken means no supervisor runs, whatever the pid file says.
//! - `supervisor.log`: the supervisor's stderr.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use minipod_manifest::PodPlan;

use crate::store::{write_json_atomic, StoreError};

pub const PLAN_FILE: &str = "plan.json";
/// A workload controller's record of its input (see [`PodSource`]).
pub const SOURCE_FILE: &str = "source.json";
pub const LOCK_FILE: &str = "supervisor.lock";
pub const LOG_FILE: &str = "supervisor.log";
/// How long a supervisor retries a busy lock before concluding another one holds it.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// One input document stream, as given to `minipod run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInput {
    pub name: String,
    pub text: String,
}

/// What a workload controller makes its pods from: the input as accepted, and the seed of
/// its generated names and uids (manifest LoadOptions). Kept in the controller's
/// `source.json` (`<root>/workloads/<uid>/`), never in a pod's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSource {
    pub seed: u64,
    pub inputs: Vec<SourceInput>,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a valid pod plan")]
    Decode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("lock {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("a supervisor already runs for this pod (pid {pid})")]
    AlreadySupervised { pid: i32 },
    #[error("the pod's supervisor did not start ({status}); see {log}")]
    EndedAtStart { status: String, log: PathBuf },
    #[error("start the supervisor {exe}")]
    Spawn {
        exe: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Stores the pod's plan (0600, atomically).
pub fn save_plan(pod_dir: &Path, plan: &PodPlan) -> Result<(), LaunchError> {
    Ok(write_json_atomic(&pod_dir.join(PLAN_FILE), plan)?)
}

/// The plan stored when the pod was accepted.
pub fn load_plan(pod_dir: &Path) -> Result<PodPlan, LaunchError> {
    let path = pod_dir.join(PLAN_FILE);
    let bytes = fs::read(&path).map_err(|source| LaunchError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| LaunchError::Decode { path, source })
}

/// The live supervisor's claim on its pod; released when dropped (or when it dies).
pub struct SupervisorLock {
    _lock: Flock<File>,
}

fn open_lock(pod_dir: &Path) -> Result<File, LaunchError> {
    let path = pod_dir.join(LOCK_FILE);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|source| LaunchError::Lock { path, source })
}

fn read_pid(file: &mut File) -> Option<i32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl SupervisorLock {
    /// Taken by the supervisor at start; refuses when another supervisor holds it.
    pub fn acquire(pod_dir: &Path) -> Result<SupervisorLock, LaunchError> {
        let mut file = open_lock(pod_dir)?;
        // `running_supervisor` probes with a shared lock for a moment (spawn_supervisor polls
        // it while this process starts): a busy lock is retried for a while, as only a live
        // supervisor holds it for long.
        let deadline = std::time::Instant::now() + LOCK_RETRY;
        let mut lock = loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => break lock,
                Err((f, _)) if std::time::Instant::now() < deadline => {
                    file = f;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err((mut f, _)) => {
                    return Err(LaunchError::AlreadySupervised {
                        pid: read_pid(&mut f).unwrap_or(0),
                    })
                }
            }
        };
        let path = pod_dir.join(LOCK_FILE);
        let write = |f: &mut File| -> io::Result<()> {
            f.set_len(0)?;
            f.write_all(std::process::id().to_string().as_bytes())?;
            f.sync_all()
        };
        write(&mut lock).map_err(|source| LaunchError::Lock { path, source })?;
        Ok(SupervisorLock { _lock: lock })
    }
}

/// The pid of the live supervisor of this pod, if one runs.
pub fn running_supervisor(pod_dir: &Path) -> Option<i32> {
    let file = open_lock(pod_dir).ok()?;
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        // We could take it: nobody holds it. Dropping releases it again.
        Ok(_) => None,
        Err((mut file, _)) => Some(read_pid(&mut file).unwrap_or(0)),
    }
}

/// Starts `exe --root ROOT __supervise UID` detached: stdin from /dev/null, output to the
/// pod's supervisor.log. The supervisor makes itself a session leader, so a Ctrl-C meant
/// for the terminal reaches it only through `minipod run`'s own handling.
pub fn spawn_supervisor(
    exe: &Path,
    root: &Path,
    uid: &str,
    pod_dir: &Path,
) -> Result<u32, LaunchError> {
    spawn_locked(exe, root, &["__supervise", uid], pod_dir)
}

/// Starts `exe --root ROOT ARGS...` detached with its output in `dir`'s supervisor.log, and
/// returns once it holds `dir`'s lock (see [`SupervisorLock`]): the pattern of every
/// long-lived minipod process (pod supervisors, workload controllers).
pub fn spawn_locked(
    exe: &Path,
    root: &Path,
    args: &[&str],
    pod_dir: &Path,
) -> Result<u32, LaunchError> {
    let log_path = pod_dir.join(LOG_FILE);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|source| LaunchError::Read {
            path: log_path.clone(),
            source,
        })?;
    let log2 = log.try_clone().map_err(|source| LaunchError::Read {
        path: log_path,
        source,
    })?;
    let mut child = Command::new(exe)
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|source| LaunchError::Spawn {
            exe: exe.to_owned(),
            source,
        })?;
    // Return once the supervisor holds its lock, so that callers can tell "not started yet"
    // from "ended". It is not waited for afterwards: it outlives this command.
    let deadline = std::time::Instant::now() + SUPERVISOR_START_TIMEOUT;
    loop {
        if running_supervisor(pod_dir).is_some() {
            return Ok(child.id());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(LaunchError::EndedAtStart {
                status: status.to_string(),
                log: pod_dir.join(LOG_FILE),
            });
        }
        if std::time::Instant::now() >= deadline {
            return Err(LaunchError::EndedAtStart {
                status: "no sign of life".into(),
                log: pod_dir.join(LOG_FILE),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// How long a new supervisor may take to take its lock.
const SUPERVISOR_START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_tells_whether_a_supervisor_lives() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(running_supervisor(dir.path()), None);
        let lock = SupervisorLock::acquire(dir.path()).unwrap();
        assert_eq!(
            running_supervisor(dir.path()),
            Some(std::process::id() as i32)
        );
        assert!(matches!(
            SupervisorLock::acquire(dir.path()),
            Err(LaunchError::AlreadySupervised { .. })
        ));
        drop(lock);
        assert_eq!(running_supervisor(dir.path()), None);
    }

    /// Regression: a start raced the launcher's probe (a shared lock held for a moment)
    /// and the new supervisor gave up with "already supervised".
    #[test]
    fn a_probe_holding_the_lock_for_a_moment_does_not_stop_a_supervisor() {
        let dir = tempfile::tempdir().unwrap();
        let probe = Flock::lock(open_lock(dir.path()).unwrap(), FlockArg::LockSharedNonblock)
            .map_err(|(_, e)| e)
            .unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(probe);
        });
        assert!(SupervisorLock::acquire(dir.path()).is_ok());
        release.join().unwrap();
    }

    #[test]
    fn plan_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let plan = crate::testutil::pod(crate::testutil::with_inits());
        save_plan(dir.path(), &plan).unwrap();
        assert_eq!(load_plan(dir.path()).unwrap(), plan);
    }
}
