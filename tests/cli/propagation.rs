//! End-to-end tests of mountPropagation (after test/e2e/node/mount_propagation.go).
//!
//! The hostPath every pod mounts is a plain folder of the test root, on this host's private
//! `/`: minipod has to make it a shared mount itself (the kubelet's rshared root directory) for
//! HostToContainer and Bidirectional to do anything, and undo that when the pods go. Every
//! mount a test makes on the host is undone by a [`HostMounts`] guard, even when it fails.
//! Privileged: they need root and fail without it (MINIPOD_SKIP_PRIVILEGED=1 skips them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use serde_json::Value;

use crate::pods::{stderr, stdout, PodRoot};
use minipod_testsupport::or_skip;

/// Mounts a test made on the host, unmounted (lazily, most recent first) when dropped.
#[derive(Default)]
struct HostMounts {
    paths: Vec<PathBuf>,
}

impl HostMounts {
    /// `mount -t tmpfs NAME PATH` and a `file` in it holding `content`.
    fn tmpfs_with_file(&mut self, path: &Path, content: &str) {
        std::fs::create_dir_all(path).unwrap();
        mount(
            Some("e2e-mount-propagation-host"),
            path,
            Some("tmpfs"),
            MsFlags::empty(),
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("mount tmpfs on {}: {e}", path.display()));
        self.paths.push(path.to_path_buf());
        std::fs::write(path.join("file"), content).unwrap();
    }

    /// A mount that reached the host from a pod: the test undoes it too.
    fn adopt(&mut self, path: &Path) {
        self.paths.push(path.to_path_buf());
    }

    /// `mount --bind PATH PATH; mount --make-shared PATH`.
    fn shared_bind(&mut self, path: &Path) {
        mount(
            Some(path),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("bind {} onto itself: {e}", path.display()));
        self.paths.push(path.to_path_buf());
        mount(
            None::<&str>,
            path,
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("make {} shared: {e}", path.display()));
    }
}

impl Drop for HostMounts {
    fn drop(&mut self) {
        for p in self.paths.drain(..).rev() {
            let _ = umount2(&p, MntFlags::MNT_DETACH);
        }
    }
}

/// The mountinfo lines of mounts on exactly `path` (a path without characters mountinfo
/// escapes, as test roots are).
fn mounts_at(path: &Path) -> Vec<String> {
    let want = path.to_str().unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some(want))
        .map(str::to_owned)
        .collect()
}

/// The `shared:N` peer group of a mountinfo line.
fn peer_group(line: &str) -> Option<&str> {
    line.split(' ')
        .take_while(|f| *f != "-")
        .find_map(|f| f.strip_prefix("shared:"))
}

/// A privileged busybox pod mounting `host_dir` at /mnt/test with `propagation` (`None` leaves
/// the field out), making /mnt/test/NAME and then sleeping.
fn pod(name: &str, host_dir: &Path, propagation: Option<&str>) -> String {
    let propagation = propagation
        .map(|p| format!(", mountPropagation: {p}"))
        .unwrap_or_default();
    format!(
        r#"---
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{{name: host, hostPath: {{path: {dir}, type: Directory}}}}]
  containers:
  - name: c
    image: busybox:1.35
    command: [sh, -c, "mkdir -p /mnt/test/{name}; exec sleep 3600"]
    securityContext: {{privileged: true}}
    volumeMounts: [{{name: host, mountPath: /mnt/test{propagation}}}]
"#,
        dir = host_dir.display()
    )
}

fn running(p: &Value) -> bool {
    p["status"]["containerStatuses"]
        .as_array()
        .is_some_and(|cs| cs.iter().all(|c| c["state"]["running"].is_object()))
}

fn apply_running(root: &PodRoot, file: &str, text: &str, names: &[&str]) {
    let file = root.manifest(file, text);
    let out = root.minipod(&["apply", "-f", file.to_str().unwrap()]);
    assert!(out.status.success(), "apply: {}", stderr(&out));
    for name in names {
        root.wait_for(name, "running", running);
    }
}

fn exec(root: &PodRoot, pod: &str, script: &str) -> String {
    exec_in(root, pod, None, script)
}

fn exec_in(root: &PodRoot, pod: &str, container: Option<&str>, script: &str) -> String {
    let mut args = vec!["exec", pod];
    if let Some(c) = container {
        args.extend_from_slice(&["-c", c]);
    }
    args.extend_from_slice(&["--", "sh", "-c", script]);
    let out = root.minipod(&args);
    assert!(
        out.status.success(),
        "exec in {pod}: {script}: {}",
        stderr(&out)
    );
    stdout(&out)
}

fn delete(root: &PodRoot, names: &[&str]) {
    let mut args = vec!["delete", "pod"];
    args.extend_from_slice(names);
    args.extend_from_slice(&["--grace-period=0", "--force"]);
    let out = root.minipod(&args);
    assert!(out.status.success(), "delete {names:?}: {}", stderr(&out));
}

/// The mounts of /mnt/test/* a pod can read a `file` of, `name=content` per mount.
fn visible_in_pod(root: &PodRoot, pod: &str, names: &[&str]) -> BTreeMap<String, String> {
    let script = format!(
        "for n in {}; do [ -f /mnt/test/$n/file ] && echo \"$n=$(cat /mnt/test/$n/file)\"; done; true",
        names.join(" ")
    );
    exec(root, pod, &script)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Asserts pod `pod` sees exactly the mounts `want` of `names` (each with its own name as its
/// file's content); `what` says which check failed.
#[track_caller]
fn assert_sees(root: &PodRoot, pod: &str, names: &[&str], want: &[&str], what: &str) {
    assert_eq!(visible_in_pod(root, pod, names), seen(want), "{what}");
}

/// A new folder `name` of the root, for the pods' hostPath.
fn host_folder(root: &PodRoot, name: &str) -> PathBuf {
    let dir = root.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    dir
}

fn seen(names: &[&str]) -> BTreeMap<String, String> {
    names
        .iter()
        .map(|n| (n.to_string(), n.to_string()))
        .collect()
}

// mount_propagation.go "should propagate mounts within defined scopes": four privileged pods
// share one hostPath with Bidirectional, HostToContainer, None and no propagation; each
// mounts a tmpfs under it, so does the host; each sees exactly what its scope lets through.
#[test]
fn mounts_propagate_within_their_scopes_from_a_private_host_folder() {
    let root = or_skip!(PodRoot::new());
    let host_dir = host_folder(&root, "propagation");
    let mut host_mounts = HostMounts::default();
    assert!(
        mounts_at(&host_dir).is_empty(),
        "the test folder starts as a plain folder of the private root"
    );

    let pods = ["master", "slave", "private", "default"];
    let manifest = [
        pod("master", &host_dir, Some("Bidirectional")),
        pod("slave", &host_dir, Some("HostToContainer")),
        pod("private", &host_dir, Some("None")),
        pod("default", &host_dir, None),
    ]
    .concat();
    apply_running(&root, "pods.yaml", &manifest, &pods);

    // minipod made the folder a shared mount (one bind, however many pods need it).
    let binds = mounts_at(&host_dir);
    assert_eq!(
        binds.len(),
        1,
        "one shared bind of the hostPath: {binds:#?}"
    );
    assert!(peer_group(&binds[0]).is_some(), "not shared: {}", binds[0]);

    for name in pods {
        exec(
            &root,
            name,
            &format!(
                "mkdir -p /mnt/test/{name} && mount -t tmpfs e2e-mount-propagation-{name} /mnt/test/{name} && echo {name} > /mnt/test/{name}/file"
            ),
        );
    }
    host_mounts.tmpfs_with_file(&host_dir.join("host"), "host");

    let all = ["master", "slave", "private", "default", "host"];
    let expected: [(&str, &[&str]); 4] = [
        ("master", &["master", "host"]),
        ("slave", &["master", "slave", "host"]),
        ("private", &["private"]),
        ("default", &["default"]),
    ];
    for (pod, want) in expected {
        assert_sees(
            &root,
            pod,
            &all,
            want,
            &format!("mounts visible in pod {pod}"),
        );
    }
    // The host sees the master's mount and none of the others.
    assert_eq!(
        std::fs::read_to_string(host_dir.join("master/file")).ok(),
        Some("master\n".to_owned())
    );
    for other in ["slave", "private", "default"] {
        assert!(
            !host_dir.join(other).join("file").exists(),
            "{other}'s mount reached the host"
        );
    }

    drop(host_mounts);
    delete(&root, &pods);
    // The shared bind and the master's mount that propagated onto it are gone.
    let left: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(host_dir.to_str().unwrap()))
        .map(str::to_owned)
        .collect();
    assert!(left.is_empty(), "mounts left after delete: {left:#?}");
}

// A hostPath that already propagates (here the test's own shared bind) is used as it is:
// minipod neither stacks a bind on it nor unmounts it when the pod goes.
#[test]
fn an_already_shared_host_path_is_left_as_it_was() {
    let root = or_skip!(PodRoot::new());
    let host_dir = host_folder(&root, "shared-already");
    let mut host_mounts = HostMounts::default();
    host_mounts.shared_bind(&host_dir);
    let before = mounts_at(&host_dir);
    assert_eq!(before.len(), 1, "{before:#?}");
    assert!(peer_group(&before[0]).is_some(), "{}", before[0]);

    let manifest = [
        pod("master", &host_dir, Some("Bidirectional")),
        pod("slave", &host_dir, Some("HostToContainer")),
    ]
    .concat();
    apply_running(&root, "pods.yaml", &manifest, &["master", "slave"]);
    assert_eq!(
        mounts_at(&host_dir),
        before,
        "no bind stacked on a shared mount"
    );
    // It propagates both ways through the test's own mount.
    host_mounts.adopt(&host_dir.join("master"));
    exec(
        &root,
        "master",
        "mount -t tmpfs e2e-mount-propagation-master /mnt/test/master && echo master > /mnt/test/master/file",
    );
    assert_eq!(
        std::fs::read_to_string(host_dir.join("master/file")).ok(),
        Some("master\n".to_owned()),
        "the Bidirectional pod's mount on the host"
    );
    host_mounts.tmpfs_with_file(&host_dir.join("host"), "host");
    assert_sees(
        &root,
        "slave",
        &["host"],
        &["host"],
        "the host's mount in the HostToContainer pod",
    );

    delete(&root, &["master", "slave"]);
    // The test's bind is exactly as before the pods; what was mounted on it stays (minipod
    // never unmounts what it did not make).
    assert_eq!(
        mounts_at(&host_dir),
        before,
        "the test's shared bind is untouched"
    );
    assert_eq!(mounts_at(&host_dir.join("host")).len(), 1);
    assert_eq!(mounts_at(&host_dir.join("master")).len(), 1);
    drop(host_mounts);
    assert!(mounts_at(&host_dir).is_empty());
}

// Two pods sharing one hostPath: the shared bind the first one needed stays while the second
// still uses it, and goes with the last of them.
#[test]
fn a_shared_bind_stays_while_another_pod_uses_it() {
    let root = or_skip!(PodRoot::new());
    let host_dir = host_folder(&root, "two-pods");
    let mut host_mounts = HostMounts::default();
    let manifest = [
        pod("first", &host_dir, Some("HostToContainer")),
        pod("second", &host_dir, Some("HostToContainer")),
    ]
    .concat();
    apply_running(&root, "pods.yaml", &manifest, &["first", "second"]);
    assert_eq!(mounts_at(&host_dir).len(), 1);

    delete(&root, &["first"]);
    assert_eq!(
        mounts_at(&host_dir).len(),
        1,
        "the bind goes with the first pod although the second uses it"
    );
    host_mounts.tmpfs_with_file(&host_dir.join("late"), "late");
    assert_sees(
        &root,
        "second",
        &["late"],
        &["late"],
        "a host mount made after the first pod went reaches the second",
    );

    drop(host_mounts);
    delete(&root, &["second"]);
    assert!(
        mounts_at(&host_dir).is_empty(),
        "the bind outlived both pods"
    );
}

// emptyDir volumes live under the pod's folder on the same private root: a mount one
// container makes in them reaches a HostToContainer container of the same pod, for a disk
// and a memory (tmpfs) emptyDir alike, and nothing stays mounted after the pod.
#[test]
fn empty_dirs_propagate_between_containers_of_a_pod() {
    let root = or_skip!(PodRoot::new());
    let manifest = r#"
apiVersion: v1
kind: Pod
metadata: {name: sidecar}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: disk, emptyDir: {}}, {name: mem, emptyDir: {medium: Memory}}]
  containers:
  - name: mounter
    image: busybox:1.35
    command: [sleep, "3600"]
    securityContext: {privileged: true}
    volumeMounts:
    - {name: disk, mountPath: /disk, mountPropagation: Bidirectional}
    - {name: mem, mountPath: /mem, mountPropagation: Bidirectional}
  - name: app
    image: busybox:1.35
    command: [sleep, "3600"]
    volumeMounts:
    - {name: disk, mountPath: /disk, mountPropagation: HostToContainer}
    - {name: mem, mountPath: /mem, mountPropagation: HostToContainer}
"#;
    apply_running(&root, "pod.yaml", manifest, &["sidecar"]);
    for v in ["disk", "mem"] {
        exec_in(
            &root,
            "sidecar",
            Some("mounter"),
            &format!("mkdir -p /{v}/m && mount -t tmpfs e2e-{v} /{v}/m && echo {v} > /{v}/m/file"),
        );
    }
    let seen_by_app = exec_in(
        &root,
        "sidecar",
        Some("app"),
        "cat /disk/m/file /mem/m/file; grep -c ' /disk/m \\| /mem/m ' /proc/self/mountinfo",
    );
    assert_eq!(seen_by_app, "disk\nmem\n2\n");
    delete(&root, &["sidecar"]);
    // PodRoot checks that nothing of the root is left mounted.
}

// validation.go validateMountPropagation: refused before anything runs.
#[test]
fn bidirectional_in_an_unprivileged_container_is_refused() {
    let root = or_skip!(PodRoot::new());
    let host_dir = host_folder(&root, "refused");
    let text = pod("master", &host_dir, Some("Bidirectional"))
        .replace("privileged: true", "privileged: false");
    let file = root.manifest("pod.yaml", &text);
    let out = root.minipod(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Pod \"master\": spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(mounts_at(&host_dir).is_empty());
    let out = root.minipod(&["get", "pods"]);
    assert!(!stdout(&out).contains("master"), "{}", stdout(&out));
}

// A subPath of a HostToContainer volume: host mounts below the subPath reach the container
// through the staged bind (which must stay a slave of the volume's mount, not private).
#[test]
fn host_mounts_reach_a_sub_path_mount_with_host_to_container() {
    let root = or_skip!(PodRoot::new());
    let mut host = HostMounts::default();
    let host_dir = root.path().join("hostdir");
    std::fs::create_dir_all(host_dir.join("sub")).unwrap();
    let text = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: subprop}}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{{name: host, hostPath: {{path: {dir}, type: Directory}}}}]
  containers:
  - name: c
    image: busybox:1.35
    command: [sleep, "3600"]
    volumeMounts:
    - {{name: host, mountPath: /mnt/sub, subPath: sub, mountPropagation: HostToContainer}}
"#,
        dir = host_dir.display()
    );
    apply_running(&root, "subprop.yaml", &text, &["subprop"]);
    host.tmpfs_with_file(&host_dir.join("sub/late"), "late mount");
    assert_eq!(
        exec(&root, "subprop", "cat /mnt/sub/late/file"),
        "late mount"
    );
    delete(&root, &["subprop"]);
    drop(host);
    assert!(
        mounts_at(&host_dir).is_empty(),
        "{:?}",
        mounts_at(&host_dir)
    );
}
