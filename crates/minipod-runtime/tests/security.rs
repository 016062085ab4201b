//! securityContext observed from inside the container (through spec.rs's `build_spec`),
//! default masks, read-only root, emptyDir across a restart, no fd leaks, sealed binary.

mod common;

use common::*;
use std::path::Path;

use minipod_testsupport::or_skip;
use serde_json::{json, Value};

const STATUS: &str = "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status";

/// Runs each `(name, args, extra fields)` as a container of one pod, one after the other.
fn run(env: &TestEnv, rootfs: &Path, containers: Vec<(&str, Vec<&str>, Value)>) -> Value {
    let list: Vec<Value> = containers
        .into_iter()
        .map(|(name, args, extra)| {
            let mut c = json!({"pod": "p", "name": name, "rootfs": rootfs, "args": args});
            merge(&mut c, extra);
            c
        })
        .collect();
    let report = run_probe(env, one_pod(env, Value::Array(list)));
    assert_no_errors(&report);
    report
}

fn status_field(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in {out:?}"))
        .trim()
        .to_string()
}

fn stdout<'a>(report: &'a Value, name: &str) -> &'a str {
    let c = container(report, name);
    assert_eq!(c["exit_code"], 0, "{name}: {report:#}");
    c["stdout"].as_str().unwrap()
}

#[test]
fn capabilities_no_new_privs_and_seccomp_from_inside() {
    let (env, rootfs) = or_skip!(setup("caps"));
    let sh = |s: &'static str| vec!["/bin/sh", "-c", s];
    let report = run(
        &env,
        &rootfs,
        vec![
            ("default", sh(STATUS), json!({})),
            (
                "hardened",
                sh(STATUS),
                json!({"security": {"allow_privilege_escalation": false,
                    "runtime_default_seccomp": true, "capabilities_drop": ["ALL"]}}),
            ),
            (
                "netadmin",
                sh(STATUS),
                json!({"security": {"capabilities_drop": ["ALL"], "capabilities_add": ["NET_ADMIN"]}}),
            ),
        ],
    );
    let d = stdout(&report, "default");
    // containerd's default set (docs/runtime.md).
    assert_eq!(status_field(d, "CapEff"), "00000000a80425fb", "{d}");
    assert_eq!(status_field(d, "NoNewPrivs"), "0");
    assert_eq!(status_field(d, "Seccomp"), "0");
    let h = stdout(&report, "hardened");
    assert_eq!(status_field(h, "CapEff"), "0000000000000000", "{h}");
    assert_eq!(status_field(h, "NoNewPrivs"), "1");
    assert_eq!(status_field(h, "Seccomp"), "2");
    let n = stdout(&report, "netadmin");
    assert_eq!(status_field(n, "CapEff"), "0000000000001000", "{n}");
    env.assert_clean();
}

/// containerd gives a privileged container every capability of its own bounding set
/// (`WithAllCurrentCapabilities`); asking for more fails the create. CI's root lacks
/// CAP_SYS_RESOURCE, so "all up to cap_last_cap" cannot work there.
#[test]
fn privileged_gets_every_current_capability() {
    let (env, rootfs) = or_skip!(setup("priv"));
    let report = run(
        &env,
        &rootfs,
        vec![(
            "privileged",
            vec!["/bin/sh", "-c", STATUS],
            json!({"security": {"privileged": true}}),
        )],
    );
    let p = stdout(&report, "privileged");
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    assert_eq!(
        status_field(p, "CapEff"),
        status_field(&own, "CapBnd"),
        "{p}"
    );
    env.assert_clean();
}

#[test]
fn run_as_user_and_group_seen_by_id() {
    let (env, rootfs) = or_skip!(setup("id"));
    let report = run(
        &env,
        &rootfs,
        vec![
            ("root", vec!["/bin/id"], json!({})),
            (
                "app",
                vec!["/bin/id"],
                json!({"security": {"run_as_user": 1000, "run_as_group": 2000}}),
            ),
        ],
    );
    assert_eq!(
        stdout(&report, "root"),
        "uid=0(root) gid=0(root) groups=0(root)\n"
    );
    let app = stdout(&report, "app");
    assert!(app.starts_with("uid=1000(app) gid=2000(extra)"), "{app}");
    env.assert_clean();
}

#[test]
fn read_only_root_and_default_masks() {
    let (env, rootfs) = or_skip!(setup("ro"));
    let script = "touch /probe 2>&1; echo touch=$?; \
                  echo timer_list=$(wc -c < /proc/timer_list); echo keys=$(wc -c < /proc/keys); \
                  echo acpi=$(ls /proc/acpi | wc -l); \
                  echo firmware=$(ls /sys/firmware | wc -l); \
                  echo 1 > /proc/sys/vm/drop_caches 2>/dev/null; echo procsys=$?; \
                  echo tmpfs_dev=$(grep -c ' /dev tmpfs' /proc/mounts)";
    let report = run(
        &env,
        &rootfs,
        vec![
            (
                "ro",
                vec!["/bin/sh", "-c", script],
                json!({"read_only_root": true}),
            ),
            ("rw", vec!["/bin/sh", "-c", script], json!({})),
        ],
    );
    let ro = stdout(&report, "ro");
    assert!(ro.contains("Read-only file system"), "{ro}");
    assert!(ro.contains("touch=1"), "{ro}");
    for out in [ro, stdout(&report, "rw")] {
        // (/proc/kcore does not exist on every kernel; these masked paths do on CI.)
        assert!(out.contains("timer_list=0"), "{out}");
        assert!(out.contains("keys=0"), "{out}");
        assert!(out.contains("acpi=0"), "{out}");
        assert!(out.contains("firmware=0"), "{out}");
        assert!(out.contains("procsys=1"), "{out}");
        assert!(out.contains("tmpfs_dev=1"), "{out}");
    }
    assert!(stdout(&report, "rw").contains("touch=0"));
    env.assert_clean();
}

// containerd/runc: the cgroup tree is read-only unless privileged (WithWriteableCgroupfs).
// libcontainer 0.7.0 mounts v1 hierarchies read-write, which would let a container raise its
// own limits; minipod bind-mounts them read-only itself.
#[test]
fn cgroup_tree_is_read_only_unless_privileged() {
    let (env, rootfs) = or_skip!(setup("cgro"));
    let script = "for f in pids/pids.max memory/memory.limit_in_bytes; do \
                    if [ -e /sys/fs/cgroup/$f ]; then \
                      (cat /sys/fs/cgroup/$f > /sys/fs/cgroup/$f) 2>/dev/null && echo $f=written || echo $f=refused; \
                    fi; \
                  done; \
                  mkdir /sys/fs/cgroup/pids/child 2>/dev/null && rmdir /sys/fs/cgroup/pids/child && echo mkdir=made || echo mkdir=refused; \
                  ls /sys/fs/cgroup/pids/pids.max >/dev/null && echo visible";
    let report = run(
        &env,
        &rootfs,
        vec![
            ("plain", vec!["/bin/sh", "-c", script], json!({})),
            (
                "priv",
                vec!["/bin/sh", "-c", script],
                json!({"security": {"privileged": true}}),
            ),
        ],
    );
    let plain = stdout(&report, "plain");
    assert!(plain.contains("visible"), "{plain}");
    assert!(
        !plain.contains("written") && !plain.contains("mkdir=made"),
        "{plain}"
    );
    assert!(plain.contains("pids/pids.max=refused"), "{plain}");
    let privileged = stdout(&report, "priv");
    assert!(privileged.contains("mkdir=made"), "{privileged}");
    env.assert_clean();
}

#[test]
fn empty_dir_survives_a_container_restart() {
    let (env, rootfs) = or_skip!(setup("emptydir"));
    let vol = env.path().join("volumes/cache");
    std::fs::create_dir_all(&vol).unwrap();
    let mount = json!({"mounts": [{"host": vol, "dest": "/cache"}]});
    let mut second = mount.clone();
    second["restart_count"] = json!(1);
    let report = run(
        &env,
        &rootfs,
        vec![
            (
                "app",
                vec!["/bin/sh", "-c", "echo first-attempt > /cache/state; exit 1"],
                mount.clone(),
            ),
            ("app", vec!["/bin/cat", "/cache/state"], second),
        ],
    );
    assert_eq!(stdout(&report, "app"), "first-attempt\n");
    let logs = env
        .run_root()
        .join("pods")
        .join(format!("{}-p", env.tag))
        .join("logs/app");
    assert!(logs.join("0.log").exists() && logs.join("1.log").exists());
    env.assert_clean();
}

#[test]
fn no_fd_leaks_into_containers_and_binary_is_sealed() {
    let (env, rootfs) = or_skip!(setup("fds"));
    let report = run_probe(
        &env,
        one_pod_with(
            &env,
            json!({}),
            json!({"seal": true}),
            json!([{"pod": "p", "name": "c", "rootfs": rootfs,
                // ls opens the directory itself: fd 3 is ls's own.
                "args": ["/bin/ls", "/proc/self/fd"]}]),
        ),
    );
    assert_no_errors(&report);
    assert_eq!(report["sealed"], true, "{report:#}");
    assert_eq!(stdout(&report, "c"), "0\n1\n2\n3\n");
    env.assert_clean();
}
