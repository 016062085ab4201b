//! A container's root filesystem: one overlay mount of the image's layer directories plus
//! a per-container upper/work directory, so set-up cost does not grow with image size.
//! Where overlay cannot be mounted, the layers are copied into a plain directory instead.

use std::fs;
use std::io;
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

/// A mounted (or copied) root filesystem at `path` = `<container dir>/rootfs`.
#[derive(Debug, Clone)]
pub struct Rootfs {
    pub path: PathBuf,
    pub kind: RootfsKind,
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

impl ImageStore {
    /// Creates `<dir>/{upper,work,rootfs}` and mounts the image's layers at `<dir>/rootfs`.
    /// Undo with [`unmount_rootfs`].
    pub fn mount_rootfs(&self, image: &Image, dir: &Path) -> Result<Rootfs, RootfsError> {
        let lowers = self.layer_dirs(image)?;
        let (upper, work, target) = (dir.join("upper"), dir.join("work"), dir.join("rootfs"));
        for d in [&upper, &work, &target] {
            fs::create_dir_all(d).map_err(io_err(d))?;
        }
        // Overlay wants the top layer first; an image without layers still needs a lower.
        let mut lower: Vec<String> = lowers
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        if lower.is_empty() {
            let empty = dir.join("empty");
            fs::create_dir_all(&empty).map_err(io_err(&empty))?;
            lower.push(empty.display().to_string());
        }
        let options = format!(
            "lowerdir={},upperdir={},workdir={},index=off",
            lower.join(":"),
            upper.display(),
            work.display()
        );
        match mount(
            Some("overlay"),
            &target,
            Some("overlay"),
            MsFlags::empty(),
            Some(options.as_str()),
        ) {
            Ok(()) => Ok(Rootfs {
                path: target,
                kind: RootfsKind::Overlay,
            }),
            Err(e @ (Errno::ENODEV | Errno::EINVAL | Errno::EPERM | Errno::ENOTSUP)) => {
                if !COPY_WARNED.swap(true, Ordering::Relaxed) {
                    log::warn!("overlay unavailable ({e}); copying image layers instead (slower, uses more disk)");
                }
                copy_layers(&lowers, &target)?;
                Ok(Rootfs {
                    path: target,
                    kind: RootfsKind::Copy,
                })
            }
            Err(source) => Err(RootfsError::Mount {
                path: target,
                source,
            }),
        }
    }

    /// The copy fallback on its own: `<dir>/rootfs` as a plain directory holding the
    /// image's merged layers. Costs time and space proportional to the image.
    pub fn copy_rootfs(&self, image: &Image, dir: &Path) -> Result<Rootfs, RootfsError> {
        let lowers = self.layer_dirs(image)?;
        let target = dir.join("rootfs");
        fs::create_dir_all(&target).map_err(io_err(&target))?;
        copy_layers(&lowers, &target)?;
        Ok(Rootfs {
            path: target,
            kind: RootfsKind::Copy,
        })
    }
}

/// Unmounts `<dir>/rootfs` if mounted and removes `<dir>/{rootfs,upper,work,empty}`.
/// Safe to call twice.
pub fn unmount_rootfs(dir: &Path) -> Result<(), RootfsError> {
    let target = dir.join("rootfs");
    loop {
        match umount2(&target, MntFlags::UMOUNT_NOFOLLOW) {
            Ok(()) => continue, // stacked mounts: peel them all
            Err(Errno::EINVAL | Errno::ENOENT) => break,
            Err(Errno::EBUSY) => {
                umount2(&target, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW).map_err(
                    |source| RootfsError::Unmount {
                        path: target.clone(),
                        source,
                    },
                )?;
            }
            Err(source) => {
                return Err(RootfsError::Unmount {
                    path: target,
                    source,
                })
            }
        }
    }
    for sub in ["rootfs", "upper", "work", "empty"] {
        let p = dir.join(sub);
        match fs::remove_dir_all(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(&p)(e)),
            _ => {}
        }
    }
    Ok(())
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
