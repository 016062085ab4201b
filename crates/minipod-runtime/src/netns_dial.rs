//! TCP connections that start inside a pod's network namespace, for `minipod port-forward`.
//!
//! The kubelet forwards a port by entering the pod's network namespace and dialling
//! `localhost:PORT` there. A process that serves many connections cannot move itself (`setns`
//! moves only the calling thread, and the other threads must stay on the host to accept
//! clients), so one dedicated thread enters the namespace once and lives there.
//!
//! That thread only *creates* sockets: a socket belongs to the network namespace it was
//! created in for its whole life, whichever thread later uses it. The caller connects the
//! socket on its own thread, so a connect that takes long (a full listen backlog) delays only
//! its own client, never the others queued behind it.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6};

use crate::netcheck::{enter_netns, NetCheckError};

/// A request to the namespace thread: one new TCP socket of this family.
struct SocketRequest {
    family: AddressFamily,
    reply: mpsc::Sender<io::Result<OwnedFd>>,
}

#[derive(Debug, thiserror::Error)]
pub enum NetnsDialError {
    #[error(transparent)]
    Enter(#[from] NetCheckError),
    #[error("start the thread for network namespace {path}")]
    Spawn {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the thread for network namespace {path} ended before it was ready")]
    ThreadGone { path: PathBuf },
}

/// Dials TCP connections from a pod's network namespace, or from the host's for pods on the
/// host network. Cheap to share between threads (`&self` methods only).
pub struct NetnsDialer {
    /// `None`: the host namespace, where every thread already is.
    sockets: Option<mpsc::Sender<SocketRequest>>,
}

impl NetnsDialer {
    /// Dials from the host's own network namespace (hostNetwork pods).
    pub fn host() -> Self {
        NetnsDialer { sockets: None }
    }

    /// Starts the thread that enters the namespace at `netns` (a bind-mounted ns file) and
    /// returns once it is inside, or with the reason it could not enter.
    pub fn enter(netns: &Path) -> Result<Self, NetnsDialError> {
        let (requests, incoming) = mpsc::channel::<SocketRequest>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let path = netns.to_owned();
        std::thread::Builder::new()
            .name("netns-dial".into())
            .spawn(move || {
                if let Err(e) = enter_netns(&path) {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
                let _ = ready_tx.send(Ok(()));
                // Ends when every dialer handle is dropped.
                for request in incoming {
                    let _ = request.reply.send(new_tcp_socket(request.family));
                }
            })
            .map_err(|source| NetnsDialError::Spawn {
                path: netns.to_owned(),
                source,
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(NetnsDialer {
                sockets: Some(requests),
            }),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(NetnsDialError::ThreadGone {
                path: netns.to_owned(),
            }),
        }
    }

    /// Connects to `addr` as seen from inside the namespace; blocks the calling thread only.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let family = match addr {
            SocketAddr::V4(_) => AddressFamily::Inet,
            SocketAddr::V6(_) => AddressFamily::Inet6,
        };
        let Some(requests) = &self.sockets else {
            return TcpStream::connect(addr);
        };
        let (reply, answer) = mpsc::channel();
        let gone = || io::Error::other("the network namespace thread has ended");
        requests
            .send(SocketRequest { family, reply })
            .map_err(|_| gone())?;
        let fd = answer.recv().map_err(|_| gone())??;
        let result = match addr {
            SocketAddr::V4(a) => socket::connect(fd.as_raw_fd(), &SockaddrIn::from(a)),
            SocketAddr::V6(a) => socket::connect(fd.as_raw_fd(), &SockaddrIn6::from(a)),
        };
        result.map_err(io::Error::from)?;
        Ok(TcpStream::from(fd))
    }
}

fn new_tcp_socket(family: AddressFamily) -> io::Result<OwnedFd> {
    socket::socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    #[test]
    fn the_host_dialer_connects_in_the_callers_namespace() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let dialer = NetnsDialer::host();
        let mut stream = dialer.connect(addr).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        stream.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }

    #[test]
    fn entering_a_missing_namespace_file_is_an_error_naming_it() {
        let err = NetnsDialer::enter(Path::new("/nonexistent/ns/net"))
            .err()
            .expect("no such namespace");
        assert!(err.to_string().contains("/nonexistent/ns/net"), "{err}");
    }
}
