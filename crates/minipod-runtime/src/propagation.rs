//! Mount propagation of volumes (`mountPropagation`) on the host side.
//!
//! A container's bind of a volume can only receive host mounts (`HostToContainer`, rslave) if
//! the host mount holding the volume is shared or a slave, and can only send mounts back
//! (`Bidirectional`, rshared) if it is shared: an rslave bind of a private mount has no master,
//! an rshared one has no peer on the host. containerd refuses such sources (internal/cri/opts
//! spec_linux.go `ensureShared`, `ensureSharedOrSlave`); the kubelet avoids the refusal by
//! making its own root directory rshared (a bind of the directory onto itself, then
//! `--make-rshared`). minipod has no kubelet root that holds hostPaths, so it does the same per
//! volume source, on demand: when the mount containing the source does not have the
//! propagation the volume needs, the source is bind-mounted onto itself and made shared.
//!
//! Such binds are recorded in `<root>/pods/<uid>/propagation.json` before they are made, so
//! that the pod's teardown (or the clean-up after a crashed supervisor) undoes them. A pod that
//! relies on a bind another pod made records it too, and a bind is only unmounted when no other
//! pod's record still lists it, so two pods sharing one hostPath both keep working. Records of
//! all pods are read and written under an exclusive `flock` of `<root>/pods`.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use serde::{Deserialize, Serialize};

use crate::config::Propagation;

/// The per-pod record of shared binds, in the pod's directory.
pub const RECORD_FILE: &str = "propagation.json";

/// One line of `/proc/self/mountinfo`, the parts propagation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Where it is mounted, unescaped.
    pub mount_point: PathBuf,
    /// `shared:N`: the peer group it belongs to.
    pub shared: Option<u32>,
    /// `master:N`: the peer group it receives from (a slave).
    pub master: Option<u32>,
}

impl MountEntry {
    /// Parses one mountinfo line (proc(5)): `ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS
    /// [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS`. `None` for a malformed line.
    pub fn parse(line: &str) -> Option<MountEntry> {
        let mut fields = line.split(' ');
        let mount_point = fields.nth(4)?;
        fields.next()?; // mount options
        let mut entry = MountEntry {
            mount_point: PathBuf::from(unescape_mountinfo(mount_point)),
            shared: None,
            master: None,
        };
        for field in fields.by_ref() {
            if field == "-" {
                return Some(entry);
            }
            if let Some(n) = field.strip_prefix("shared:") {
                entry.shared = Some(n.parse().ok()?);
            } else if let Some(n) = field.strip_prefix("master:") {
                entry.master = Some(n.parse().ok()?);
            }
        }
        // No separator: not a mountinfo line.
        None
    }
}

/// Every parsable line of mountinfo text, in order (later lines are mounted on top).
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(MountEntry::parse).collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` (octal).
pub(crate) fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let digits = &b[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount that holds `path` (absolute, symlinks resolved): the longest mount point that is
/// a whole-component prefix of it; of several mounts on that point, the last one listed (the
/// one on top).
pub fn containing_mount<'a>(mounts: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    let mut best: Option<&MountEntry> = None;
    for m in mounts {
        if !path.starts_with(&m.mount_point) {
            continue;
        }
        let depth = m.mount_point.components().count();
        if best.is_none_or(|b| depth >= b.mount_point.components().count()) {
            best = Some(m);
        }
    }
    best
}

/// What a volume's propagation asks of the host mount holding its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Bidirectional: containerd's `ensureShared`.
    Shared,
    /// HostToContainer: containerd's `ensureSharedOrSlave`.
    SharedOrSlave,
}

impl Requirement {
    /// `None` for a private volume: it asks nothing of the host.
    pub fn of(propagation: Propagation) -> Option<Requirement> {
        match propagation {
            Propagation::Private => None,
            Propagation::HostToContainer => Some(Requirement::SharedOrSlave),
            Propagation::Bidirectional => Some(Requirement::Shared),
        }
    }

    pub fn is_met_by(self, mount: &MountEntry) -> bool {
        match self {
            Requirement::Shared => mount.shared.is_some(),
            Requirement::SharedOrSlave => mount.shared.is_some() || mount.master.is_some(),
        }
    }
}

/// What to do on the host for one volume source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceAction {
    /// The host mount already has the propagation and no pod made it: leave it.
    Nothing,
    /// The host mount is a shared bind a pod recorded (maybe this one): record it too, so it
    /// stays while this pod runs.
    Keep(PathBuf),
    /// Bind the source onto itself and make it shared, recording it first.
    BindShared(PathBuf),
}

/// Decides [`SourceAction`] for `source` (absolute, symlinks resolved) from the host's mounts
/// and the binds that pods recorded. `None` when no mount holds the source.
pub fn plan_source(
    mounts: &[MountEntry],
    source: &Path,
    requirement: Requirement,
    recorded: &BTreeSet<PathBuf>,
) -> Option<SourceAction> {
    let holder = containing_mount(mounts, source)?;
    Some(if !requirement.is_met_by(holder) {
        SourceAction::BindShared(source.to_path_buf())
    } else if recorded.contains(&holder.mount_point) {
        SourceAction::Keep(holder.mount_point.clone())
    } else {
        SourceAction::Nothing
    })
}

/// The binds of `own` that no other pod still records, most recent first: those a pod's
/// teardown unmounts.
pub fn binds_to_release(own: &[PathBuf], others: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
    own.iter()
        .rev()
        .filter(|p| !others.contains(*p))
        .cloned()
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum PropagationError {
    #[error("resolve {}: {source}", path.display())]
    Resolve { path: PathBuf, source: io::Error },
    #[error("{}: the path is not valid UTF-8 and cannot be recorded", .0.display())]
    NotUtf8(PathBuf),
    #[error("read /proc/self/mountinfo: {0}")]
    Mountinfo(io::Error),
    #[error("{}: no mount in /proc/self/mountinfo holds it", .0.display())]
    NoMount(PathBuf),
    #[error("lock {}: {source}", path.display())]
    Lock { path: PathBuf, source: io::Error },
    #[error("read propagation record {}: {source}", path.display())]
    ReadRecord { path: PathBuf, source: io::Error },
    #[error("propagation record {}: {source}", path.display())]
    ParseRecord {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("write propagation record {}: {source}", path.display())]
    WriteRecord { path: PathBuf, source: io::Error },
    #[error("bind-mount {} onto itself: {source}", path.display())]
    Bind { path: PathBuf, source: nix::Error },
    #[error("make {} a shared mount: {source}", path.display())]
    MakeShared { path: PathBuf, source: nix::Error },
    #[error("unmount shared bind {}: {source}", path.display())]
    Unmount { path: PathBuf, source: nix::Error },
}

type Result<T> = std::result::Result<T, PropagationError>;

/// The stored form of a pod's record.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// Shared binds this pod made or relies on, in the order it recorded them.
    shared_binds: Vec<String>,
}

/// The propagation side of one pod: its record and the lock over every pod's records.
#[derive(Debug, Clone)]
pub struct PodPropagation {
    /// `<root>/pods/<uid>`.
    pod_dir: PathBuf,
}

impl PodPropagation {
    /// For the pod whose directory is `<root>/pods/<uid>`.
    pub fn new(pod_dir: &Path) -> Self {
        PodPropagation {
            pod_dir: pod_dir.to_path_buf(),
        }
    }

    fn pods_dir(&self) -> &Path {
        self.pod_dir.parent().unwrap_or(Path::new("/"))
    }

    fn record_path(&self) -> PathBuf {
        self.pod_dir.join(RECORD_FILE)
    }

    /// Holds an exclusive lock on `<root>/pods` (the directory itself, so no file is added).
    fn lock(&self) -> Result<Flock<File>> {
        let dir = self.pods_dir();
        let lock_err = |source| PropagationError::Lock {
            path: dir.to_path_buf(),
            source,
        };
        let file = File::open(dir).map_err(lock_err)?;
        Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| lock_err(io::Error::from(e)))
    }

    /// Makes sure the host mount holding `source` has the propagation `propagation` needs,
    /// binding the source onto itself and making it shared when it does not.
    pub fn prepare(&self, source: &Path, propagation: Propagation) -> Result<()> {
        let Some(requirement) = Requirement::of(propagation) else {
            return Ok(());
        };
        let source = fs::canonicalize(source).map_err(|e| PropagationError::Resolve {
            path: source.to_path_buf(),
            source: e,
        })?;
        let _lock = self.lock()?;
        let mounts = read_mounts()?;
        let own = read_record(&self.record_path())?;
        let mut recorded = self.other_records()?;
        recorded.extend(own.iter().cloned());
        let action = plan_source(&mounts, &source, requirement, &recorded)
            .ok_or_else(|| PropagationError::NoMount(source.clone()))?;
        match action {
            SourceAction::Nothing => Ok(()),
            SourceAction::Keep(path) => {
                if !own.contains(&path) {
                    let mut own = own;
                    own.push(path);
                    write_record(&self.record_path(), &own)?;
                }
                Ok(())
            }
            SourceAction::BindShared(path) => {
                // Recorded before it is made: a crash between the two leaves a record whose
                // unmount fails harmlessly, never a bind nobody undoes.
                let mut with = own.clone();
                with.push(path.clone());
                write_record(&self.record_path(), &with)?;
                if let Err(e) = bind_shared(&path) {
                    let _ = write_record(&self.record_path(), &own);
                    return Err(e);
                }
                log::info!(
                    "made {} a shared bind for mount propagation",
                    path.display()
                );
                Ok(())
            }
        }
    }

    /// Undoes this pod's shared binds that no other pod records, then removes its record.
    /// Without a record there is nothing to do.
    pub fn release(&self) -> Result<()> {
        let record = self.record_path();
        if !record.exists() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let own = read_record(&record)?;
        let others = self.other_records()?;
        let mounts = read_mounts()?;
        for path in binds_to_release(&own, &others) {
            // Only what is still a shared mount at that point: a bind that is already gone
            // must not make the umount take the mount below it.
            let mounted = mounts
                .iter()
                .any(|m| m.mount_point == path && m.shared.is_some());
            if !mounted {
                continue;
            }
            match umount2(&path, MntFlags::MNT_DETACH) {
                Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
                Err(source) => return Err(PropagationError::Unmount { path, source }),
            }
        }
        match fs::remove_file(&record) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(PropagationError::WriteRecord {
                path: record,
                source,
            }),
        }
    }

    /// The binds every other pod under `<root>/pods` records.
    fn other_records(&self) -> Result<BTreeSet<PathBuf>> {
        let mut out = BTreeSet::new();
        let dir = self.pods_dir();
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(source) => {
                return Err(PropagationError::ReadRecord {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        };
        for entry in entries.flatten() {
            // Pod directories only (the pods folder also holds the resource-version counter).
            let pod_dir = entry.path();
            if pod_dir == self.pod_dir || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            out.extend(read_record(&pod_dir.join(RECORD_FILE))?);
        }
        Ok(out)
    }
}

fn read_mounts() -> Result<Vec<MountEntry>> {
    let text = fs::read_to_string("/proc/self/mountinfo").map_err(PropagationError::Mountinfo)?;
    Ok(parse_mountinfo(&text))
}

/// A pod's recorded binds; none when it has no record.
fn read_record(path: &Path) -> Result<Vec<PathBuf>> {
    let data = match fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PropagationError::ReadRecord {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let record: Record =
        serde_json::from_slice(&data).map_err(|source| PropagationError::ParseRecord {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(record.shared_binds.into_iter().map(PathBuf::from).collect())
}

/// Replaces a pod's record (temp file, fsync, rename).
fn write_record(path: &Path, binds: &[PathBuf]) -> Result<()> {
    let shared_binds = binds
        .iter()
        .map(|p| {
            p.to_str()
                .map(str::to_owned)
                .ok_or_else(|| PropagationError::NotUtf8(p.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    let write_err = |source| PropagationError::WriteRecord {
        path: path.to_path_buf(),
        source,
    };
    // Serialising a struct of strings cannot fail.
    let data = serde_json::to_vec(&Record { shared_binds }).map_err(io::Error::other);
    let data = data.map_err(write_err)?;
    crate::private::replace_file(path, &data, crate::private::FILE_MODE).map_err(write_err)
}

/// The kubelet's way with its root directory: `mount --rbind DIR DIR; mount --make-rshared DIR`.
fn bind_shared(path: &Path) -> Result<()> {
    mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|source| PropagationError::Bind {
        path: path.to_path_buf(),
        source,
    })?;
    let shared = mount(
        None::<&str>,
        path,
        None::<&str>,
        MsFlags::MS_SHARED | MsFlags::MS_REC,
        None::<&str>,
    );
    if let Err(source) = shared {
        let _ = umount2(path, MntFlags::MNT_DETACH);
        return Err(PropagationError::MakeShared {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
