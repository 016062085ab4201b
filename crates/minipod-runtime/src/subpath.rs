//! `subPath` volume mounts, resolved safely on the host.
//!
//! A container can put symlinks into a volume it shares with another container (or with its
//! own next attempt). Joining `volume/subPath` and bind-mounting that path would follow them
//! to anywhere on the host (CVE-2017-1002101). Like the kubelet (pkg/volume/util/subpath,
//! `doSafeMakeDir` and `doBindSubPath`), minipod:
//! 1. resolves the subPath with `openat2(RESOLVE_BENEATH)` from the volume's directory: a
//!    symlink that stays inside the volume is followed, one that leaves it (absolute, or `..`
//!    above the volume) is refused by the kernel;
//! 2. creates the missing directories of a subPath that does not exist yet, one component at
//!    a time through the directory opened before, with the volume directory's mode;
//! 3. bind-mounts the opened file or directory (`/proc/self/fd/N`, not a path that could be
//!    swapped meanwhile) onto a private staging path under the pod's run directory, and
//!    checks that the staging path is the same inode. The container then bind-mounts the
//!    staging path, which no container can reach.
//!
//! Staging paths are `<pod run dir>/volume-subpaths/<container>/<mount index>`; they are
//! released when the container instance is deleted ([`release_container`]) and, for a
//! supervisor that died, with the pod ([`release_all`]).

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};

/// The folder of a pod's run directory that holds the staged subPath mounts.
pub const STAGING_DIR: &str = "volume-subpaths";

/// Why a subPath could not be prepared. The messages name what is wrong, not only that
/// something is (the kubelet hides the reason from API users; here the user is the host's
/// administrator).
#[derive(Debug, thiserror::Error)]
pub enum SubPathError {
    #[error("subPath {sub:?} is not a relative path below the volume")]
    NotRelative { sub: String },
    #[error("subPath {sub:?} resolves outside the volume")]
    Outside { sub: String },
    #[error("subPath {sub:?}: {step}: {source}")]
    Io {
        sub: String,
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "subPath {sub:?}: the staged mount at {} is not the resolved path (changed meanwhile)",
        staged.display()
    )]
    Swapped { sub: String, staged: PathBuf },
}

impl SubPathError {
    /// True when the subPath itself could not be created (the kubelet's "failed to create
    /// subPath directory" case) rather than resolved or mounted.
    pub fn is_create(&self) -> bool {
        matches!(self, SubPathError::Io { step, .. } if *step == STEP_MKDIR)
    }
}

const STEP_MKDIR: &str = "create directory";

fn io_err<'a>(sub: &'a str, step: &'static str) -> impl Fn(io::Error) -> SubPathError + 'a {
    move |source| SubPathError::Io {
        sub: sub.to_string(),
        step,
        source,
    }
}

/// The components of a subPath: relative, without `..` (the API validates this too; checked
/// again because it decides what is opened on the host). `.` and empty components go.
pub fn components(sub: &str) -> Result<Vec<&str>, SubPathError> {
    let not_relative = || SubPathError::NotRelative {
        sub: sub.to_string(),
    };
    let mut out = Vec::new();
    for c in Path::new(sub).components() {
        match c {
            Component::Normal(s) => out.push(s.to_str().ok_or_else(not_relative)?),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(not_relative())
            }
        }
    }
    Ok(out)
}

/// Opens `rel` beneath `root` as an `O_PATH` fd, following only symlinks that stay below it.
fn open_beneath(root: &OwnedFd, rel: &str) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(root.as_raw_fd(), rel, how)?;
    // SAFETY: openat2 returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens the subPath `sub` of the volume directory `volume`, creating the directories that
/// are missing (with the volume directory's permission bits, like the kubelet). Returns the
/// `O_PATH` fd of what it names, which may be a file or a directory.
pub fn open(volume: &Path, sub: &str) -> Result<OwnedFd, SubPathError> {
    let parts = components(sub)?;
    let root: OwnedFd = fs::File::open(volume)
        .map_err(io_err(sub, "open the volume directory"))?
        .into();
    let outside = || SubPathError::Outside {
        sub: sub.to_string(),
    };
    if parts.is_empty() {
        return Ok(root);
    }
    let full = parts.join("/");
    match open_beneath(&root, &full) {
        Ok(fd) => return Ok(fd),
        Err(Errno::EXDEV) | Err(Errno::ELOOP) => return Err(outside()),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(io_err(sub, "open")(e.into())),
    }
    // kubelet SafeMakeDir: each missing component is made inside the directory opened just
    // before, and opened again beneath the volume (a symlink put there meanwhile is refused
    // by the same rule as above).
    let mode = fs::metadata(volume)
        .map(|m| m.mode() & 0o7777)
        .map_err(io_err(sub, "read the volume directory's mode"))?;
    let mut parent = root.try_clone().map_err(io_err(sub, "open"))?;
    for i in 0..parts.len() {
        let prefix = parts[..=i].join("/");
        let fd = match open_beneath(&root, &prefix) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                match mkdirat(
                    Some(parent.as_raw_fd()),
                    parts[i],
                    Mode::from_bits_truncate(mode),
                ) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(io_err(sub, STEP_MKDIR)(e.into())),
                }
                // mkdir applies the umask: set the mode the kubelet asks for.
                match open_beneath(&root, &prefix) {
                    Ok(fd) => {
                        chmod_fd(&fd, mode).map_err(io_err(sub, STEP_MKDIR))?;
                        fd
                    }
                    Err(Errno::EXDEV) | Err(Errno::ELOOP) => return Err(outside()),
                    Err(e) => return Err(io_err(sub, STEP_MKDIR)(e.into())),
                }
            }
            Err(Errno::EXDEV) | Err(Errno::ELOOP) => return Err(outside()),
            Err(e) => return Err(io_err(sub, "open")(e.into())),
        };
        parent = fd;
    }
    Ok(parent)
}

/// chmod through an O_PATH fd (fchmod refuses those): via its /proc/self/fd link, which
/// names exactly the opened inode.
fn chmod_fd(fd: &OwnedFd, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(
        format!("/proc/self/fd/{}", fd.as_raw_fd()),
        fs::Permissions::from_mode(mode),
    )
}

/// The staging path of mount number `index` of container `container`.
pub fn staging_path(pod_run_dir: &Path, container: &str, index: usize) -> PathBuf {
    pod_run_dir
        .join(STAGING_DIR)
        .join(container)
        .join(index.to_string())
}

/// Resolves the subPath `sub` of `volume` (see [`open`]) and bind-mounts it at `staged`,
/// which is made to match (a directory, or an empty file for anything else). Returns the
/// path the container should bind-mount: `staged`. The staged mount is made private unless
/// `propagate` (a mount with mountPropagation: it then stays a peer or slave of the volume's
/// mount, so that propagation reaches the container through it).
pub fn prepare(
    volume: &Path,
    sub: &str,
    staged: &Path,
    propagate: bool,
) -> Result<PathBuf, SubPathError> {
    let fd = open(volume, sub)?;
    let st = fstat(fd.as_raw_fd()).map_err(|e| io_err(sub, "stat")(e.into()))?;
    let is_dir = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
    // A previous instance's staging mount (a supervisor that died mid-way) goes first.
    release(staged).map_err(io_err(sub, "remove an old staged mount"))?;
    if let Some(dir) = staged.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(sub, "create the staging directory"))?;
    }
    if is_dir {
        fs::DirBuilder::new()
            .mode(0o700)
            .create(staged)
            .map_err(io_err(sub, "create the staging directory"))?;
    } else {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(staged)
            .map_err(io_err(sub, "create the staging file"))?;
    }
    let source = format!("/proc/self/fd/{}", fd.as_raw_fd());
    if let Err(e) = mount(
        Some(source.as_str()),
        staged,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    ) {
        let _ = remove_target(staged);
        return Err(io_err(sub, "bind-mount")(e.into()));
    }
    // Private, so that the mount neither receives nor sends propagation events: it is ours
    // alone and never shows up in another mount namespace.
    let private = if propagate {
        Ok(())
    } else {
        mount(
            None::<&str>,
            staged,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
    };
    let same = fs::metadata(staged)
        .map(|m| m.dev() == st.st_dev && m.ino() == st.st_ino)
        .unwrap_or(false);
    if let Err(e) = private {
        let _ = release(staged);
        return Err(io_err(sub, "make the staged mount private")(e.into()));
    }
    if !same {
        let _ = release(staged);
        return Err(SubPathError::Swapped {
            sub: sub.to_string(),
            staged: staged.to_path_buf(),
        });
    }
    Ok(staged.to_path_buf())
}

fn remove_target(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Unmounts and removes one staged subPath. Missing or not mounted is fine; mounts stacked
/// on it (a shared self-bind made for mountPropagation) go too.
pub fn release(staged: &Path) -> io::Result<()> {
    loop {
        match umount2(staged, MntFlags::MNT_DETACH) {
            Ok(()) => continue,
            Err(Errno::EINVAL) | Err(Errno::ENOENT) => break,
            Err(e) => return Err(e.into()),
        }
    }
    remove_target(staged)
}

/// Releases every staged subPath of one container.
pub fn release_container(pod_run_dir: &Path, container: &str) -> io::Result<()> {
    release_dir(&pod_run_dir.join(STAGING_DIR).join(container))
}

/// Releases every staged subPath of a pod (teardown, or cleanup after a dead supervisor).
pub fn release_all(pod_run_dir: &Path) -> io::Result<()> {
    let dir = pod_run_dir.join(STAGING_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut first = None;
    for e in entries.flatten() {
        if let Err(e) = release_dir(&e.path()) {
            first.get_or_insert(e);
        }
    }
    if let Err(e) = remove_target(&dir) {
        first.get_or_insert(e);
    }
    first.map_or(Ok(()), Err)
}

fn release_dir(dir: &Path) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut first = None;
    for e in entries.flatten() {
        if let Err(e) = release(&e.path()) {
            first.get_or_insert(e);
        }
    }
    if let Err(e) = remove_target(dir) {
        first.get_or_insert(e);
    }
    first.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests;
