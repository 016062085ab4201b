//! A test root with the busybox image loaded, for end-to-end tests that run real pods, and
//! helpers to read what those pods did.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{minipod_bin, test_images_dir, TestRoot};

/// A test root with busybox:1.35 loaded. Dropping it deletes every pod at once and checks
/// nothing of the root is still mounted, before the folder itself goes.
pub struct PodRoot {
    root: TestRoot,
}

impl PodRoot {
    /// None when the test is to be skipped: these tests create namespaces, mounts and cgroups,
    /// so they need root ([`minipod_testsupport::privileged`] fails them loudly otherwise).
    pub fn new() -> Option<Self> {
        if !minipod_testsupport::privileged() {
            return None;
        }
        let root = TestRoot::new();
        let image = test_images_dir().join("busybox-docker.tar");
        let out = root.minipod(&["image", "load", image.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "load busybox (run scripts/build-test-images.sh first): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(PodRoot { root })
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    pub fn minipod(&self, args: &[&str]) -> Output {
        self.root.minipod(args)
    }

    /// A folder of the root that pods mount as a hostPath (e.g. at `/shared`) to write their
    /// timeline into.
    pub fn shared_dir(&self) -> PathBuf {
        let shared = self.path().join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        shared
    }

    /// Writes a manifest into the root and returns its path.
    pub fn manifest(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `minipod ARGS...` with extra environment (inherited by the pods' supervisors).
    pub fn minipod_env(&self, args: &[&str], file: &Path, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(minipod_bin());
        cmd.arg("--root")
            .arg(self.path())
            .args(args)
            .arg(file)
            .env_remove("MINIPOD_ROOT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// `minipod run -f FILE` with extra environment, bounded in time.
    pub fn run(&self, file: &Path, env: &[(&str, &str)]) -> Output {
        self.minipod_env(&["run", "--timeout", "60s", "-f"], file, env)
    }

    /// `minipod apply -f FILE` with extra environment.
    pub fn apply_with_env(&self, file: &Path, env: &[(&str, &str)]) -> Output {
        self.minipod_env(&["apply", "-f"], file, env)
    }

    /// `minipod apply -f FILE` with extra environment, which must succeed.
    #[track_caller]
    pub fn apply(&self, file: &Path, env: &[(&str, &str)]) {
        let out = self.apply_with_env(file, env);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    /// Writes `yaml` as manifest `name` and applies it, which must succeed.
    #[track_caller]
    pub fn apply_yaml(&self, name: &str, yaml: &str) -> PathBuf {
        let file = self.manifest(name, yaml);
        self.apply(&file, &[]);
        file
    }

    /// A manifest `name` whose `{shared}` is the path of [`PodRoot::shared_dir`] (pods mount
    /// it as a hostPath to write their timeline into); returns the folder and the manifest.
    pub fn shared_manifest(&self, name: &str, yaml: &str) -> (PathBuf, PathBuf) {
        let shared = self.shared_dir();
        let file = self.manifest(name, &yaml.replace("{shared}", &shared.to_string_lossy()));
        (shared, file)
    }

    /// `python3 -c DRIVER DRIVER_ARGS... minipod --root ROOT exec ARGS...`: a Python driver
    /// that runs `minipod exec` under a terminal it made; asserts the driver succeeded and
    /// returns what it printed.
    #[track_caller]
    pub fn exec_under(&self, driver: &str, driver_args: &[&str], args: &[&str]) -> String {
        let out = Command::new("python3")
            .arg("-c")
            .arg(driver)
            .args(driver_args)
            .arg(minipod_bin())
            .arg("--root")
            .arg(self.path())
            .arg("exec")
            .args(args)
            .env_remove("MINIPOD_ROOT")
            .output()
            .expect("python3 runs the pty driver");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    }

    /// Applies the pod `box` (one container `c` sleeping) and waits until it runs.
    pub fn box_pod(&self) -> Value {
        self.apply_yaml(
            "box.yaml",
            r#"
apiVersion: v1
kind: Pod
metadata: {name: box}
spec:
  containers: [{name: c, image: busybox:1.35, command: [sleep, "3600"]}]
"#,
        );
        self.wait_for("box", "running", all_running)
    }

    pub fn pod_json(&self, name: &str) -> Value {
        let out = self.minipod(&["get", "pod", name, "-o", "json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn wait_for_phase(&self, name: &str, phase: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // The pod may not exist yet when `run` is still creating it.
            let out = self.minipod(&["get", "pod", name, "-o", "json"]);
            let p: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if p["status"]["phase"] == phase {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pod {name} never reached {phase}: {p}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PodRoot {
    fn drop(&mut self) {
        let _ = self.minipod(&["delete", "pods", "--all", "--grace-period=0", "--force"]);
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let root = self.path().to_string_lossy().into_owned();
        let left: Vec<&str> = mountinfo.lines().filter(|l| l.contains(&root)).collect();
        if !std::thread::panicking() {
            assert!(left.is_empty(), "mounts left behind: {left:#?}");
        }
    }
}

pub use crate::common::{assert_exit, stderr, stdout};

/// The status of container `name` (init or regular) in a `get pod -o json` object.
#[track_caller]
pub fn container<'a>(pod: &'a Value, name: &str) -> &'a Value {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| pod["status"][k].as_array())
        .flatten()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no status for {name}: {pod}"))
}

/// The status ("True"/"False") of condition `kind`.
#[track_caller]
pub fn condition(pod: &Value, kind: &str) -> String {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["type"] == kind))
        .and_then(|c| c["status"].as_str())
        .unwrap_or_else(|| panic!("no condition {kind}: {pod}"))
        .to_owned()
}

/// The restart count of `name`, -1 while the pod has no status for it (for `wait_for`).
pub fn restarts(pod: &Value, name: &str) -> i64 {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| pod["status"][k].as_array())
        .flatten()
        .find(|c| c["name"] == name)
        .and_then(|c| c["restartCount"].as_i64())
        .unwrap_or(-1)
}

/// Every app container of the pod is running (for `wait_for`).
pub fn all_running(p: &Value) -> bool {
    p["status"]["containerStatuses"]
        .as_array()
        .is_some_and(|cs| cs.iter().all(|c| c["state"]["running"].is_object()))
}

/// `(exitCode, reason)` of a container's `state` or `lastState` `terminated`.
pub fn exit_and_reason(terminated: &Value) -> (Option<i64>, Option<&str>) {
    (
        terminated["exitCode"].as_i64(),
        terminated["reason"].as_str(),
    )
}

/// The STATUS column of every row `run` printed.
pub fn statuses(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .collect()
}

/// Lines "<name> <event>" that containers appended to a shared file, in order.
pub fn timeline(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn position(lines: &[String], needle: &str) -> usize {
    lines
        .iter()
        .position(|l| l == needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {lines:#?}"))
}

impl PodRoot {
    /// Polls `get pod -o json` until `pred` holds (30 s at most); returns that state.
    pub fn wait_for(&self, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.minipod(&["get", "pod", name, "-o", "json"]);
            let p: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if pred(&p) {
                return p;
            }
            assert!(Instant::now() < deadline, "pod {name}: never {what}: {p}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
