//! httpGet and tcpSocket checks from inside a pod's network namespace, for probes and hooks.
//!
//! The kubelet sends these from the node to the pod IP. A pod here has only loopback in its
//! own network namespace, so the check enters that namespace and connects there instead. It
//! must run in a process of its own (the supervisor starts `minipod __netcheck`): `setns`
//! moves only the calling thread, and the supervisor must stay where it is.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

/// What to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetCheck {
    /// Connect, then close (tcpSocket probes).
    Tcp { host: String, port: u16 },
    /// `GET path` over HTTP/1.1 (httpGet probes and hooks).
    Http {
        host: String,
        port: u16,
        path: String,
        headers: Vec<(String, String)>,
    },
}

/// The result, with the kubelet's kind of output (the status line or the error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetOutcome {
    /// tcpSocket: the connection was accepted.
    Connected,
    /// httpGet: a response came, with this status code and status line.
    Response { status: u16, line: String },
    /// No connection or no response.
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum NetCheckError {
    #[error("enter network namespace {path}")]
    Setns {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// Moves this thread into the network namespace at `netns` (a bind-mounted ns file).
pub fn enter_netns(netns: &Path) -> Result<(), NetCheckError> {
    let err = |source| NetCheckError::Setns {
        path: netns.display().to_string(),
        source,
    };
    let file = std::fs::File::open(netns).map_err(err)?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| err(io::Error::from(e)))
}

/// Runs the check with a deadline for connect, write and read together.
pub fn check(what: &NetCheck, timeout: Duration) -> NetOutcome {
    let deadline = Instant::now() + timeout;
    let (host, port) = match what {
        NetCheck::Tcp { host, port } | NetCheck::Http { host, port, .. } => (host, *port),
    };
    let mut stream = match connect(host, port, timeout) {
        Ok(s) => s,
        Err(e) => {
            return NetOutcome::Failed(format!(
                "dial tcp {}: connect: {e}",
                join_host_port(host, port)
            ))
        }
    };
    let NetCheck::Http { path, headers, .. } = what else {
        return NetOutcome::Connected;
    };
    match http_get(&mut stream, host, port, path, headers, deadline) {
        Ok((status, line)) => NetOutcome::Response { status, line },
        Err(e) => NetOutcome::Failed(format!(
            "Get \"http://{}{path}\": {e}",
            join_host_port(host, port)
        )),
    }
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A minimal HTTP/1.1 GET: the status line is all a probe or hook needs (2xx/3xx succeed).
fn http_get(
    stream: &mut TcpStream,
    host: &str,
    port: u16,
    path: &str,
    headers: &[(String, String)],
    deadline: Instant,
) -> io::Result<(u16, String)> {
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "context deadline exceeded"))
    };
    stream.set_write_timeout(Some(left()?))?;
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let mut req = format!("GET {path} HTTP/1.1\r\n");
    if !has("host") {
        req.push_str(&format!("Host: {}\r\n", join_host_port(host, port)));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    stream.write_all(req.as_bytes())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        stream.set_read_timeout(Some(left()?))?;
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| line.starts_with("HTTP/"))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("malformed HTTP response {line:?}"),
            )
        })?;
    Ok((status, line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(response: &'static str) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(response.as_bytes());
            }
        });
        port
    }

    #[test]
    fn http_status_is_read() {
        let port = serve_once("HTTP/1.1 204 No Content\r\n\r\n");
        let out = check(
            &NetCheck::Http {
                host: "127.0.0.1".into(),
                port,
                path: "/healthz".into(),
                headers: vec![],
            },
            Duration::from_secs(5),
        );
        assert!(
            matches!(out, NetOutcome::Response { status: 204, .. }),
            "{out:?}"
        );
    }

    #[test]
    fn refused_connection_is_a_failure_with_the_kubelets_wording() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let out = check(
            &NetCheck::Tcp {
                host: "127.0.0.1".into(),
                port,
            },
            Duration::from_secs(2),
        );
        let NetOutcome::Failed(msg) = out else {
            panic!("{out:?}")
        };
        assert!(msg.starts_with("dial tcp 127.0.0.1:"), "{msg}");
    }

    #[test]
    fn tcp_connect_succeeds() {
        let port = serve_once("");
        let out = check(
            &NetCheck::Tcp {
                host: "127.0.0.1".into(),
                port,
            },
            Duration::from_secs(5),
        );
        assert_eq!(out, NetOutcome::Connected);
    }
}
