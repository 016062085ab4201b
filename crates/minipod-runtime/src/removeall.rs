//! Removing a pod's directories without ever deleting through a mount.
//!
//! A pod's directories hold mounts while it runs: the overlay root filesystems, tmpfs volumes,
//! bind mounts of hostPath or subPath sources, the namespace files. A plain recursive delete
//! that meets one of those still mounted (a supervisor that died mid-teardown) would delete
//! the host's files behind a hostPath bind, or a container's data. The kubelet removes pod
//! directories with `RemoveAllOneFilesystem` (pkg/util/removeall) for this reason: it refuses
//! to descend into a directory on another device. [`unmount_all_under`] first unmounts what
//! is left (deepest first); [`remove_all_one_filesystem`] then deletes, and stops with an error
//! naming the path at any directory that is on another device or mount (same-filesystem bind
//! mounts have the same device, so the mount id is compared too).

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{umount2, MntFlags};
use nix::sys::stat::Mode;
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::propagation::parse_mountinfo;

#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("refusing to remove {}: it is a mount point (another filesystem is mounted there)", .path.display())]
    MountPoint { path: PathBuf },
    #[error("unmount {} before removing it: {source}", .path.display())]
    Unmount {
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("{} is still mounted after unmounting it", .path.display())]
    StillMounted { path: PathBuf },
    #[error("remove {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, RemoveError>;

fn io_err(path: &Path) -> impl FnOnce(Errno) -> RemoveError + '_ {
    move |e| RemoveError::Io {
        path: path.to_path_buf(),
        source: io::Error::from(e),
    }
}

/// The mount points at or below `dir` in this mount namespace, deepest (and latest) first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = parse_mountinfo(&text)
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with(dir))
        .collect();
    // Later lines are mounted on top of earlier ones: undo them first. Then the deepest paths.
    points.reverse();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points
}

/// Unmounts every mount at or below `dir` (a missing `dir` has none). A busy mount is
/// detached (it leaves the namespace at once, so nothing is deleted through it); a mount that
/// cannot be unmounted at all is an error naming it, and the caller must not delete `dir`.
pub fn unmount_all_under(dir: &Path) -> Result<()> {
    let Ok(dir) = dir.canonicalize() else {
        return Ok(());
    };
    // Stacked mounts need a round each; a bound keeps a mount that re-appears from looping.
    for _ in 0..16 {
        let points = mounts_under(&dir);
        if points.is_empty() {
            return Ok(());
        }
        for p in points {
            match umount2(&p, MntFlags::UMOUNT_NOFOLLOW) {
                Ok(()) | Err(Errno::EINVAL | Errno::ENOENT) => {}
                Err(Errno::EBUSY) => {
                    umount2(&p, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW)
                        .map_err(|source| RemoveError::Unmount { path: p, source })?;
                }
                Err(source) => return Err(RemoveError::Unmount { path: p, source }),
            }
        }
    }
    match mounts_under(&dir).into_iter().next() {
        Some(path) => Err(RemoveError::StillMounted { path }),
        None => Ok(()),
    }
}

/// Where an inode lives: its device and, where the kernel tells (statx STATX_MNT_ID, Linux
/// 5.8), its mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    dev: (u32, u32),
    mnt_id: Option<u64>,
}

fn place_at(dirfd: RawFd, name: &CStr) -> std::result::Result<(Place, u32), Errno> {
    // SAFETY: an all-zero statx is a valid value of this plain C struct.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `dirfd` is open for the call, `name` is NUL-terminated, `stx` is writable and
    // of the type statx(2) fills.
    let rc = unsafe {
        libc::statx(
            dirfd,
            name.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT,
            libc::STATX_TYPE | libc::STATX_MNT_ID,
            &mut stx,
        )
    };
    if rc != 0 {
        return Err(Errno::last());
    }
    let mnt_id = (stx.stx_mask & libc::STATX_MNT_ID != 0).then_some(stx.stx_mnt_id);
    let place = Place {
        dev: (stx.stx_dev_major, stx.stx_dev_minor),
        mnt_id,
    };
    Ok((place, u32::from(stx.stx_mode) & libc::S_IFMT))
}

/// Removes `path` and everything below it without leaving its filesystem (the kubelet's
/// RemoveAllOneFilesystem): a directory on another device or mount — `path` itself included —
/// stops the removal with [`RemoveError::MountPoint`] before anything in it is touched. Call
/// [`unmount_all_under`] first. A missing `path` is fine. Symlinks are removed, never
/// followed; every step is relative to an open directory, so a rename during the walk
/// cannot redirect it.
pub fn remove_all_one_filesystem(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let Some(name) = path.file_name() else {
        return Err(RemoveError::MountPoint {
            path: path.to_path_buf(),
        });
    };
    let parent_fd = match Dir::open(
        parent,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(d) => d,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(io_err(parent)(e)),
    };
    let cname = c_name(name);
    let (parent_place, _) = place_at(parent_fd.as_raw_fd(), c".").map_err(io_err(parent))?;
    let (place, kind) = match place_at(parent_fd.as_raw_fd(), &cname) {
        Ok(p) => p,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(io_err(path)(e)),
    };
    if kind != libc::S_IFDIR {
        return unlink(parent_fd.as_raw_fd(), &cname, false, path);
    }
    if differs(parent_place, place) {
        return Err(RemoveError::MountPoint {
            path: path.to_path_buf(),
        });
    }
    remove_dir_contents(parent_fd.as_raw_fd(), &cname, path, place)?;
    unlink(parent_fd.as_raw_fd(), &cname, true, path)
}

/// True when `child` is on another device or mount than `top`.
fn differs(top: Place, child: Place) -> bool {
    top.dev != child.dev || matches!((top.mnt_id, child.mnt_id), (Some(a), Some(b)) if a != b)
}

fn c_name(name: &OsStr) -> CString {
    // A name read from a directory or a path component never holds NUL.
    CString::new(name.as_bytes()).unwrap_or_default()
}

fn unlink(dirfd: RawFd, name: &CStr, dir: bool, path: &Path) -> Result<()> {
    let flag = if dir {
        UnlinkatFlags::RemoveDir
    } else {
        UnlinkatFlags::NoRemoveDir
    };
    match unlinkat(Some(dirfd), name, flag) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn remove_dir_contents(parent: RawFd, name: &CStr, path: &Path, top: Place) -> Result<()> {
    let mut dir = Dir::openat(
        Some(parent),
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err(path))?;
    // Names first: entries are removed while the directory is open, which would disturb
    // its iterator.
    let mut names: Vec<CString> = Vec::new();
    for entry in dir.iter() {
        let entry = entry.map_err(io_err(path))?;
        let n = entry.file_name();
        if n.to_bytes() != b"." && n.to_bytes() != b".." {
            names.push(n.to_owned());
        }
    }
    let fd = dir.as_raw_fd();
    for n in names {
        let child_path = path.join(OsStr::from_bytes(n.to_bytes()));
        let (place, kind) = match place_at(fd, &n) {
            Ok(p) => p,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(io_err(&child_path)(e)),
        };
        if kind == libc::S_IFDIR {
            if differs(top, place) {
                return Err(RemoveError::MountPoint { path: child_path });
            }
            remove_dir_contents(fd, &n, &child_path, top)?;
            unlink(fd, &n, true, &child_path)?;
        } else {
            unlink(fd, &n, false, &child_path)?;
        }
    }
    Ok(())
}

/// Unmounts what is left under `dir`, then removes it without crossing into another
/// filesystem.
pub fn unmount_and_remove_all(dir: &Path) -> Result<()> {
    unmount_all_under(dir)?;
    remove_all_one_filesystem(dir)
}

#[cfg(test)]
mod tests;
