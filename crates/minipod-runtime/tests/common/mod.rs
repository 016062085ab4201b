//! Shared helpers of the privileged integration tests: a busybox root filesystem, a private
//! run root per test with a Drop guard that removes every mount, cgroup and process the test
//! made, and a runner for the `minipod-runtime-probe` test driver.
//!
//! libcontainer must not run inside this multi-threaded test harness, so every container is
//! created by the probe binary in a process of its own.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

pub use minipod_testsupport::privileged;

/// The start of every scenario test: None when the test is skipped (see [`privileged`]),
/// else its [`TestEnv`] (tagged with `test`) and a busybox root filesystem in it.
pub fn setup(test: &str) -> Option<(TestEnv, PathBuf)> {
    if !privileged() {
        return None;
    }
    let env = TestEnv::new(test);
    let rootfs = env.rootfs("rootfs");
    Some((env, rootfs))
}

/// A scenario of one pod "p" (hostname "p", its uid from `env`) running `containers`.
pub fn one_pod(env: &TestEnv, containers: Value) -> Value {
    one_pod_with(env, json!({}), json!({}), containers)
}

/// [`one_pod`] with more fields: `pod`'s for the pod (a `name` there renames it, and so its
/// uid), `scenario`'s for the scenario itself.
pub fn one_pod_with(env: &TestEnv, pod: Value, scenario: Value, containers: Value) -> Value {
    let mut p = json!({"name": "p", "hostname": "p"});
    merge(&mut p, pod);
    p["uid"] = env.uid(p["name"].as_str().unwrap()).into();
    let mut s = json!({"root": env.run_root(), "pods": [p], "containers": containers});
    merge(&mut s, scenario);
    s
}

/// Runs container "c" of pod "p" with `fields` (args, limits, ...), which must end without a
/// scenario error; returns the report.
pub fn run_one(env: &TestEnv, rootfs: &Path, fields: Value) -> Value {
    let mut c = json!({"pod": "p", "name": "c", "rootfs": rootfs});
    merge(&mut c, fields);
    let report = run_probe(env, one_pod(env, json!([c])));
    assert_no_errors(&report);
    report
}

/// Sets every field of the object `fields` on `into`.
pub fn merge(into: &mut Value, fields: Value) {
    if let Value::Object(m) = fields {
        for (k, v) in m {
            into[k] = v;
        }
    }
}

/// A private temporary root for one test. Dropping it removes everything under it, including
/// mounts, and the cgroups of every pod uid handed out by [`TestEnv::uid`].
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub tag: String,
    uids: std::cell::RefCell<Vec<String>>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestEnv {
    pub fn new(test: &str) -> TestEnv {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("minipod-test-{}-{}-{}", test, std::process::id(), n);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{tag}-"))
            .tempdir()
            .expect("create temp dir");
        TestEnv {
            dir,
            tag,
            uids: Default::default(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A pod uid unique to this test; its cgroup is `minipod/<uid>`.
    pub fn uid(&self, pod: &str) -> String {
        let uid = format!("{}-{}", self.tag, pod);
        self.uids.borrow_mut().push(uid.clone());
        uid
    }

    pub fn run_root(&self) -> PathBuf {
        self.path().join("run")
    }

    /// A busybox root filesystem at `<tmp>/<name>` (fresh per call).
    pub fn rootfs(&self, name: &str) -> PathBuf {
        let root = self.path().join(name);
        build_busybox_rootfs(&root);
        root
    }

    /// Live processes of this test's pods.
    pub fn processes(&self) -> Vec<i32> {
        processes_in_pods(&self.uids.borrow())
    }

    /// Mount points under this test's directory (should be none after a scenario).
    pub fn mounts(&self) -> Vec<String> {
        mounts_under(self.path())
    }

    /// Cgroup directories left for this test's pods.
    pub fn leftover_cgroups(&self) -> Vec<PathBuf> {
        let layout = minipod_runtime::cgroup::CgroupLayout::host().expect("cgroup layout");
        self.uids
            .borrow()
            .iter()
            .flat_map(|u| layout.dirs(&Path::new("minipod").join(u)))
            .filter(|d| d.exists())
            .collect()
    }

    /// Asserts nothing of the test is left: no mount, no cgroup, no namespace file, no
    /// libcontainer state, no process in the run root.
    pub fn assert_clean(&self) {
        assert_eq!(self.mounts(), Vec::<String>::new(), "mounts left behind");
        assert_eq!(
            self.leftover_cgroups(),
            Vec::<PathBuf>::new(),
            "cgroups left behind"
        );
        let pods = self.run_root().join("pods");
        for uid in self.uids.borrow().iter() {
            let run = pods.join(uid);
            for leftover in ["ns/net", "ns/ipc", "ns/uts", "ns", "etc"] {
                assert!(
                    !run.join(leftover).exists(),
                    "{leftover} left in {}",
                    run.display()
                );
            }
            let containers = run.join("containers");
            if let Ok(rd) = std::fs::read_dir(&containers) {
                for c in rd.flatten() {
                    // The container directory itself stays (empty) between attempts.
                    let left: Vec<_> = std::fs::read_dir(c.path())
                        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
                        .unwrap_or_default();
                    assert!(
                        left.is_empty(),
                        "bundle or libcontainer state left in {}: {left:?}",
                        c.path().display()
                    );
                }
            }
        }
        // Killed processes that are no longer our children (a dead supervisor's) are reaped by
        // the host's init, a moment after their cgroup is gone.
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while !self.processes().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let left: Vec<String> = self
            .processes()
            .iter()
            .map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default())
            .collect();
        assert_eq!(left, Vec::<String>::new(), "processes left");
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Kill and remove the pods' cgroups first (their processes hold the mounts).
        for uid in self.uids.borrow().iter() {
            if let Ok(pc) = minipod_runtime::cgroup::PodCgroup::open(&format!("minipod/{uid}")) {
                let _ = pc.remove(Duration::from_secs(2));
            }
        }
        for pid in self.processes() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let mut mounts = mounts_under(self.path());
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// Mount points at or below `dir`, from /proc/self/mountinfo.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = dir.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(String::from))
        .filter(|m| m == &prefix || m.starts_with(&format!("{prefix}/")))
        .collect()
}

/// Live (not zombie) processes in the cgroup of any of `uids` (`.../minipod/<uid>/...`), in
/// any hierarchy: the containers of a test.
pub fn processes_in_pods(uids: &[String]) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cgroups = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
        let ours = uids.iter().any(|u| {
            let needle = format!("/minipod/{u}");
            cgroups
                .lines()
                .any(|l| l.contains(&format!("{needle}/")) || l.ends_with(&needle))
        });
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X'));
        if ours && !zombie {
            out.push(pid);
        }
    }
    out
}

/// `bin/busybox` plus one symlink per applet, `/etc/passwd`, `/etc/group` and the empty
/// directories a runtime mounts over.
pub fn build_busybox_rootfs(root: &Path) {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).expect("copy /bin/busybox");
    let list = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet.is_empty() || applet == "busybox" {
            continue;
        }
        let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
    }
    for d in [
        "etc", "tmp", "proc", "dev", "sys", "root", "home/app", "var", "usr", "sbin",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n",
    )
    .unwrap();
}

/// The `minipod-runtime-probe` binary, a crate of its own (see its Cargo.toml): found in the
/// target directory of this test binary, and built there first when missing or older than it.
pub fn probe() -> PathBuf {
    static PROBE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PROBE
        .get_or_init(|| {
            // <target>/<profile>/deps/<test binary>
            let exe = std::env::current_exe().expect("test binary path");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("<target>/<profile>");
            let target_dir = profile_dir.parent().expect("<target>");
            let bin = profile_dir.join("minipod-runtime-probe");
            let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            if mtime(&bin).is_none() || mtime(&bin) < mtime(&exe) {
                let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
                    Some("debug") | None => "dev",
                    Some(other) => other,
                };
                let status = Command::new(env!("CARGO"))
                    .args([
                        "build",
                        "--quiet",
                        "-p",
                        "minipod-runtime-probe",
                        "--profile",
                    ])
                    .arg(profile)
                    .arg("--target-dir")
                    .arg(target_dir)
                    .current_dir(env!("CARGO_MANIFEST_DIR"))
                    .status()
                    .expect("run cargo build -p minipod-runtime-probe");
                assert!(
                    status.success(),
                    "cargo build -p minipod-runtime-probe failed"
                );
            }
            bin
        })
        .clone()
}

/// Runs a scenario through the probe binary; returns its JSON report.
pub fn run_probe(env: &TestEnv, scenario: Value) -> Value {
    let file = env.path().join(format!(
        "scenario-{}.json",
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&file, serde_json::to_vec_pretty(&scenario).unwrap()).unwrap();
    let out = Command::new(probe())
        .arg("scenario")
        .arg(&file)
        .output()
        .expect("run probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "probe output is not JSON ({e}); status {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        )
    })
}

/// The report of container `name` (the last attempt with that name).
pub fn container<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["containers"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name} in {report:#}"))
}

pub fn assert_no_errors(report: &Value) {
    assert_eq!(
        report["errors"],
        serde_json::json!([]),
        "scenario errors: {report:#}"
    );
}
