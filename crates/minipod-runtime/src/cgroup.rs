//! The pod cgroup (`minipod/<uid>`) and the per-container questions libcontainer does not
//! answer: was it OOM-killed, and how to kill and remove a whole pod tree.
//!
//! Three host layouts exist and this CI host has the awkward one:
//! - **v1**: one hierarchy per controller (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/pids`, ...);
//! - **v2**: one unified tree at `/sys/fs/cgroup`;
//! - **hybrid**: v1 controllers plus a v2 tree with no controllers
//!   (`/sys/fs/cgroup/unified`). libcontainer treats hybrid as v1 and never touches the v2
//!   tree, so minipod mirrors each container into it itself: that gives `cgroup.kill` and
//!   `cgroup.events` for the whole pod even though the limits live in v1.
//!
//! Container cgroups are children of the pod cgroup; libcontainer creates them from the OCI
//! `linux.cgroupsPath` (always absolute here, `/minipod/<uid>/<id>`) and removes them on delete.
//!
//! This file: the host layout, the pod cgroup, limits, and the removal of container cgroups.
//! `supervisor.rs`: the supervisor's own cgroup. `warmup.rs`: the helper that keeps the
//! kernel's cgroup attach lock warm during a create.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::config::Resources;
use crate::propagation::unescape_mountinfo;

mod supervisor;
mod warmup;

pub use supervisor::{remove_supervisor_cgroup, supervisor_rel, SupervisorCgroup, SUPERVISORS};
pub use warmup::AttachLockWarmup;

/// Where the cgroup file systems are mounted on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupLayout {
    /// Pure cgroup v2 at `root`.
    Unified { root: PathBuf },
    /// cgroup v1 hierarchies (controller hierarchies only, named ones like `name=systemd`
    /// are left alone), with the hybrid v2 tree when mounted.
    Legacy {
        hierarchies: Vec<V1Hierarchy>,
        unified: Option<PathBuf>,
    },
}

/// One mounted v1 hierarchy and the controllers bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    pub mount: PathBuf,
    pub controllers: Vec<String>,
}

/// Errors of the cgroup module; each names the cgroup directory or file.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("detect cgroup layout: read /proc/self/mountinfo: {0}")]
    Detect(#[source] io::Error),
    #[error("detect cgroup layout: no cgroup file system is mounted")]
    NoCgroupFs,
    #[error(
        "invalid cgroup path {0:?}: must be relative, without `..`, and name a minipod cgroup"
    )]
    InvalidPath(String),
    #[error("create cgroup {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("write {value:?} to {path}: {source}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("kill processes of cgroup {path}: {source}")]
    Kill {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("remove cgroup {path}: still busy after {waited:?}: {source}")]
    Remove {
        path: PathBuf,
        waited: Duration,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, CgroupError>;

static LAYOUT: OnceLock<CgroupLayout> = OnceLock::new();

impl CgroupLayout {
    /// The layout of this host, detected once per process from `/proc/self/mountinfo`.
    pub fn host() -> Result<&'static CgroupLayout> {
        if let Some(l) = LAYOUT.get() {
            return Ok(l);
        }
        let text = fs::read_to_string("/proc/self/mountinfo").map_err(CgroupError::Detect)?;
        let layout = Self::from_mountinfo(&text).ok_or(CgroupError::NoCgroupFs)?;
        Ok(LAYOUT.get_or_init(|| layout))
    }

    /// Parses `/proc/self/mountinfo` text; `None` when no cgroup file system is mounted.
    pub fn from_mountinfo(text: &str) -> Option<CgroupLayout> {
        let mut hierarchies = Vec::new();
        let mut unified = None;
        for line in text.lines() {
            // id parent major:minor root mountpoint options [optional...] - fstype source superopts
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let mut l = left.split(' ');
            let mount = l.nth(4)?;
            let mut r = right.split(' ');
            let fstype = r.next()?;
            let superopts = r.nth(1).unwrap_or("");
            let mount = PathBuf::from(unescape_mountinfo(mount));
            match fstype {
                "cgroup2" => unified = Some(mount),
                "cgroup" => {
                    let controllers: Vec<String> = superopts
                        .split(',')
                        .filter(|o| is_v1_controller(o))
                        .map(String::from)
                        .collect();
                    if !controllers.is_empty() {
                        hierarchies.push(V1Hierarchy { mount, controllers });
                    }
                }
                _ => {}
            }
        }
        match (hierarchies.is_empty(), unified) {
            (true, Some(root)) => Some(CgroupLayout::Unified { root }),
            (true, None) => None,
            (false, unified) => Some(CgroupLayout::Legacy {
                hierarchies,
                unified,
            }),
        }
    }

    /// Every directory that represents the cgroup `rel` on this host: one per v1 hierarchy
    /// plus the v2 one.
    pub fn dirs(&self, rel: &Path) -> Vec<PathBuf> {
        match self {
            CgroupLayout::Unified { root } => vec![root.join(rel)],
            CgroupLayout::Legacy {
                hierarchies,
                unified,
            } => hierarchies
                .iter()
                .map(|h| h.mount.join(rel))
                .chain(unified.iter().map(|u| u.join(rel)))
                .collect(),
        }
    }

    /// The v1 directory of `rel` for `controller`, if that controller is mounted.
    pub fn v1_dir(&self, controller: &str, rel: &Path) -> Option<PathBuf> {
        match self {
            CgroupLayout::Legacy { hierarchies, .. } => hierarchies
                .iter()
                .find(|h| h.controllers.iter().any(|c| c == controller))
                .map(|h| h.mount.join(rel)),
            CgroupLayout::Unified { .. } => None,
        }
    }

    /// The v2 directory of `rel` (pure v2 or the hybrid tree).
    pub fn v2_dir(&self, rel: &Path) -> Option<PathBuf> {
        match self {
            CgroupLayout::Unified { root } => Some(root.join(rel)),
            CgroupLayout::Legacy { unified, .. } => unified.as_ref().map(|u| u.join(rel)),
        }
    }

    /// Hybrid host: the v2 tree exists beside v1 controllers, and libcontainer ignores it.
    pub fn is_hybrid(&self) -> bool {
        matches!(
            self,
            CgroupLayout::Legacy {
                unified: Some(_),
                ..
            }
        )
    }
}

fn is_v1_controller(opt: &str) -> bool {
    matches!(
        opt,
        "cpu"
            | "cpuacct"
            | "cpuset"
            | "memory"
            | "devices"
            | "freezer"
            | "net_cls"
            | "net_prio"
            | "blkio"
            | "perf_event"
            | "hugetlb"
            | "pids"
            | "rdma"
            | "misc"
    )
}

/// The mount point of every cgroup hierarchy in `mountinfo` text, once each: every v1
/// hierarchy (controllers and named ones such as `name=systemd`, the one systemd tracks
/// sessions in on hybrid hosts) and the v2 tree. A hierarchy mounted twice counts once.
pub fn hierarchy_mounts(mountinfo: &str) -> Vec<PathBuf> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut l = left.split(' ');
        let (Some(root), Some(mount)) = (l.nth(3), l.next()) else {
            continue;
        };
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("");
        let superopts = r.nth(1).unwrap_or("");
        // Only whole hierarchies: a bind mount of a sub-cgroup would put us elsewhere.
        if root != "/" {
            continue;
        }
        let key = match fstype {
            "cgroup2" => "cgroup2".to_string(),
            "cgroup" => {
                let mut opts: Vec<&str> = superopts
                    .split(',')
                    .filter(|o| is_v1_controller(o) || o.starts_with("name="))
                    .collect();
                opts.sort_unstable();
                opts.join(",")
            }
            _ => continue,
        };
        if seen.insert(key) {
            out.push(PathBuf::from(unescape_mountinfo(mount)));
        }
    }
    out
}

/// Checks that `rel` is a relative cgroup path, without `..`, with a `minipod` component:
/// minipod never creates, kills or removes any other cgroup.
pub fn check_rel_path(rel: &str) -> Result<PathBuf> {
    let trimmed = rel.trim_start_matches('/');
    let p = Path::new(trimmed);
    let ok = !trimmed.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        && p.components()
            .any(|c| c.as_os_str().to_string_lossy().contains("minipod"));
    if ok {
        Ok(p.to_path_buf())
    } else {
        Err(CgroupError::InvalidPath(rel.to_string()))
    }
}

fn write_file(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value).map_err(|source| CgroupError::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        source,
    })
}

fn read_file(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The pod cgroup: a directory in every hierarchy, with the pod-level limits.
#[derive(Debug, Clone)]
pub struct PodCgroup {
    layout: &'static CgroupLayout,
    rel: PathBuf,
}

impl PodCgroup {
    /// Creates `rel` (`minipod/<uid>`) in every hierarchy and applies `resources`.
    /// On failure, removes what it created.
    pub fn create(rel: &str, resources: &Resources) -> Result<PodCgroup> {
        let layout = CgroupLayout::host()?;
        let rel = check_rel_path(rel)?;
        let pod = PodCgroup { layout, rel };
        if let Err(e) = pod.create_dirs().and_then(|()| pod.apply(resources)) {
            let _ = pod.remove(Duration::from_millis(200));
            return Err(e);
        }
        Ok(pod)
    }

    /// The pod cgroup at `rel`, without creating anything (for cleanup from disk state).
    pub fn open(rel: &str) -> Result<PodCgroup> {
        Ok(PodCgroup {
            layout: CgroupLayout::host()?,
            rel: check_rel_path(rel)?,
        })
    }

    pub fn rel_path(&self) -> &Path {
        &self.rel
    }

    pub fn layout(&self) -> &'static CgroupLayout {
        self.layout
    }

    /// The `cgroupsPath` to put in a container's OCI spec: `/minipod/<uid>/<id>`.
    pub fn container_cgroups_path(&self, container_id: &str) -> String {
        format!("/{}/{}", self.rel.display(), container_id)
    }

    fn create_dirs(&self) -> Result<()> {
        for dir in self.layout.dirs(&self.rel) {
            fs::create_dir_all(&dir).map_err(|source| CgroupError::Create {
                path: dir.clone(),
                source,
            })?;
        }
        // A fresh v1 cpuset cgroup has empty cpus/mems and refuses tasks: inherit them, level
        // by level from the hierarchy root.
        if let Some(mount) = self.layout.v1_dir("cpuset", Path::new("")) {
            let mut parent = mount;
            for comp in self.rel.components() {
                let dir = parent.join(comp);
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    if read_file(&dir.join(f))?.trim().is_empty() {
                        write_file(&dir.join(f), read_file(&parent.join(f))?.trim())?;
                    }
                }
                parent = dir;
            }
        }
        // Pure v2: every level down to the pod cgroup delegates the controllers the
        // container cgroups below it use.
        if let CgroupLayout::Unified { root } = self.layout {
            let mut cur = root.clone();
            let levels = std::iter::once(None).chain(self.rel.components().map(Some));
            for comp in levels {
                if let Some(c) = comp {
                    cur.push(c);
                }
                let avail = read_file(&cur.join("cgroup.controllers"))?;
                let enable: Vec<String> = avail
                    .split_whitespace()
                    .filter(|c| matches!(*c, "cpu" | "memory" | "pids" | "io" | "cpuset"))
                    .map(|c| format!("+{c}"))
                    .collect();
                if !enable.is_empty() {
                    write_file(&cur.join("cgroup.subtree_control"), &enable.join(" "))?;
                }
            }
        }
        Ok(())
    }

    /// Puts `pid` into the pod's child cgroup `leaf` (created in every hierarchy), so that
    /// pod-wide kills reach it: the shared PID namespace's init lives there.
    pub fn adopt(&self, leaf: &str, pid: i32) -> Result<()> {
        let rel = self.rel.join(leaf);
        for dir in self.layout.dirs(&rel) {
            fs::create_dir_all(&dir).map_err(|source| CgroupError::Create {
                path: dir.clone(),
                source,
            })?;
            if dir.join("cpuset.cpus").exists() {
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    if read_file(&dir.join(f))?.trim().is_empty() {
                        let parent = dir.parent().unwrap_or(&dir).join(f);
                        write_file(&dir.join(f), read_file(&parent)?.trim())?;
                    }
                }
            }
            write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Writes the pod-level limits (kubelet: pod cgroup sized to the sum of its containers).
    pub fn apply(&self, r: &Resources) -> Result<()> {
        apply_resources(self.layout, &self.rel, r)
    }

    /// All pids in the pod tree (every hierarchy, every descendant), deduplicated.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        for dir in self.layout.dirs(&self.rel) {
            collect_pids(&dir, &mut pids);
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Kills every process of the pod: `cgroup.kill` where a v2 tree exists, then (v1) freeze,
    /// SIGKILL every listed pid, thaw, repeated until no pid is left or `timeout` passes.
    pub fn kill_all(&self, timeout: Duration) -> Result<()> {
        if let Some(v2) = self.layout.v2_dir(&self.rel) {
            let kill_file = v2.join("cgroup.kill");
            if kill_file.exists() {
                write_file(&kill_file, "1")?;
            }
        }
        let freezer = self.layout.v1_dir("freezer", &self.rel);
        let start = Instant::now();
        loop {
            let pids = self.pids();
            if pids.is_empty() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(CgroupError::Kill {
                    path: self.rel.clone(),
                    source: nix::Error::EBUSY,
                });
            }
            // Frozen, the processes cannot fork between listing and killing.
            let frozen = freezer
                .as_ref()
                .map(|f| fs::write(f.join("freezer.state"), "FROZEN").is_ok())
                .unwrap_or(false);
            for pid in self.pids() {
                match kill(Pid::from_raw(pid), Signal::SIGKILL) {
                    Ok(()) | Err(nix::Error::ESRCH) => {}
                    Err(source) => {
                        return Err(CgroupError::Kill {
                            path: self.rel.clone(),
                            source,
                        })
                    }
                }
            }
            if frozen {
                if let Some(f) = &freezer {
                    write_file(&f.join("freezer.state"), "THAWED")?;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Removes the pod cgroup and every child, in every hierarchy, killing stragglers first.
    /// A cgroup that is already gone is not an error.
    pub fn remove(&self, timeout: Duration) -> Result<()> {
        self.kill_all(timeout)?;
        let mut first_err = None;
        for dir in self.layout.dirs(&self.rel) {
            if let Err(e) = remove_tree(&dir, timeout) {
                first_err.get_or_insert(e);
            }
            // The shared parent (`minipod/`) goes with its last pod; another pod's cgroup
            // in it (ENOTEMPTY/EBUSY) keeps it, which is not an error.
            if let Some(parent) = dir.parent() {
                if parent.file_name().is_some_and(|n| n == "minipod") {
                    let _ = fs::remove_dir(parent);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether any cgroup directory of the pod still exists.
    pub fn exists(&self) -> bool {
        self.layout.dirs(&self.rel).iter().any(|d| d.exists())
    }
}

/// Writes limits for the cgroup `rel` (pod or container).
pub fn apply_resources(layout: &CgroupLayout, rel: &Path, r: &Resources) -> Result<()> {
    match layout {
        CgroupLayout::Legacy { .. } => {
            if let Some(dir) = layout.v1_dir("memory", rel) {
                if let Some(m) = r.memory_limit {
                    write_file(&dir.join("memory.limit_in_bytes"), &m.to_string())?;
                    // Swap off: memsw equal to the memory limit, when swap accounting exists.
                    let memsw = dir.join("memory.memsw.limit_in_bytes");
                    if memsw.exists() {
                        write_file(&memsw, &m.to_string())?;
                    }
                }
            }
            if let Some(dir) = layout.v1_dir("pids", rel) {
                if let Some(p) = r.pids_limit {
                    write_file(&dir.join("pids.max"), &pids_value(p))?;
                }
            }
            if let Some(dir) = layout.v1_dir("cpu", rel) {
                if let Some(s) = r.cpu_shares {
                    write_file(&dir.join("cpu.shares"), &s.to_string())?;
                }
                if let Some(p) = r.cpu_period {
                    write_file(&dir.join("cpu.cfs_period_us"), &p.to_string())?;
                }
                if let Some(q) = r.cpu_quota {
                    write_file(&dir.join("cpu.cfs_quota_us"), &q.to_string())?;
                }
            }
        }
        CgroupLayout::Unified { root } => {
            let dir = root.join(rel);
            if let Some(m) = r.memory_limit {
                write_file(&dir.join("memory.max"), &m.to_string())?;
                let swap = dir.join("memory.swap.max");
                if swap.exists() {
                    write_file(&swap, "0")?;
                }
            }
            if let Some(p) = r.pids_limit {
                write_file(&dir.join("pids.max"), &pids_value(p))?;
            }
            if let Some(s) = r.cpu_shares {
                // runc's conversion of shares [2, 262144] to weight [1, 10000].
                let w = 1 + ((s.clamp(2, 262_144) - 2) * 9999) / 262_142;
                write_file(&dir.join("cpu.weight"), &w.to_string())?;
            }
            if r.cpu_quota.is_some() || r.cpu_period.is_some() {
                let q = r
                    .cpu_quota
                    .filter(|q| *q > 0)
                    .map(|q| q.to_string())
                    .unwrap_or_else(|| "max".into());
                let p = r.cpu_period.unwrap_or(100_000);
                write_file(&dir.join("cpu.max"), &format!("{q} {p}"))?;
            }
        }
    }
    Ok(())
}

fn pids_value(p: i64) -> String {
    if p <= 0 {
        "max".into()
    } else {
        p.to_string()
    }
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) {
    if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect_pids(&e.path(), out);
            }
        }
    }
}

/// Removes a cgroup directory and its children, deepest first, retrying while the kernel
/// still counts exiting tasks.
pub fn remove_tree(dir: &Path, timeout: Duration) -> Result<()> {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_tree(&e.path(), timeout)?;
            }
        }
    }
    let start = Instant::now();
    let mut delay = Duration::from_micros(500);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && start.elapsed() < timeout => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(50));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_path_buf(),
                    waited: start.elapsed(),
                    source,
                })
            }
        }
    }
}

/// Whether the kernel OOM killer killed a process of the container cgroup
/// (`/minipod/<uid>/<id>`). Read it after the exit and before deleting the container.
pub fn oom_killed(cgroups_path: &str) -> bool {
    let Ok(layout) = CgroupLayout::host() else {
        return false;
    };
    let rel = Path::new(cgroups_path.trim_start_matches('/'));
    let (dir, file) = match layout {
        CgroupLayout::Legacy { .. } => match layout.v1_dir("memory", rel) {
            Some(d) => (d, "memory.oom_control"),
            None => return false,
        },
        CgroupLayout::Unified { root } => (root.join(rel), "memory.events"),
    };
    fs::read_to_string(dir.join(file))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
        })
        .is_some_and(|n| n > 0)
}

/// Hybrid host: puts `pid` into the v2 mirror of `cgroups_path` (creating it), so that the
/// pod's `cgroup.kill` and `cgroup.events` cover it. A no-op on pure v1 and pure v2.
pub fn join_hybrid_unified(cgroups_path: &str, pid: i32) -> Result<()> {
    let layout = CgroupLayout::host()?;
    if !layout.is_hybrid() {
        return Ok(());
    }
    let rel = check_rel_path(cgroups_path)?;
    let Some(dir) = layout.v2_dir(&rel) else {
        return Ok(());
    };
    fs::create_dir_all(&dir).map_err(|source| CgroupError::Create {
        path: dir.clone(),
        source,
    })?;
    write_file(&dir.join("cgroup.procs"), &pid.to_string())
}

/// Hybrid host: removes the v2 mirror of a deleted container's cgroup.
pub fn remove_hybrid_unified(cgroups_path: &str, timeout: Duration) -> Result<()> {
    let layout = CgroupLayout::host()?;
    if !layout.is_hybrid() {
        return Ok(());
    }
    let rel = check_rel_path(cgroups_path)?;
    match layout.v2_dir(&rel) {
        Some(dir) => remove_tree(&dir, timeout),
        None => Ok(()),
    }
}

/// Removes a container cgroup from every hierarchy (v1, v2 and the hybrid mirror), killing
/// whatever is still in it: what [`crate::container::Container::delete`] does instead of
/// libcontainer's cgroup removal, and the cleanup after a failed create (libcontainer gives up
/// on a cgroup that is still busy).
///
/// The common case, an empty cgroup, costs one `rmdir` per hierarchy. A directory that is busy
/// (processes left, or child cgroups) switches to the careful path: `cgroup.kill` where a v2
/// directory exists, SIGKILL to every pid listed in any hierarchy, then removal deepest first,
/// listing and killing again while the kernel still reports the directory busy, for at most
/// `timeout`. A cgroup that is already gone is not an error.
pub fn remove_container(cgroups_path: &str, timeout: Duration) -> Result<()> {
    let layout = CgroupLayout::host()?;
    let rel = check_rel_path(cgroups_path)?;
    let dirs = layout.dirs(&rel);
    let mut busy = false;
    for dir in &dirs {
        match fs::remove_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::ENOTEMPTY)) => {
                busy = true;
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.clone(),
                    waited: Duration::ZERO,
                    source,
                })
            }
        }
    }
    if !busy {
        return Ok(());
    }
    let kill_all = || {
        if let Some(v2) = layout.v2_dir(&rel) {
            let _ = fs::write(v2.join("cgroup.kill"), "1");
        }
        let mut pids = Vec::new();
        for dir in &dirs {
            collect_pids(dir, &mut pids);
        }
        for pid in pids {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    };
    let start = Instant::now();
    let mut delay = Duration::from_micros(500);
    loop {
        kill_all();
        let mut last = None;
        for dir in &dirs {
            if let Err(e) = remove_tree(dir, Duration::ZERO) {
                last = Some(e);
            }
        }
        match last {
            None => return Ok(()),
            Some(CgroupError::Remove { ref source, .. })
                if source.raw_os_error() == Some(libc::EBUSY) && start.elapsed() < timeout =>
            {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(50));
            }
            Some(CgroupError::Remove { path, source, .. }) => {
                return Err(CgroupError::Remove {
                    path,
                    waited: start.elapsed(),
                    source,
                })
            }
            Some(e) => return Err(e),
        }
    }
}

/// Whether a cgroup named `rel` exists in any hierarchy (tests, leak checks).
pub fn any_exists(rel: &str) -> bool {
    match CgroupLayout::host() {
        Ok(l) => l
            .dirs(Path::new(rel.trim_start_matches('/')))
            .iter()
            .any(|d| d.exists()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests;
