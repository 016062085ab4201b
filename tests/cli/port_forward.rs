//! `minipod port-forward` end to end: busybox httpd in a pod, reached from the host through
//! the forwarder, as `kubectl port-forward` users do. Privileged: they need root.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{minipod_at, stderr_of_exit, TestRoot};
use crate::pods::{stderr, PodRoot};
use minipod_testsupport::or_skip;

const WEB_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox:1.35
    command: [sh, -c, "mkdir -p /www && echo hello from the pod > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports:
    - {name: http, containerPort: 8080}
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
"#;

/// Applies the web pod and waits until httpd answers its readiness probe.
fn start_web(root: &PodRoot) {
    let file = root.manifest("web.yaml", WEB_POD);
    root.apply(&file, &[]);
    root.wait_for("web", "ready", |p| {
        p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    });
}

/// A running `minipod port-forward`, killed when dropped so no test path leaves one behind.
struct Forwarder {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Forwarder {
    fn start(root: &std::path::Path, args: &[&str]) -> Self {
        let mut child = minipod_at(root)
            .arg("port-forward")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Forwarder {
            child,
            lines,
            stderr,
        }
    }

    /// The next stdout line (10 s at most).
    fn line(&mut self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no output; stderr: {}", self.stderr()))
    }

    /// Reads one `Forwarding from 127.0.0.1:LOCAL -> REMOTE` line; returns (LOCAL, REMOTE).
    fn forwarding(&mut self) -> (u16, u16) {
        let line = self.line();
        let rest = line
            .strip_prefix("Forwarding from 127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        let (local, remote) = rest.split_once(" -> ").unwrap();
        (local.parse().unwrap(), remote.parse().unwrap())
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "port-forward still runs; stderr: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `GET /index.html` over HTTP/1.0 on a local port; returns the whole response. With
/// `half_close`, the request side is shut down before reading, as some clients do.
fn http_get(port: u16, half_close: bool) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    if half_close {
        s.shutdown(Shutdown::Write).unwrap();
    }
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

fn assert_hello(response: &str) {
    let status = response.lines().next().unwrap_or_default();
    assert!(status.ends_with(" 200 OK"), "{response}");
    assert!(response.contains("hello from the pod"), "{response}");
}

#[test]
fn forwards_http_from_a_random_local_port_and_serves_many_connections_at_once() {
    let root = or_skip!(PodRoot::new());
    start_web(&root);
    let mut fwd = Forwarder::start(root.path(), &["web", ":8080", ":9999"]);
    let (port, remote) = fwd.forwarding();
    assert_eq!(remote, 8080);
    assert_ne!(port, 0);
    let (closed_port, closed_remote) = fwd.forwarding();
    assert_eq!(closed_remote, 9999);

    assert_hello(&http_get(port, false));
    let clients: Vec<_> = (0..20)
        .map(|i| std::thread::spawn(move || http_get(port, i % 2 == 0)))
        .collect();
    for c in clients {
        assert_hello(&c.join().unwrap());
    }
    let handled = (0..21)
        .map(|_| fwd.line())
        .filter(|l| *l == format!("Handling connection for {port}"))
        .count();
    assert_eq!(handled, 21);

    // Nothing listens on 9999 in the pod: that client is closed, the error is one line on
    // stderr, and the forwarder keeps serving.
    let mut refused = TcpStream::connect(("127.0.0.1", closed_port)).unwrap();
    refused
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = refused.read_to_end(&mut buf);
    assert!(buf.is_empty());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fwd.stderr().contains("9999") {
        assert!(Instant::now() < deadline, "no error for port 9999");
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = fwd.stderr();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_hello(&http_get(port, true));
    assert!(fwd.child.try_wait().unwrap().is_none());
}

#[test]
fn a_named_port_on_a_chosen_local_port_ends_with_exit_0_on_sigint() {
    let root = or_skip!(PodRoot::new());
    start_web(&root);
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let local = free.local_addr().unwrap().port();
    drop(free);
    let spec = format!("{local}:http");
    let mut fwd = Forwarder::start(
        root.path(),
        &["pod/web", &spec, "--address", "localhost,127.0.0.1"],
    );
    // localhost and 127.0.0.1 are one address: one listener.
    assert_eq!(fwd.forwarding(), (local, 8080));
    assert_hello(&http_get(local, true));
    assert_eq!(fwd.line(), format!("Handling connection for {local}"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(fwd.child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = fwd.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{}", fwd.stderr());

    let out = root.minipod(&["port-forward", "web", "80:nope"]);
    assert_eq!(
        stderr_of_exit(&out, 2),
        "error: pod \"web\" has no containerPort named \"nope\"\n"
    );
}

#[test]
fn refuses_pods_that_are_not_running() {
    let root = or_skip!(PodRoot::new());
    root.apply_yaml(
        "pods.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: waiting}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: slow, image: busybox:1.35, command: [sleep, "1000"]}
  containers:
  - {name: app, image: busybox:1.35, command: [sleep, "1000"]}
---
apiVersion: v1
kind: Pod
metadata: {name: done}
spec:
  restartPolicy: Never
  containers:
  - {name: app, image: busybox:1.35, command: ["true"]}
"#,
    );
    root.wait_for_phase("done", "Succeeded");
    root.wait_for_phase("waiting", "Pending");
    for (pod, phase) in [("waiting", "Pending"), ("done", "Succeeded")] {
        let out = root.minipod(&["port-forward", pod, "8080"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "error: unable to forward port because pod is not running. Current status={phase}\n"
            )
        );
    }
}

#[test]
fn bad_port_specs_exit_2_and_a_missing_pod_is_not_found() {
    let root = TestRoot::new();
    for args in [
        &["port-forward", "web", "1:2:3"][..],
        &["port-forward", "web", "8080:0"],
        &["port-forward", "web", "x:80"],
        &["port-forward", "web", "80", "--address", "example.com"],
        &["port-forward", "svc/web", "80"],
        &["port-forward", "web"],
    ] {
        let out = root.minipod(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        if args.len() > 2 {
            assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        }
    }
    let out = root.minipod(&["port-forward", "web", "8080"]);
    assert_eq!(
        stderr_of_exit(&out, 1),
        "Error from server (NotFound): pods \"web\" not found\n"
    );
}

#[test]
fn the_forwarder_loses_its_connection_when_the_pod_is_deleted() {
    let root = or_skip!(PodRoot::new());
    start_web(&root);
    let mut fwd = Forwarder::start(root.path(), &["web", ":8080"]);
    let (port, _) = fwd.forwarding();
    assert_hello(&http_get(port, false));
    let out = root.minipod(&["delete", "pod", "web", "--grace-period=1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = fwd.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1));
    let err = fwd.stderr();
    assert!(err.ends_with("error: lost connection to pod\n"), "{err}");
}

#[test]
fn a_host_network_pod_is_dialled_in_the_host_namespace() {
    let root = or_skip!(PodRoot::new());
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let file = root.manifest(
        "host.yaml",
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: host-web}}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox:1.35
    command: [sh, -c, "mkdir -p /www && echo hello from the pod > /www/index.html && exec httpd -f -p {port} -h /www"]
    readinessProbe:
      tcpSocket: {{port: {port}}}
      periodSeconds: 1
"#
        ),
    );
    root.apply(&file, &[]);
    root.wait_for("host-web", "ready", |p| {
        p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    });
    let remote = port.to_string();
    let mut fwd = Forwarder::start(root.path(), &["host-web", &format!(":{remote}")]);
    let (local, forwarded) = fwd.forwarding();
    assert_eq!(forwarded, port);
    assert_hello(&http_get(local, false));
}
