//! The console socket of libcontainer: with `process.terminal` it makes the pty inside the
//! container and sends the master back over a unix socket bound in the bundle directory.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The console socket of a container's own process (`tty: true`), in its bundle.
pub(super) const CONSOLE_SOCKET: &str = "console.sock";

/// The listening end of libcontainer's console socket, bound inside the bundle directory.
pub(super) struct ConsoleSocket {
    listener: std::os::unix::net::UnixListener,
    /// Kept open: `connect_path` goes through it.
    _dir: OwnedFd,
    pub(super) connect_path: PathBuf,
    file: PathBuf,
}

impl ConsoleSocket {
    pub(super) fn bind(dir: &Path, file_name: &str) -> io::Result<ConsoleSocket> {
        // Bound through /proc/self/fd/N so a long bundle path never hits the 108-byte limit
        // of a socket address.
        let d = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(dir)?;
        let dirfd: OwnedFd = d.into();
        use std::os::fd::AsRawFd;
        let connect_path =
            PathBuf::from(format!("/proc/self/fd/{}/{file_name}", dirfd.as_raw_fd()));
        let file = dir.join(file_name);
        let _ = fs::remove_file(&file);
        let listener = std::os::unix::net::UnixListener::bind(&connect_path)?;
        Ok(ConsoleSocket {
            listener,
            _dir: dirfd,
            connect_path,
            file,
        })
    }

    /// libcontainer connected while creating the container; the init sent the master.
    pub(super) fn receive_master(self) -> io::Result<OwnedFd> {
        use std::os::fd::AsRawFd;
        self.listener.set_nonblocking(true)?;
        let (conn, _) = self.listener.accept()?;
        let mut buf = [0u8; 4096];
        let mut iov = [io::IoSliceMut::new(&mut buf)];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
                if let Some(&fd) = fds.first() {
                    // SAFETY: the kernel just installed this fd for us.
                    return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        Err(io::Error::other("no pty master received"))
    }
}

impl Drop for ConsoleSocket {
    /// The socket file goes whether the master came or not: nothing connects to it twice.
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.file);
    }
}
