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
    pub fn new() -> Self {
        assert!(
            nix::unistd::geteuid().is_root(),
            "these tests need root (they create namespaces, mounts and cgroups)"
        );
        let root = TestRoot::new();
        let image = test_images_dir().join("busybox-docker.tar");
        let out = root.minipod(&["image", "load", image.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "load busybox (run scripts/build-test-images.sh first): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PodRoot { root }
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

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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
