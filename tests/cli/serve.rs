//! `minipod serve` end to end, driven by the real `kubectl` on the PATH: discovery, `get`
//! of pods (the same READY/STATUS as `minipod get pods`, `-o wide`, `-A`, `-l`, `-o json`),
//! namespaces, events, the API server's NotFound, and a client without a certificate
//! refused. Each test runs its own server on a free loopback port with a private root, and
//! kubectl with its own HOME (it caches discovery under ~/.kube).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use minipod_testsupport::or_skip;
use serde_json::Value;

use crate::common::{minipod_bin, TestRoot};
use crate::pods::{stderr, stdout, PodRoot};

/// A running `minipod serve`, killed when dropped (also when the test fails).
struct Server {
    child: Child,
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

impl Server {
    /// Starts `minipod --root ROOT serve --listen 127.0.0.1:0` and waits for its kubeconfig
    /// (written once the port is bound).
    fn start(root: &Path) -> Server {
        let kubeconfig = root.join("serve").join("kubeconfig");
        let child = Command::new(minipod_bin())
            .arg("--root")
            .arg(root)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("MINIPOD_ROOT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start minipod serve");
        let home = tempfile::Builder::new()
            .prefix("minipod-kube-home-")
            .tempdir()
            .unwrap();
        let mut server = Server {
            child,
            kubeconfig,
            home,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !server.kubeconfig.exists() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("minipod serve exited early: {status}");
            }
            assert!(Instant::now() < deadline, "minipod serve never started");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The `server:` URL of the kubeconfig.
    fn url(&self) -> String {
        let text = std::fs::read_to_string(&self.kubeconfig).unwrap();
        text.lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .expect("server in kubeconfig")
            .to_owned()
    }

    /// `kubectl ARGS...` against this server.
    fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl (is it on the PATH?)")
    }

    /// Stops the server with `signal` and returns how it exited (within 10 s).
    fn stop(&mut self, signal: nix::sys::signal::Signal) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "minipod serve did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `kubectl ARGS...` in the background, its stdout going to `out`.
    fn kubectl_spawn(&self, args: &[&str], out: &Path) -> Child {
        Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("run kubectl (is it on the PATH?)")
    }

    /// `kubectl ARGS...`, which must succeed; its stdout.
    fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rows of a table without its AGE column (the fifth), which may tick between two runs.
fn without_age(table: &str) -> Vec<Vec<String>> {
    without_column(table, 4)
}

/// The rows of a table (split at spaces) without the column at `index`.
fn without_column(table: &str, index: usize) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| {
            let words: Vec<String> = l.split_whitespace().map(str::to_owned).collect();
            words
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != index)
                .map(|(_, w)| w.clone())
                .collect()
        })
        .collect()
}

#[test]
fn kubectl_discovers_minipod_and_gets_nothing_from_an_empty_root() {
    let root = TestRoot::new();
    let server = Server::start(root.path());

    let version = server.kubectl_ok(&["version"]);
    assert!(
        version.contains("Server Version: v1.32.0-minipod"),
        "{version}"
    );

    let out = server.kubectl(&["get", "pods"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out).trim(),
        "No resources found in default namespace."
    );

    let out = server.kubectl(&["get", "pod", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "Error from server (NotFound): pods \"nosuch\" not found"
    );

    let ns = server.kubectl_ok(&["get", "ns"]);
    let rows = without_age(&ns);
    assert_eq!(rows[0], ["NAME", "STATUS", "AGE"]);
    assert_eq!(rows[1][..2], ["default", "Active"]);

    let resources = server.kubectl_ok(&["api-resources"]);
    let lines: Vec<Vec<&str>> = resources
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    );
    for want in [
        ["events", "ev", "v1", "true", "Event"],
        ["namespaces", "ns", "v1", "false", "Namespace"],
        ["pods", "po", "v1", "true", "Pod"],
    ] {
        assert!(lines.contains(&want.to_vec()), "{want:?} in {resources}");
    }

    // Not served yet: kubectl hears the API server's MethodNotAllowed.
    let out = server.kubectl(&["delete", "pod", "nosuch"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("(MethodNotAllowed)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn serve_stops_on_sigint_and_sigterm_and_reuses_its_certificates() {
    use nix::sys::signal::Signal;
    let root = TestRoot::new();
    let ca = root.path().join("serve").join("ca.crt");
    let client = root.path().join("serve").join("client.crt");

    let mut server = Server::start(root.path());
    server.kubectl_ok(&["get", "pods"]);
    let first = (std::fs::read(&ca).unwrap(), std::fs::read(&client).unwrap());
    assert!(server.stop(Signal::SIGINT).success());
    std::fs::remove_file(&server.kubeconfig).unwrap();

    let mut again = Server::start(root.path());
    again.kubectl_ok(&["get", "pods"]);
    assert_eq!(
        (std::fs::read(&ca).unwrap(), std::fs::read(&client).unwrap()),
        first
    );
    assert!(again.stop(Signal::SIGTERM).success());
}

#[test]
fn a_client_without_a_certificate_is_refused() {
    let root = TestRoot::new();
    let server = Server::start(root.path());
    // The server's own CA, but no client certificate.
    let ca = root.path().join("serve").join("ca.crt");
    let out = Command::new("kubectl")
        .args(["get", "pods", "--request-timeout=10s"])
        .arg(format!("--server={}", server.url()))
        .arg(format!("--certificate-authority={}", ca.display()))
        .env("KUBECONFIG", "/dev/null")
        .env("HOME", server.home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // (kubectl, having no credentials, first asks for a user name on stdout.)
    assert!(!out.status.success(), "{}", stdout(&out));
    // Refused in the TLS handshake: with TLS 1.3 the client sees the server's alert
    // ("certificate required") or, having finished its side first, the connection close.
    let err = stderr(&out);
    assert!(
        ["certificate required", "EOF", "connection reset"]
            .iter()
            .any(|m| err.contains(m)),
        "{err}"
    );
    // The same request with the kubeconfig's certificate goes through.
    server.kubectl_ok(&["get", "pods"]);

    // The files are private.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = root.path().join("serve");
    assert_eq!(mode(dir.clone()), 0o700);
    for f in ["ca.key", "server.key", "client.key", "kubeconfig"] {
        assert_eq!(mode(dir.join(f)), 0o600, "{f}");
    }
}

/// A pod with an init container and a long-running app container.
const WEB: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web, tier: front}}
spec:
  initContainers:
  - {name: setup, image: busybox:1.35, command: [sh, -c, "true"]}
  containers:
  - {name: main, image: busybox:1.35, command: [sleep, "3600"]}
"#;

#[test]
fn kubectl_gets_a_running_pod_as_minipod_get_shows_it() {
    let root = or_skip!(PodRoot::new());
    let server = Server::start(root.path());
    let file = root.manifest("web.yaml", WEB);
    let out = root.minipod(&["run", "-d", "-f", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    root.wait_for_phase("web", "Running");
    // Ready once the app container runs (no probes).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let table = stdout(&root.minipod(&["get", "pods"]));
        if table.contains(" 1/1 ") {
            break;
        }
        assert!(Instant::now() < deadline, "web never ready: {table}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The same table as `minipod get pods`, plain and wide.
    for args in [&["get", "pods"][..], &["get", "pods", "-o", "wide"]] {
        let ours = stdout(&root.minipod(args));
        let theirs = server.kubectl_ok(args);
        assert_eq!(without_age(&theirs), without_age(&ours), "{args:?}");
    }
    let rows = without_age(&server.kubectl_ok(&["get", "pods"]));
    assert_eq!(rows[1], ["web", "1/1", "Running", "0"]);

    // -A and --show-labels read the rows' object metadata.
    let all = without_column(
        &server.kubectl_ok(&["get", "pods", "-A", "--show-labels"]),
        5,
    );
    assert_eq!(
        all[0],
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "LABELS"]
    );
    assert_eq!(
        all[1],
        [
            "default",
            "web",
            "1/1",
            "Running",
            "0",
            "app=web,tier=front"
        ]
    );

    // Label and field selectors.
    assert!(server
        .kubectl_ok(&["get", "pods", "-l", "app=web,tier in (front)"])
        .contains("web"));
    let out = server.kubectl(&["get", "pods", "-l", "app!=web"]);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out).trim(),
        "No resources found in default namespace."
    );
    assert!(server
        .kubectl_ok(&["get", "pods", "--field-selector", "status.phase=Running"])
        .contains("web"));
    assert_eq!(
        server.kubectl_ok(&[
            "get",
            "pods",
            "--field-selector",
            "metadata.name=other",
            "-o",
            "name"
        ]),
        ""
    );

    // The object itself, with the init container's status.
    let pod: Value = serde_json::from_str(&server.kubectl_ok(&["get", "pod", "web", "-o", "json"]))
        .expect("pod JSON");
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["metadata"]["name"], "web");
    let init = &pod["status"]["initContainerStatuses"];
    assert_eq!(init[0]["name"], "setup", "{pod}");
    assert_eq!(init[0]["state"]["terminated"]["reason"], "Completed");
    assert_eq!(
        root.pod_json("web")["metadata"]["uid"],
        pod["metadata"]["uid"]
    );

    // Paging: kubectl follows the continue token.
    assert!(server
        .kubectl_ok(&["get", "pods", "-A", "--chunk-size=1"])
        .contains("web"));

    // Namespaces and the kubelet's events about the pod.
    assert!(server.kubectl_ok(&["get", "ns"]).contains("default"));
    let uid = pod["metadata"]["uid"].as_str().unwrap();
    let events = server.kubectl_ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name=web,involvedObject.uid={uid}"),
    ]);
    assert!(
        events.contains("Started") && events.contains("pod/web"),
        "{events}"
    );

    // describe reads the pod and its events; wait watches it.
    let described = server.kubectl_ok(&["describe", "pod", "web"]);
    assert!(
        described.contains("Name:") && described.contains("web"),
        "{described}"
    );
    assert!(described.contains("Started container main"), "{described}");
    let waited = server.kubectl_ok(&["wait", "--for=condition=Ready", "pod/web", "--timeout=20s"]);
    assert_eq!(waited.trim(), "pod/web condition met");
}

/// Kills a background kubectl when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pod whose init container takes a moment, so that the watch sees the steps.
const SLOW_INIT: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: slow}
spec:
  initContainers:
  - {name: setup, image: busybox:1.35, command: [sh, -c, "sleep 2"]}
  containers:
  - {name: main, image: busybox:1.35, command: [sleep, "3600"]}
"#;

#[test]
fn kubectl_get_w_follows_a_pod_through_its_init_container() {
    let root = or_skip!(PodRoot::new());
    let server = Server::start(root.path());
    // Discovery first, so that the watch is running before the pod exists.
    server.kubectl_ok(&["get", "pods"]);
    let table_out = root.path().join("watch.txt");
    let events_out = root.path().join("watch.json");
    let _table = KillOnDrop(server.kubectl_spawn(&["get", "pods", "-w"], &table_out));
    let _events = KillOnDrop(server.kubectl_spawn(
        &["get", "pods", "-w", "-o", "json", "--output-watch-events"],
        &events_out,
    ));
    std::thread::sleep(Duration::from_secs(2));
    let file = root.manifest("slow.yaml", SLOW_INIT);
    let out = root.minipod(&["run", "-d", "-f", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let statuses = |text: &str| -> Vec<String> {
        text.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&table_out).unwrap_or_default();
        if statuses(&text).last().map(String::as_str) == Some("Running") {
            let seen = statuses(&text);
            assert!(seen.contains(&"Init:0/1".to_owned()), "{text}");
            assert!(text.starts_with("NAME "), "{text}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watch never showed Running: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Deleting the pod ends its events with DELETED.
    let out = root.minipod(&["delete", "pod", "slow", "--grace-period=1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&events_out).unwrap_or_default();
        let types: Vec<String> = serde_json::Deserializer::from_str(&text)
            .into_iter::<Value>()
            .map_while(Result::ok)
            .map(|e| e["type"].as_str().unwrap_or("").to_owned())
            .collect();
        if types.last().map(String::as_str) == Some("DELETED") {
            assert_eq!(types[0], "ADDED", "{types:?}");
            assert!(types.contains(&"MODIFIED".to_owned()), "{types:?}");
            break;
        }
        assert!(Instant::now() < deadline, "no DELETED event: {types:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
