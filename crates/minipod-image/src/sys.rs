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

// The new mount API (Linux 5.2; overlay's `lowerdir+` key, one layer per call, since 6.8).
// Constants from include/uapi/linux/mount.h.
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

fn syscall_fd(rc: libc::c_long) -> io::Result<std::os::fd::OwnedFd> {
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // rc is a descriptor the kernel just returned; it fits in an int.
    Ok(own_fd(rc as std::os::fd::RawFd))
}

/// fsopen(2): a filesystem context for `fs_type`.
pub(crate) fn fsopen(fs_type: &CStr) -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: `fs_type` is NUL-terminated and outlives the call; the flags are valid.
    let rc = unsafe { libc::syscall(libc::SYS_fsopen, fs_type.as_ptr(), FSOPEN_CLOEXEC) };
    syscall_fd(rc)
}

/// fsconfig(2) FSCONFIG_SET_STRING `key`=`value` on a filesystem context.
pub(crate) fn fsconfig_set_string(fs: BorrowedFd<'_>, key: &CStr, value: &CStr) -> io::Result<()> {
    // SAFETY: `fs` is a live descriptor; `key` and `value` are NUL-terminated and live for
    // the call; aux is 0 as FSCONFIG_SET_STRING requires.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// fsconfig(2) FSCONFIG_CMD_CREATE: makes the superblock from the context's parameters.
pub(crate) fn fsconfig_create(fs: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: `fs` is a live descriptor; key and value are NULL and aux 0, as the command
    // requires.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// fsmount(2) then move_mount(2): attaches the context's filesystem at `target`.
pub(crate) fn fsmount_at(fs: BorrowedFd<'_>, target: &CStr) -> io::Result<()> {
    // SAFETY: `fs` is a live descriptor; flags are valid.
    let rc = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) };
    let mnt = syscall_fd(rc)?;
    // SAFETY: `mnt` is live; "" with MOVE_MOUNT_F_EMPTY_PATH names it; `target` is
    // NUL-terminated and resolved from the current directory only if relative (it is not).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
