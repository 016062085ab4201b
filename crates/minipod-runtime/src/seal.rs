//! Protection of the runtime binary against CVE-2019-5736.
//!
//! A container process can reach the binary of the runtime that created it through
//! `/proc/<pid>/exe` while that runtime process is inside the container's namespaces (the
//! not-yet-exec'd init that libcontainer clones from the supervisor, or an exec'd tenant).
//! Opening it for writing would overwrite the host's `minipod` binary. The supervisor therefore
//! runs from an in-memory copy: at start it copies `/proc/self/exe` into a memfd, seals it
//! against every change, and re-executes itself from that memfd. `/proc/self/exe` then names
//! an immutable anonymous file, and writing to it fails with EPERM.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

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

/// Whether this process runs from a sealed memfd copy of its binary.
pub fn is_sealed() -> bool {
    let Ok(f) = File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: fcntl on a valid fd with an integer command.
    let seals = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & SEALS == SEALS
}

/// Re-executes the current binary from a sealed memfd unless it already runs from one.
/// Returns only when already sealed (or on error); call it first thing in `main`, before any
/// thread is started. Arguments and environment are passed on unchanged.
pub fn ensure_sealed() -> Result<(), SealError> {
    if is_sealed() {
        return Ok(());
    }
    let memfd = sealed_copy()?;
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
