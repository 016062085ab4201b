//! Protection of the runtime binary against CVE-2019-5736.
//!
//! A container process can reach the binary of the runtime that created it through
//! `/proc/<pid>/exe` while that runtime process is inside the container's namespaces (the
//! not-yet-exec'd init that libcontainer clones from the supervisor, or an exec'd tenant).
//! Opening it for writing would overwrite the host's `minipod` binary. The supervisor (and
//! `minipod exec`) therefore re-execute themselves from a copy no one can write to:
//!
//! - **Read-only overlay** (runc ≥ 1.2 does the same, libcontainer/dmz/overlayfs_linux.go): a
//!   detached overlayfs mount (new mount API, never attached anywhere) whose top layer is the
//!   binary's directory and which has no upper layer, so it is read-only. The binary is opened
//!   from it and executed through that fd. Writing through `/proc/<pid>/exe` then fails with
//!   EROFS, and the pages are the real file's page cache, shared by every supervisor: the
//!   cost does not grow with the number of pods.
//! - **Sealed memfd** (the fallback where overlayfs or the new mount API is not available):
//!   a private in-memory copy of the whole binary, sealed against every change (EPERM).

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Errors of [`ensure_sealed`].
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("seal runtime binary: {step}: {source}")]
    Io {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("seal runtime binary: argument or environment contains a NUL byte")]
    Nul,
}

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

fn io_err(step: &'static str) -> impl FnOnce(io::Error) -> SealError {
    move |source| SealError::Io { step, source }
}

/// How the running binary is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// The file is on a read-only mount (the detached overlay, or a read-only file system).
    ReadOnlyMount,
    /// The file is a sealed memfd.
    SealedMemfd,
}

/// How this process's binary (`/proc/self/exe`) is protected against writes, if it is: the
/// file itself is checked (its mount's read-only flag, its seals), never an environment
/// variable a caller could set.
pub fn protection() -> Option<Protection> {
    let f = File::open("/proc/self/exe").ok()?;
    // SAFETY: fcntl on a valid fd with an integer command.
    let seals = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 && seals & SEALS == SEALS {
        return Some(Protection::SealedMemfd);
    }
    // SAFETY: fstatvfs fills the struct we pass for a valid fd; all-zero is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstatvfs(f.as_raw_fd(), &mut st) } == 0 && st.f_flag & libc::ST_RDONLY != 0 {
        return Some(Protection::ReadOnlyMount);
    }
    None
}

/// Whether this process runs from a copy of its binary no one can write to.
pub fn is_sealed() -> bool {
    protection().is_some()
}

/// Re-executes the current binary from a read-only overlay (else a sealed memfd) unless it
/// already runs from a protected file. Returns only when already protected (or on error);
/// call it first thing in `main`, before any thread is started. Arguments and environment are
/// passed on unchanged.
pub fn ensure_sealed() -> Result<(), SealError> {
    if is_sealed() {
        return Ok(());
    }
    let memfd = match read_only_overlay_copy() {
        Ok(fd) => fd,
        Err(e) => {
            log::debug!("read-only overlay of the binary unavailable ({e}): using a memfd copy");
            sealed_copy()?
        }
    };
    let args: Vec<OsString> = std::env::args_os().collect();
    let env: Vec<OsString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect();
    let to_c = |v: &[OsString]| -> Result<Vec<CString>, SealError> {
        v.iter()
            .map(|s| CString::new(s.as_bytes()).map_err(|_| SealError::Nul))
            .collect()
    };
    let args = to_c(&args)?;
    let env = to_c(&env)?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    let empty = c"";
    // SAFETY: argv and envp are NULL-terminated arrays of pointers into CStrings that outlive
    // the call; on success execveat does not return.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            memfd.as_raw_fd(),
            empty.as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
    }
    Err(SealError::Io {
        step: "execveat memfd",
        source: io::Error::last_os_error(),
    })
}

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;

/// Takes a raw syscall result that is an fd (or -1).
fn owned_fd(r: libc::c_long, step: &'static str) -> Result<OwnedFd, SealError> {
    if r < 0 {
        return Err(io_err(step)(io::Error::last_os_error()));
    }
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as libc::c_int) })
}

/// Escapes `:` and `\` (overlayfs separators) in a lowerdir path.
fn escape_lowerdir(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if b == b':' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// A fresh empty directory (mkdtemp, mode 0700), removed when dropped.
struct EmptyDir(std::path::PathBuf);

impl EmptyDir {
    /// Made in the temporary directory, or in /run or /dev/shm when that is inside `avoid`
    /// (the binary's directory): overlayfs refuses layers that overlap (ELOOP), so a binary in
    /// /tmp would otherwise always fall back to the memfd copy.
    fn create(avoid: &std::path::Path) -> Result<EmptyDir, SealError> {
        let base = [
            std::env::temp_dir(),
            std::path::PathBuf::from("/run"),
            std::path::PathBuf::from("/dev/shm"),
        ]
        .into_iter()
        .find(|b| !b.starts_with(avoid))
        .ok_or_else(|| {
            io_err("create empty lower directory")(io::Error::other(
                "every candidate is inside the binary's directory",
            ))
        })?;
        let template = base.join("minipod-seal-XXXXXX");
        let template =
            CString::new(template.into_os_string().into_vec()).map_err(|_| SealError::Nul)?;
        let mut bytes = template.into_bytes_with_nul();
        // SAFETY: mkdtemp rewrites the XXXXXX of the NUL-terminated buffer we own in place.
        let r = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
        if r.is_null() {
            return Err(io_err("create empty lower directory")(
                io::Error::last_os_error(),
            ));
        }
        bytes.pop();
        Ok(EmptyDir(std::path::PathBuf::from(OsString::from_vec(
            bytes,
        ))))
    }
}

impl Drop for EmptyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A close-on-exec fd of the running binary opened from a detached, read-only overlayfs
/// mount of its directory. Overlayfs without an upper layer needs two lower layers: the
/// second is an empty directory made for the purpose and removed again once the mount holds
/// it (runc uses its state directory the same way). The binary's directory is the top layer,
/// so nothing in the other one can shadow the binary.
pub fn read_only_overlay_copy() -> Result<OwnedFd, SealError> {
    let exe = std::fs::read_link("/proc/self/exe").map_err(io_err("read /proc/self/exe"))?;
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        return Err(io_err("locate binary")(io::Error::other(format!(
            "{} has no directory",
            exe.display()
        ))));
    };
    // SAFETY: fsopen with a valid C string and flags.
    let ctx = owned_fd(
        unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) },
        "fsopen overlay",
    )?;
    let empty = EmptyDir::create(dir)?;
    let mut lower = escape_lowerdir(dir.as_os_str().as_bytes());
    lower.push(b':');
    lower.extend(escape_lowerdir(empty.0.as_os_str().as_bytes()));
    let lower = CString::new(lower).map_err(|_| SealError::Nul)?;
    // SAFETY: fsconfig on a valid context fd with C strings that outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            ctx.as_raw_fd(),
            FSCONFIG_SET_STRING,
            c"lowerdir".as_ptr(),
            lower.as_ptr(),
            0,
        )
    };
    if r < 0 {
        return Err(io_err("fsconfig lowerdir")(io::Error::last_os_error()));
    }
    // SAFETY: fsconfig on a valid context fd, no key or value.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            ctx.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if r < 0 {
        return Err(io_err("create overlay")(io::Error::last_os_error()));
    }
    // SAFETY: fsmount on a valid, created context fd.
    let mnt = owned_fd(
        unsafe {
            libc::syscall(
                libc::SYS_fsmount,
                ctx.as_raw_fd(),
                FSMOUNT_CLOEXEC,
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
            )
        },
        "fsmount overlay",
    )?;
    let name = CString::new(name.as_bytes()).map_err(|_| SealError::Nul)?;
    // SAFETY: openat relative to a valid mount fd with a C string that outlives the call.
    let fd = unsafe {
        libc::openat(
            mnt.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY,
        )
    };
    let fd = owned_fd(fd as libc::c_long, "open binary on overlay")?;
    // The open file keeps the detached mount alive; the mount fd and the empty directory
    // (the mount holds it) are not needed any more.
    drop(mnt);
    drop(empty);
    let file = File::from(fd);
    // The binary must really be the one running, and the mount read-only.
    let (a, b) = (
        file.metadata().map_err(io_err("stat binary on overlay"))?,
        std::fs::metadata("/proc/self/exe").map_err(io_err("stat /proc/self/exe"))?,
    );
    use std::os::unix::fs::MetadataExt;
    if a.size() != b.size() || a.mtime() != b.mtime() || a.ino() != b.ino() {
        return Err(io_err("check binary on overlay")(io::Error::other(
            "the overlay shows another file",
        )));
    }
    // SAFETY: fstatvfs fills the struct we pass for a valid fd; all-zero is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstatvfs(file.as_raw_fd(), &mut st) } != 0 || st.f_flag & libc::ST_RDONLY == 0
    {
        return Err(io_err("check overlay")(io::Error::other("not read-only")));
    }
    Ok(file.into())
}

/// A sealed, close-on-exec memfd holding a copy of `/proc/self/exe`.
pub fn sealed_copy() -> Result<OwnedFd, SealError> {
    let mut exe = File::open("/proc/self/exe").map_err(io_err("open /proc/self/exe"))?;
    let name = c"minipod-runtime";
    // SAFETY: memfd_create with a valid C string and flags.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(io_err("memfd_create")(io::Error::last_os_error()));
    }
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut out = File::from(memfd);
    // std's copy uses copy_file_range/sendfile between files: no userspace buffer.
    io::copy(&mut exe, &mut out).map_err(io_err("copy binary into memfd"))?;
    // SAFETY: fcntl on a valid fd with integer arguments.
    if unsafe { libc::fcntl(out.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } < 0 {
        return Err(io_err("add seals")(io::Error::last_os_error()));
    }
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn lowerdir_separators_are_escaped() {
        assert_eq!(escape_lowerdir(b"/a:b\\c"), b"/a\\:b\\\\c".to_vec());
    }

    #[test]
    fn the_empty_layer_is_never_inside_the_binarys_directory() {
        let tmp = std::env::temp_dir();
        let d = EmptyDir::create(&tmp).unwrap();
        assert!(!d.0.starts_with(&tmp), "{:?}", d.0);
        assert!(d.0.is_dir());
        let d = EmptyDir::create(std::path::Path::new("/nonexistent")).unwrap();
        assert!(d.0.starts_with(&tmp), "{:?}", d.0);
    }

    #[test]
    fn overlay_copy_is_the_binary_and_refuses_writes() {
        if !minipod_testsupport::privileged() {
            return;
        }
        let fd = read_only_overlay_copy().unwrap();
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let err = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS));
        let mut a = Vec::new();
        let mut f = File::from(fd);
        std::io::Read::read_to_end(&mut f, &mut a).unwrap();
        assert_eq!(a, std::fs::read("/proc/self/exe").unwrap());
    }

    #[test]
    fn sealed_copy_refuses_writes() {
        let fd = sealed_copy().unwrap();
        let mut f = File::from(fd);
        let err = f.write_all(b"x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        // SAFETY: fcntl on a valid fd.
        let seals = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
        assert_eq!(seals & SEALS, SEALS);
    }
}
