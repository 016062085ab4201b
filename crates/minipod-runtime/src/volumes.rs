//! Host side of pod volumes, prepared before the containers that mount them:
//! - emptyDir: a directory under `<root>/pods/<uid>/volumes/<name>/` that lives as long as the
//!   pod (so it survives container restarts); `medium: Memory` mounts a tmpfs there, with
//!   `sizeLimit` as its size, and every container bind-mounts that same tmpfs;
//! - hostPath: the kubelet's `type` checks (pkg/volume/hostpath/host_path.go checkType), with
//!   its messages, creating the directory or file for the `...OrCreate` types;
//! - configMap/secret/downwardAPI/projected: files projected into a volume directory with
//!   their modes. Secret, downwardAPI and projected volumes sit on a tmpfs of their own, as
//!   the kubelet wraps them in a memory-backed emptyDir (pkg/volume/secret, downwardapi,
//!   projected `wrappedVolumeSpec`), so secret data never reaches the disk; configMap ones
//!   are on disk (its wrapper is a plain emptyDir).
//!
//! `volumes/` itself is 0700: a volume's own mode is what the container sees (0777 for an
//! emptyDir), so what keeps a host user out is its private parent (crate::private).
//! Every container mount of these is a [`MountSource::Bind`] of the prepared host path.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::mount::{mount, MsFlags};

use crate::config::MountSource;

/// The kind of file a hostPath volume's path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Directory,
    File,
    Socket,
    CharDevice,
    BlockDevice,
}

/// What must be at a hostPath volume's path before it is mounted: the kubelet's hostPath type
/// check as plain data (the pod crate maps `hostPath.type` onto it). `create` makes a missing
/// directory or file (the `...OrCreate` types); it means nothing for the other kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPathCheck {
    pub kind: FileKind,
    pub create: bool,
}

/// Errors of volume preparation; hostPath ones use the kubelet's wording.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("hostPath type check failed: {} is not a directory", .0.display())]
    NotDirectory(PathBuf),
    #[error("hostPath type check failed: {} is not a file", .0.display())]
    NotFile(PathBuf),
    #[error("hostPath type check failed: {} is not a socket file", .0.display())]
    NotSocket(PathBuf),
    #[error("hostPath type check failed: {} is not a character device", .0.display())]
    NotCharDevice(PathBuf),
    #[error("hostPath type check failed: {} is not a block device", .0.display())]
    NotBlockDevice(PathBuf),
    #[error("hostPath {}: create: {source}", .path.display())]
    HostPathCreate {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("emptyDir {name:?}: create {}: {source}", .path.display())]
    EmptyDirCreate {
        name: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("emptyDir {name:?}: mount tmpfs on {}: {source}", .path.display())]
    EmptyDirTmpfs {
        name: String,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("volume {name:?}: invalid file path {path:?}: must be relative, without `..`")]
    InvalidItemPath { name: String, path: String },
    #[error("volume {name:?}: write {}: {source}", .path.display())]
    WriteItem {
        name: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("remove volumes in {}: {source}", .path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: crate::removeall::RemoveError,
    },
    #[error("volume {name:?}: mount tmpfs on {}: {source}", .path.display())]
    Tmpfs {
        name: String,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("volume {name:?}: set fsGroup {gid} on {}: {source}", .path.display())]
    Ownership {
        name: String,
        gid: u32,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, VolumeError>;

/// The kubelet's hostPath type check (`None`: no check); creates the directory (0755, parents
/// too) or the empty file (0644, parent must exist) when `create` is set and nothing is there.
/// Symlinks are followed, as the kubelet's `os.Stat` does.
pub fn check_host_path(path: &Path, check: Option<HostPathCheck>) -> Result<()> {
    let Some(check) = check else {
        return Ok(());
    };
    let meta = fs::metadata(path).ok();
    let ft = meta.as_ref().map(|m| m.file_type());
    let create_err = |source| VolumeError::HostPathCreate {
        path: path.to_path_buf(),
        source,
    };
    match check.kind {
        FileKind::Directory if check.create && meta.is_none() => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(path)
            .map_err(create_err),
        FileKind::Directory => {
            if ft.is_some_and(|t| t.is_dir()) {
                Ok(())
            } else {
                Err(VolumeError::NotDirectory(path.to_path_buf()))
            }
        }
        FileKind::File if check.create && meta.is_none() => fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map(drop)
            .map_err(create_err),
        FileKind::File => {
            if ft.is_some_and(|t| t.is_file()) {
                Ok(())
            } else {
                Err(VolumeError::NotFile(path.to_path_buf()))
            }
        }
        FileKind::Socket => match ft {
            Some(t) if t.is_socket() => Ok(()),
            _ => Err(VolumeError::NotSocket(path.to_path_buf())),
        },
        FileKind::CharDevice => match ft {
            Some(t) if t.is_char_device() => Ok(()),
            _ => Err(VolumeError::NotCharDevice(path.to_path_buf())),
        },
        FileKind::BlockDevice => match ft {
            Some(t) if t.is_block_device() => Ok(()),
            _ => Err(VolumeError::NotBlockDevice(path.to_path_buf())),
        },
    }
}

/// `emptyDir.medium`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmptyDirMedium {
    #[default]
    Disk,
    /// tmpfs, with `sizeLimit` in bytes when given.
    Memory { size_limit: Option<u64> },
}

/// Creates (or finds again, after a supervisor restart) the emptyDir `name` under
/// `volumes_dir` (`<root>/pods/<uid>/volumes`), world-writable like the kubelet's (0777), and
/// returns the mount source every container uses.
pub fn prepare_empty_dir(
    volumes_dir: &Path,
    name: &str,
    medium: EmptyDirMedium,
) -> Result<MountSource> {
    let dir = volumes_dir.join(name);
    let create_err = |source| VolumeError::EmptyDirCreate {
        name: name.to_string(),
        path: dir.clone(),
        source,
    };
    crate::private::create_dir_all(volumes_dir).map_err(create_err)?;
    fs::create_dir_all(&dir).map_err(create_err)?;
    if let EmptyDirMedium::Memory { size_limit } = medium {
        if !is_mount_point(&dir) {
            let data = size_limit.map(|s| format!("size={s},mode=1777"));
            mount(
                Some("tmpfs"),
                &dir,
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(data.as_deref().unwrap_or("mode=1777")),
            )
            .map_err(|source| VolumeError::EmptyDirTmpfs {
                name: name.to_string(),
                path: dir.clone(),
                source,
            })?;
        }
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).map_err(create_err)?;
    Ok(MountSource::Bind(dir))
}

fn is_mount_point(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    crate::propagation::parse_mountinfo(&text)
        .iter()
        .any(|m| m.mount_point == dir)
}

/// One file of a configMap or secret volume (after `items` selection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectedFile {
    /// Relative path inside the volume (`key`, or `items[].path`).
    pub path: String,
    pub data: Vec<u8>,
    /// `items[].mode`, else `defaultMode` (0644 configMap, 0644 secret in the API default;
    /// callers pass what the pod says).
    pub mode: u32,
}

/// Where a projected volume's files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectedMedium {
    /// configMap: on disk, under the pod's directory.
    Disk,
    /// secret, downwardAPI, projected: a tmpfs mounted on the volume directory.
    Memory,
}

/// Writes configMap/secret files into `volumes_dir/name/`, replacing its previous content
/// (on a tmpfs for [`ProjectedMedium::Memory`], mounted once and kept across supervisor
/// restarts). Paths must be relative without `..` (the API validates this; checked again
/// here because a path escaping the volume would write on the host).
pub fn project_files(
    volumes_dir: &Path,
    name: &str,
    files: &[ProjectedFile],
    medium: ProjectedMedium,
) -> Result<PathBuf> {
    let dir = volumes_dir.join(name);
    let write_err = |path: &Path, source| VolumeError::WriteItem {
        name: name.to_string(),
        path: path.to_path_buf(),
        source,
    };
    for f in files {
        let p = Path::new(&f.path);
        if f.path.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(VolumeError::InvalidItemPath {
                name: name.to_string(),
                path: f.path.clone(),
            });
        }
    }
    crate::private::create_dir_all(volumes_dir).map_err(|e| write_err(volumes_dir, e))?;
    let remove_err = |e: crate::removeall::RemoveError| match e {
        crate::removeall::RemoveError::Io { path, source } => write_err(&path, source),
        other => write_err(&dir, io::Error::other(other.to_string())),
    };
    match medium {
        ProjectedMedium::Disk => {
            crate::removeall::remove_all_one_filesystem(&dir).map_err(remove_err)?;
            fs::create_dir_all(&dir).map_err(|e| write_err(&dir, e))?;
        }
        ProjectedMedium::Memory => {
            fs::create_dir_all(&dir).map_err(|e| write_err(&dir, e))?;
            if is_mount_point(&dir) {
                // A supervisor restart: the tmpfs is the pod's; only its content is renewed.
                for entry in fs::read_dir(&dir).map_err(|e| write_err(&dir, e))? {
                    let entry = entry.map_err(|e| write_err(&dir, e))?;
                    crate::removeall::remove_all_one_filesystem(&entry.path())
                        .map_err(remove_err)?;
                }
            } else {
                // The kubelet's emptyDir tmpfs options (nosuid, nodev); 0755 as the volume
                // directory has always been.
                mount(
                    Some("tmpfs"),
                    &dir,
                    Some("tmpfs"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                    Some("mode=0755"),
                )
                .map_err(|source| VolumeError::Tmpfs {
                    name: name.to_string(),
                    path: dir.clone(),
                    source,
                })?;
            }
        }
    }
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        fs::write(&path, &f.data)
            .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(f.mode)))
            .map_err(|e| write_err(&path, e))?;
    }
    Ok(dir)
}

/// kubelet volume_linux.go masks: what fsGroup ownership adds to the permission bits.
const RW_MASK: u32 = 0o660;
const RO_MASK: u32 = 0o440;
const EXEC_MASK: u32 = 0o110;

/// `fsGroupChangePolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsGroupChangePolicy {
    /// Change every file each time the volume is set up.
    #[default]
    Always,
    /// Only when the volume's root does not already have the group and the permissions.
    OnRootMismatch,
}

/// kubelet SetVolumeOwnership (pkg/volume/volume_linux.go), for the volume types that support
/// fsGroup (emptyDir, configMap, secret, downwardAPI, projected; not hostPath): every file
/// and directory gets group `gid`, group read (and write unless `read_only`) permission, and
/// directories also group search and setgid, so files created later inherit the group.
/// Symlinks get the group, not the modes (chmod would follow them).
pub fn set_volume_ownership(
    name: &str,
    dir: &Path,
    gid: u32,
    read_only: bool,
    policy: FsGroupChangePolicy,
) -> Result<()> {
    if policy == FsGroupChangePolicy::OnRootMismatch
        && !ownership_change_needed(dir, gid, read_only)
    {
        return Ok(());
    }
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| VolumeError::Ownership {
            name: name.to_string(),
            gid,
            path,
            source,
        }
    };
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).map_err(err(&path))?;
        std::os::unix::fs::lchown(&path, None, Some(gid)).map_err(err(&path))?;
        if meta.file_type().is_symlink() {
            continue;
        }
        let mut mask = if read_only { RO_MASK } else { RW_MASK };
        if meta.is_dir() {
            mask |= 0o2000 | EXEC_MASK;
            for entry in fs::read_dir(&path).map_err(err(&path))? {
                stack.push(entry.map_err(err(&path))?.path());
            }
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode | mask != mode {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode | mask))
                .map_err(err(&path))?;
        }
    }
    Ok(())
}

/// kubelet requiresPermissionChange: the root lacks the group, the permission bits or setgid.
fn ownership_change_needed(dir: &Path, gid: u32, read_only: bool) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::metadata(dir) else {
        return true;
    };
    let want = (if read_only { RO_MASK } else { RW_MASK }) | EXEC_MASK;
    meta.gid() != gid || !meta.is_dir() || meta.mode() & want != want || meta.mode() & 0o2000 == 0
}

/// Removes every volume of a pod: unmounts the tmpfs ones (memory emptyDirs, secrets) and
/// anything else still mounted below, then deletes the directory tree without crossing into
/// another filesystem. Safe to call twice.
pub fn remove_volumes(volumes_dir: &Path) -> Result<()> {
    crate::removeall::unmount_and_remove_all(volumes_dir).map_err(|source| VolumeError::Remove {
        path: volumes_dir.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
