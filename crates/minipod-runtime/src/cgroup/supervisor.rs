//! The supervisor's own cgroup (`minipod.supervisors/<uid>`, in every hierarchy): entered when
//! a pod's supervisor starts, left and removed when it ends, or removed for it by `delete`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    check_rel_path, hierarchy_mounts, read_file, remove_tree, write_file, CgroupError, Result,
};

/// The parent of the supervisors' cgroups. A sibling of `minipod/`, not a child: the pod
/// cgroup's `cgroup.kill` must not reach the supervisor, and children of `minipod/` are pods.
pub const SUPERVISORS: &str = "minipod.supervisors";

/// The cgroup of pod `uid`'s supervisor, relative to every hierarchy's root.
pub fn supervisor_rel(uid: &str) -> Result<PathBuf> {
    if uid.is_empty() || uid.contains('/') || uid.starts_with('.') {
        return Err(CgroupError::InvalidPath(format!("{SUPERVISORS}/{uid}")));
    }
    check_rel_path(&format!("{SUPERVISORS}/{uid}"))
}

/// A v1 cpuset directory starts with empty `cpus`/`mems` and refuses tasks: copies them
/// from its parent (a no-op outside the cpuset hierarchy).
fn inherit_cpuset(dir: &Path) -> Result<()> {
    if !dir.join("cpuset.cpus").exists() {
        return Ok(());
    }
    for f in ["cpuset.cpus", "cpuset.mems"] {
        if read_file(&dir.join(f))?.trim().is_empty() {
            let parent = dir.parent().unwrap_or(dir).join(f);
            write_file(&dir.join(f), read_file(&parent)?.trim())?;
        }
    }
    Ok(())
}

/// The cgroup a pod's supervisor moves itself into, in every mounted hierarchy, so that it
/// no longer belongs to the session of the user who started the pod (a logout with systemd's
/// `KillUserProcesses=yes` kills a session's cgroup) — as podman's conmon leaves it for a
/// scope of its own. The processes it starts inherit it where nothing moves them further.
#[derive(Debug)]
pub struct SupervisorCgroup {
    /// `(hierarchy mount, cgroup directory)` for every hierarchy joined.
    joined: Vec<(PathBuf, PathBuf)>,
}

impl SupervisorCgroup {
    /// Creates `minipod.supervisors/<uid>` in every hierarchy and moves the calling process
    /// into it. A hierarchy that refuses stops with an error (what was joined is left again).
    pub fn enter(uid: &str) -> Result<SupervisorCgroup> {
        let rel = supervisor_rel(uid)?;
        let text = fs::read_to_string("/proc/self/mountinfo").map_err(CgroupError::Detect)?;
        let mounts = hierarchy_mounts(&text);
        if mounts.is_empty() {
            return Err(CgroupError::NoCgroupFs);
        }
        let mut cg = SupervisorCgroup { joined: Vec::new() };
        let pid = std::process::id().to_string();
        for mount in mounts {
            let dir = mount.join(&rel);
            let joined = fs::create_dir_all(&dir)
                .map_err(|source| CgroupError::Create {
                    path: dir.clone(),
                    source,
                })
                .and_then(|()| inherit_cpuset(&mount.join(SUPERVISORS)))
                .and_then(|()| inherit_cpuset(&dir))
                .and_then(|()| write_file(&dir.join("cgroup.procs"), &pid));
            // Recorded before the error check: a directory made but not joined is removed too.
            cg.joined.push((mount, dir));
            if let Err(e) = joined {
                let _ = cg.leave(Duration::from_millis(200));
                return Err(e);
            }
        }
        Ok(cg)
    }

    /// Moves the calling process back to each hierarchy's root cgroup (a process cannot
    /// leave its own cgroup for nothing, and a cgroup with a process in it cannot be removed)
    /// and removes the supervisor's cgroup, and the shared parent once empty.
    pub fn leave(mut self, timeout: Duration) -> Result<()> {
        let pid = std::process::id().to_string();
        all_of(
            std::mem::take(&mut self.joined)
                .into_iter()
                .map(|(mount, dir)| {
                    write_file(&mount.join("cgroup.procs"), &pid)?;
                    remove_supervisor_dir(&dir, timeout)
                }),
        )
    }
}

/// Removes a supervisor cgroup directory (waiting while exiting tasks are still counted) and
/// the shared `minipod.supervisors` parent when it was the last one.
fn remove_supervisor_dir(dir: &Path, timeout: Duration) -> Result<()> {
    remove_tree(dir, timeout)?;
    if let Some(parent) = dir.parent().filter(|p| p.ends_with(SUPERVISORS)) {
        // Another supervisor's cgroup in it (ENOTEMPTY/EBUSY) keeps it: not an error.
        let _ = fs::remove_dir(parent);
    }
    Ok(())
}

/// Removes the cgroup of pod `uid`'s supervisor from every hierarchy, for `delete` after a
/// supervisor that could not remove it itself (killed). Nothing is killed: a supervisor that
/// just released its pod lock may still be on its way out of the cgroup, which stays busy
/// (EBUSY) until it is; that is waited for, at most `timeout`.
pub fn remove_supervisor_cgroup(uid: &str, timeout: Duration) -> Result<()> {
    let rel = supervisor_rel(uid)?;
    let text = fs::read_to_string("/proc/self/mountinfo").map_err(CgroupError::Detect)?;
    all_of(
        hierarchy_mounts(&text)
            .into_iter()
            .map(|mount| mount.join(&rel))
            .filter(|dir| dir.exists())
            .map(|dir| remove_supervisor_dir(&dir, timeout)),
    )
}

/// Runs every step, also after one failed, and returns the first error.
fn all_of(steps: impl Iterator<Item = Result<()>>) -> Result<()> {
    let mut first_err = None;
    for r in steps {
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}
