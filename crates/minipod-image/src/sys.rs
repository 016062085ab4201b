//! The few system calls nix does not wrap (extended attributes), behind safe functions.
//! This is the only module of the crate with `unsafe`.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Sets an extended attribute on an open file or directory.
pub(crate) fn fsetxattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `fd` is a live descriptor for the duration of the call; `name` is a valid
    // NUL-terminated string and `value` a valid slice of the length passed.
    let rc = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads an extended attribute of an open file or directory; `None` when it is not set.
pub(crate) fn fgetxattr(fd: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    // SAFETY: as above; `buf` is writable for `buf.len()` bytes.
    let rc = unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if rc >= 0 {
        buf.truncate(rc as usize);
        return Ok(Some(buf));
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENODATA) => Ok(None),
        _ => Err(err),
    }
}

/// True when this process runs as root in the initial user namespace, where it may create
/// device nodes and `trusted.*` attributes.
pub(crate) fn is_host_root() -> bool {
    if !nix::unistd::geteuid().is_root() {
        return false;
    }
    // The initial user namespace maps the whole 32-bit range onto itself.
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(map) => map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"],
        Err(_) => false,
    }
}

/// Takes ownership of a descriptor that a nix call just returned.
pub(crate) fn own_fd(fd: std::os::fd::RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: callers pass a descriptor fresh from a successful open call, owned by nobody.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

/// Borrows a descriptor owned by a cache that is not touched while the borrow lives.
pub(crate) fn borrow_fd<'a>(fd: std::os::fd::RawFd) -> BorrowedFd<'a> {
    // SAFETY: see above; the caller keeps the owner alive and unchanged for the borrow.
    unsafe { BorrowedFd::borrow_raw(fd) }
}
