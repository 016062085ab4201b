//! A container's root filesystem: one overlay mount of the image's layer directories plus
//! a per-container upper/work directory, so set-up cost does not grow with image size.
//! Where overlay cannot be mounted, the layers are copied into a plain directory instead.
//!
//! The writable layer (upper/work, or the copy) lives on disk under the persistent root, as
//! containerd keeps its snapshots; only the merged mount point is under the run directory,
//! which is a small tmpfs on most hosts (docs/images.md, "Overlay format and root
//! filesystems"). Every directory on the way to either is 0700: a container is root inside
//! and may plant a setuid binary in its upper layer, which a host user must never reach (moby
//! CVE-2021-41091).
//!
//! Layers are passed to overlay one by one with the new mount API (`fsconfig` `lowerdir+`,
//! Linux 6.8), which has no limit but overlay's own (500 layers). Older kernels get one
//! `mount(2)` whose option string must fit in a page: each layer is then named by a short
//! `/proc/self/fd/N` link to an open directory instead of its 90-character path, which fits
//! 128 layers (containerd shortens paths the same way by mounting relative to its snapshot
//! directory).

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::store::{Image, ImageStore, LoadError};

/// How a root filesystem was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootfsKind {
    Overlay,
    Copy,
}

/// A mounted (or copied) root filesystem at `path`.
#[derive(Debug, Clone)]
pub struct Rootfs {
    pub path: PathBuf,
    pub kind: RootfsKind,
}

/// Where one container's root filesystem lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootfsDirs {
    /// On disk, under the persistent root (`<root>/pods/<uid>/rootfs/<container>`):
    /// `upper/` and `work/`, or the copy fallback's tree in `upper/`.
    pub layer: PathBuf,
    /// The overlay's mount point (`<run>/pods/<uid>/containers/<container>/rootfs`).
    pub mount_point: PathBuf,
}

/// Why a root filesystem could not be set up or torn down.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error(transparent)]
    Layers(#[from] LoadError),
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("mount overlay on {}", path.display())]
    Mount {
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("unmount {}", path.display())]
    Unmount {
        path: PathBuf,
        #[source]
        source: Errno,
    },
}

static COPY_WARNED: AtomicBool = AtomicBool::new(false);

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RootfsError + '_ {
    move |source| RootfsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `path` and its missing parents 0700, and tightens `path` itself to 0700 if it
/// exists with a wider mode (parents that already exist may be the user's).
pub(crate) fn private_dir_all(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    let mode = fs::metadata(path)?.permissions().mode() & 0o7777;
    if mode != 0o700 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates the directory `path` (parent exists) with exactly `mode`.
fn dir_with_mode(path: &Path, mode: u32) -> Result<(), RootfsError> {
    match fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(path)(e)),
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(path))
}

fn c_path(path: &Path) -> Result<CString, RootfsError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|e| io_err(path)(io::Error::other(e)))
}

/// Overlay's lower directories, top layer first, as open directories.
fn open_dirs(lowers: &[PathBuf]) -> Result<Vec<OwnedFd>, RootfsError> {
    lowers
        .iter()
        .rev()
        .map(|p| fs::File::open(p).map(OwnedFd::from).map_err(io_err(p)))
        .collect()
}

/// Mounts overlay with the new mount API, one `lowerdir+` per layer. `Ok(false)` when this
/// kernel does not know `lowerdir+` (or the API): the caller falls back to mount(2).
fn mount_overlay_fsconfig(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<bool, RootfsError> {
    let mount_err = |e: io::Error| RootfsError::Mount {
        path: target.to_path_buf(),
        source: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    };
    let fs = match crate::sys::fsopen(c"overlay") {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => return Ok(false),
        Err(e) => return Err(mount_err(e)),
    };
    let set = |key: &std::ffi::CStr, value: &Path| -> Result<(), io::Error> {
        let v = CString::new(value.as_os_str().as_bytes()).map_err(io::Error::other)?;
        crate::sys::fsconfig_set_string(fs.as_fd(), key, &v)
    };
    // The source name mount(2) would show ("overlay" in /proc/mounts), instead of "none".
    crate::sys::fsconfig_set_string(fs.as_fd(), c"source", c"overlay").map_err(mount_err)?;
    for (i, layer) in lowers.iter().rev().enumerate() {
        match set(c"lowerdir+", layer) {
            Ok(()) => {}
            // Before 6.8 the key is unknown.
            Err(e) if i == 0 && e.raw_os_error() == Some(libc::EINVAL) => return Ok(false),
            Err(e) => return Err(mount_err(e)),
        }
    }
    set(c"upperdir", upper).map_err(mount_err)?;
    set(c"workdir", work).map_err(mount_err)?;
    crate::sys::fsconfig_set_string(fs.as_fd(), c"index", c"off").map_err(mount_err)?;
    crate::sys::fsconfig_create(fs.as_fd()).map_err(mount_err)?;
    crate::sys::fsmount_at(fs.as_fd(), &c_path(target)?).map_err(mount_err)?;
    Ok(true)
}

/// Mounts overlay with one mount(2); layers named `/proc/self/fd/N` to fit 128 of them in
/// the one page the kernel copies the options from.
fn mount_overlay_legacy(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<(), Errno> {
    let fds = open_dirs(lowers).map_err(|_| Errno::ENOENT)?;
    let lower: Vec<String> = fds
        .iter()
        .map(|fd| format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={},index=off",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
}

impl ImageStore {
    /// Creates `<layer>/{upper,work}` and mounts the image's layers at `mount_point` (both
    /// with 0700 parents). Undo with [`unmount_rootfs`].
    pub fn mount_rootfs(&self, image: &Image, dirs: &RootfsDirs) -> Result<Rootfs, RootfsError> {
        let mut lowers = self.layer_dirs(image)?;
        let RootfsDirs { layer, mount_point } = dirs;
        private_dir_all(layer).map_err(io_err(layer))?;
        if let Some(parent) = mount_point.parent() {
            private_dir_all(parent).map_err(io_err(parent))?;
        }
        let (upper, work) = (layer.join("upper"), layer.join("work"));
        // upper's mode is the mode of the container's `/`: 0755, as an image root is; what
        // keeps host users out is the 0700 `layer` above it.
        dir_with_mode(&upper, 0o755)?;
        dir_with_mode(&work, 0o700)?;
        dir_with_mode(mount_point, 0o700)?;
        // An image without layers still needs a lower.
        if lowers.is_empty() {
            let empty = layer.join("empty");
            dir_with_mode(&empty, 0o755)?;
            lowers.push(empty);
        }
        let mounted = match mount_overlay_fsconfig(&lowers, &upper, &work, mount_point) {
            Ok(true) => Ok(()),
            Ok(false) => mount_overlay_legacy(&lowers, &upper, &work, mount_point),
            Err(RootfsError::Mount { source, .. }) => Err(source),
            Err(e) => return Err(e),
        };
        match mounted {
            Ok(()) => Ok(Rootfs {
                path: mount_point.clone(),
                kind: RootfsKind::Overlay,
            }),
            Err(e @ (Errno::ENODEV | Errno::EINVAL | Errno::EPERM | Errno::ENOTSUP)) => {
                if !COPY_WARNED.swap(true, Ordering::Relaxed) {
                    log::warn!("overlay unavailable ({e}); copying image layers instead (slower, uses more disk)");
                }
                copy_layers(&lowers, &upper)?;
                Ok(Rootfs {
                    path: upper,
                    kind: RootfsKind::Copy,
                })
            }
            Err(source) => Err(RootfsError::Mount {
                path: mount_point.clone(),
                source,
            }),
        }
    }

    /// The copy fallback on its own: `<layer>/upper` as a plain directory holding the
    /// image's merged layers. Costs time and space proportional to the image.
    pub fn copy_rootfs(&self, image: &Image, dirs: &RootfsDirs) -> Result<Rootfs, RootfsError> {
        let lowers = self.layer_dirs(image)?;
        private_dir_all(&dirs.layer).map_err(io_err(&dirs.layer))?;
        let target = dirs.layer.join("upper");
        dir_with_mode(&target, 0o755)?;
        copy_layers(&lowers, &target)?;
        Ok(Rootfs {
            path: target,
            kind: RootfsKind::Copy,
        })
    }

    /// Mounts with one mount(2) call, as kernels before 6.8 must (tests use it to check
    /// the short layer names on this kernel too).
    #[doc(hidden)]
    pub fn mount_rootfs_legacy(
        &self,
        image: &Image,
        dirs: &RootfsDirs,
    ) -> Result<Rootfs, RootfsError> {
        let lowers = self.layer_dirs(image)?;
        private_dir_all(&dirs.layer).map_err(io_err(&dirs.layer))?;
        if let Some(parent) = dirs.mount_point.parent() {
            private_dir_all(parent).map_err(io_err(parent))?;
        }
        let (upper, work) = (dirs.layer.join("upper"), dirs.layer.join("work"));
        dir_with_mode(&upper, 0o755)?;
        dir_with_mode(&work, 0o700)?;
        dir_with_mode(&dirs.mount_point, 0o700)?;
        mount_overlay_legacy(&lowers, &upper, &work, &dirs.mount_point).map_err(|source| {
            RootfsError::Mount {
                path: dirs.mount_point.clone(),
                source,
            }
        })?;
        Ok(Rootfs {
            path: dirs.mount_point.clone(),
            kind: RootfsKind::Overlay,
        })
    }
}

/// Unmounts the mount point if mounted and removes it and `<layer>/{upper,work,empty}`.
/// Safe to call twice.
pub fn unmount_rootfs(dirs: &RootfsDirs) -> Result<(), RootfsError> {
    let target = &dirs.mount_point;
    loop {
        match umount2(target, MntFlags::UMOUNT_NOFOLLOW) {
            Ok(()) => continue, // stacked mounts: peel them all
            Err(Errno::EINVAL | Errno::ENOENT) => break,
            Err(Errno::EBUSY) => {
                umount2(target, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW).map_err(
                    |source| RootfsError::Unmount {
                        path: target.clone(),
                        source,
                    },
                )?;
            }
            Err(source) => {
                return Err(RootfsError::Unmount {
                    path: target.clone(),
                    source,
                })
            }
        }
    }
    // Not mounted any more: remove_dir cannot go through a mount, and the writable layer is
    // a plain directory tree of this filesystem.
    match fs::remove_dir(target) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(target)(e)),
        _ => {}
    }
    for sub in ["upper", "work", "empty"] {
        let p = dirs.layer.join(sub);
        match fs::remove_dir_all(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(&p)(e)),
            _ => {}
        }
    }
    match fs::remove_dir(&dirs.layer) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(&dirs.layer)(e)),
        _ => Ok(()),
    }
}

/// The copy fallback: applies the overlay-format layers in order, as overlayfs would show
/// them (whiteouts remove, opaque directories hide what is below).
fn copy_layers(lowers: &[PathBuf], target: &Path) -> Result<(), RootfsError> {
    for layer in lowers {
        copy_tree(layer, target)?;
    }
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path) -> Result<(), RootfsError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    for entry in fs::read_dir(src).map_err(io_err(src))? {
        let entry = entry.map_err(io_err(src))?;
        let (s, d) = (entry.path(), dst.join(entry.file_name()));
        let meta = fs::symlink_metadata(&s).map_err(io_err(&s))?;
        let existing = fs::symlink_metadata(&d).ok();
        let remove_existing = |keep_dir: bool| -> Result<(), RootfsError> {
            match &existing {
                Some(m) if m.is_dir() && !keep_dir => fs::remove_dir_all(&d).map_err(io_err(&d)),
                Some(m) if !m.is_dir() => fs::remove_file(&d).map_err(io_err(&d)),
                _ => Ok(()),
            }
        };
        let ft = meta.file_type();
        if ft.is_char_device() && meta.rdev() == 0 {
            remove_existing(false)?;
            continue;
        }
        if ft.is_dir() {
            let opaque = fs::File::open(&s)
                .ok()
                .and_then(|f| {
                    crate::sys::fgetxattr(std::os::fd::AsFd::as_fd(&f), crate::unpack::OPAQUE_XATTR)
                        .ok()
                        .flatten()
                })
                .is_some_and(|v| v == b"y");
            remove_existing(!opaque)?;
            if !d.is_dir() {
                fs::create_dir(&d).map_err(io_err(&d))?;
            }
            copy_tree(&s, &d)?;
            // chown first: it may clear the setgid bit that chmod then restores.
            std::os::unix::fs::lchown(&d, Some(meta.uid()), Some(meta.gid()))
                .map_err(io_err(&d))?;
            fs::set_permissions(&d, fs::Permissions::from_mode(meta.mode() & 0o7777))
                .map_err(io_err(&d))?;
            continue;
        }
        remove_existing(false)?;
        if ft.is_symlink() {
            let t = fs::read_link(&s).map_err(io_err(&s))?;
            std::os::unix::fs::symlink(&t, &d).map_err(io_err(&d))?;
        } else if ft.is_file() {
            fs::copy(&s, &d).map_err(io_err(&d))?;
            std::os::unix::fs::lchown(&d, Some(meta.uid()), Some(meta.gid()))
                .map_err(io_err(&d))?;
            fs::set_permissions(&d, fs::Permissions::from_mode(meta.mode() & 0o7777))
                .map_err(io_err(&d))?;
            continue;
        } else {
            // Device nodes and fifos are rare in images; skipped in the fallback.
            log::debug!("copy fallback skips special file {}", s.display());
            continue;
        }
        std::os::unix::fs::lchown(&d, Some(meta.uid()), Some(meta.gid())).map_err(io_err(&d))?;
    }
    Ok(())
}
