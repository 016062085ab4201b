//! End-to-end tests of volumes: subPath and subPathExpr (after test/e2e/storage/testsuites/subpath.go).
//!
//! An init container prepares the volume (directories, files, symlinks), the container under
//! test mounts a subPath of it. Escapes through symlinks must end in CreateContainerConfigError
//! with "subPath" in the message, as the Kubernetes suite checks, and nothing may be created
//! outside the volume. Privileged: they need root and fail without it (MINIPOD_SKIP_PRIVILEGED=1 skips them).

use std::path::Path;

use serde_json::Value;

use crate::pods::{stderr, stdout, PodRoot};
use minipod_testsupport::or_skip;

fn logs(root: &PodRoot, pod: &str, container: &str) -> String {
    let out = root.minipod(&["logs", pod, "-c", container]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// The status of container `name` in a `get pod -o json` object (Null while there is none).
fn status<'a>(pod: &'a Value, name: &str) -> &'a Value {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| pod["status"][k].as_array())
        .flatten()
        .find(|c| c["name"] == name)
        .unwrap_or(&Value::Null)
}

/// Runs the pod of manifest `yaml` (named `pod`) to success; returns the log of `container`.
fn succeeded_log(root: &PodRoot, yaml: &str, pod: &str, container: &str) -> String {
    let file = root.manifest("pod.yaml", yaml);
    run_to_success(root, &file, pod);
    logs(root, pod, container)
}

fn run_to_success(root: &PodRoot, file: &Path, pod: &str) {
    let out = root.run(file, &[]);
    let p = root.pod_json(pod);
    assert!(
        out.status.success() && p["status"]["phase"] == "Succeeded",
        "{}{}\n{p}",
        stdout(&out),
        stderr(&out)
    );
}

// "should support non-existent path" and "should support existing directory": a subPath that
// does not exist is created (with the volume's mode) and is the same directory as seen
// through the whole volume.
#[test]
fn a_missing_sub_path_is_created_and_is_part_of_the_volume() {
    let root = or_skip!(PodRoot::new());
    assert_eq!(
        succeeded_log(
            &root,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: sub-new}
spec:
  restartPolicy: Never
  volumes: [{name: vol, emptyDir: {}}]
  initContainers:
  - name: write
    image: busybox:1.35
    command: [sh, -c, 'echo mount-tester new file > /sp/file']
    volumeMounts: [{name: vol, mountPath: /sp, subPath: provisioning/dir}]
  - name: existing
    image: busybox:1.35
    command: [sh, -c, 'mkdir -p /vol/made && echo in existing > /vol/made/f']
    volumeMounts: [{name: vol, mountPath: /vol}]
  containers:
  - name: read
    image: busybox:1.35
    command: [sh, -c, 'cat /vol/provisioning/dir/file; stat -c %a /vol/provisioning /vol/provisioning/dir; cat /made/f']
    volumeMounts:
    - {name: vol, mountPath: /vol}
    - {name: vol, mountPath: /made, subPath: made, readOnly: true}
"#,
            "sub-new",
            "read"
        ),
        "mount-tester new file\n777\n777\nin existing\n"
    );
}

// "should support existing single file", "should support file as subpath" and "should
// support readOnly file specified in the volumeMount": a file subPath over a path the image
// lacks and over one it has; read-only means read-only.
#[test]
fn a_file_can_be_a_sub_path_also_read_only_and_over_an_image_file() {
    let root = or_skip!(PodRoot::new());
    assert_eq!(
        succeeded_log(
            &root,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: sub-file}
spec:
  restartPolicy: Never
  volumes: [{name: vol, emptyDir: {}}]
  initContainers:
  - name: prepare
    image: busybox:1.35
    command: [sh, -c, 'mkdir -p /vol/d && echo file content > /vol/d/file']
    volumeMounts: [{name: vol, mountPath: /vol}]
  containers:
  - name: read
    image: busybox:1.35
    command:
    - sh
    - -c
    - |
      cat /etc/app.conf /etc/group
      if (echo x >> /etc/app.conf) 2>/dev/null; then echo writable; else echo read-only; fi
      echo appended >> /rw/file.conf && echo written
      test -f /etc/app.conf && echo is-file
    volumeMounts:
    - {name: vol, mountPath: /etc/app.conf, subPath: d/file, readOnly: true}
    - {name: vol, mountPath: /etc/group, subPath: d/file}
    - {name: vol, mountPath: /rw/file.conf, subPath: d/file}
"#,
            "sub-file",
            "read"
        ),
        "file content\nfile content\nread-only\nwritten\nis-file\n"
    );
}

// "should fail if subpath directory / file / non-existent subpath / subpath with backstepping
// is outside the volume": the container waits in CreateContainerConfigError naming subPath,
// and nothing is created on the host through the link.
#[test]
fn sub_paths_that_leave_the_volume_through_symlinks_are_refused() {
    let root = or_skip!(PodRoot::new());
    let missing = root.path().join("not-an-existing-path");
    let cases = [
        ("dir", "/bin".to_string()),
        ("file", "/bin/sh".to_string()),
        ("missing", missing.to_string_lossy().into_owned()),
        ("back", "../".to_string()),
        ("deep-back", "../../../../../../../../../../".to_string()),
    ];
    for (name, target) in &cases {
        let file = root.manifest(
            &format!("{name}.yaml"),
            &format!(
                r#"
apiVersion: v1
kind: Pod
metadata: {{name: escape-{name}}}
spec:
  restartPolicy: Never
  volumes: [{{name: vol, emptyDir: {{}}}}]
  initContainers:
  - name: link
    image: busybox:1.35
    command: [ln, -s, '{target}', /vol/sub]
    volumeMounts: [{{name: vol, mountPath: /vol}}]
  containers:
  - name: test-container-subpath
    image: busybox:1.35
    command: [sh, -c, 'ls /sub; touch /sub/x']
    volumeMounts: [{{name: vol, mountPath: /sub, subPath: sub}}]
"#
            ),
        );
        root.apply(&file, &[]);
    }
    for (name, _) in &cases {
        let pod = format!("escape-{name}");
        let p = root.wait_for(&pod, "refused the subPath", |p| {
            status(p, "test-container-subpath")["state"]["waiting"]["reason"]
                == "CreateContainerConfigError"
        });
        let c = status(&p, "test-container-subpath");
        let message = c["state"]["waiting"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.contains("subPath") && message.contains("outside the volume"),
            "{pod}: {p}"
        );
        assert!(c["state"]["terminated"].is_null(), "{pod}: {p}");
        let describe = stdout(&root.minipod(&["describe", "pod", &pod]));
        assert!(
            describe.contains("CreateContainerConfigError"),
            "{describe}"
        );
    }
    assert!(!missing.exists(), "a directory was made through the link");
    assert!(!Path::new("/bin/x").exists() && !Path::new("/bin/sh/x").exists());
}

// Test/e2e/common/node/expansion.go "should allow substituting values in a volume subpath"
// and "should succeed in writing subpaths in container".
#[test]
fn sub_path_expr_expands_the_container_env() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: expr}
spec:
  restartPolicy: Never
  volumes: [{name: workdir1, emptyDir: {}}]
  initContainers:
  - name: write
    image: busybox:1.35
    env:
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - {name: PART, value: logs}
    command: [sh, -c, 'echo written in subpath > /logscontainer/test.log']
    volumeMounts: [{name: workdir1, mountPath: /logscontainer, subPathExpr: '$(PART)/$(POD_NAME)'}]
  containers:
  - name: read
    image: busybox:1.35
    command: [cat, /testcontainer/logs/expr/test.log]
    volumeMounts: [{name: workdir1, mountPath: /testcontainer}]
"#,
    );
    run_to_success(&root, &file, "expr");
    assert_eq!(logs(&root, "expr", "read"), "written in subpath\n");
}

// expansion.go "should fail substituting values in a volume subpath with backticks" / "with
// absolute path", and the kubelet's "missing value for" rule.
#[test]
fn sub_path_expr_expanding_to_an_escape_or_nothing_is_a_config_error() {
    let root = or_skip!(PodRoot::new());
    let cases = [
        ("dots", "value: '..'", ".."),
        ("abs", "value: /tmp", "absolute"),
        ("empty", "value: ''", "missing value for VAR"),
    ];
    for (name, value, _) in &cases {
        let file = root.manifest(
            &format!("{name}.yaml"),
            &format!(
                r#"
apiVersion: v1
kind: Pod
metadata: {{name: expr-{name}}}
spec:
  restartPolicy: Never
  volumes: [{{name: workdir1, emptyDir: {{}}}}]
  containers:
  - name: dapi-container
    image: busybox:1.35
    command: [sh, -c, 'echo should not run']
    env: [{{name: VAR, {value}}}]
    volumeMounts: [{{name: workdir1, mountPath: /logscontainer, subPathExpr: '$(VAR)'}}]
"#
            ),
        );
        root.apply(&file, &[]);
    }
    for (name, _, want) in &cases {
        let pod = format!("expr-{name}");
        let p = root.wait_for(&pod, "refused the subPathExpr", |p| {
            status(p, "dapi-container")["state"]["waiting"]["reason"]
                == "CreateContainerConfigError"
        });
        let message = status(&p, "dapi-container")["state"]["waiting"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(want), "{pod}: {message}");
    }
}

// "should support restarting containers using directory as subpath" and "should be able to
// unmount after the subpath directory is deleted": a restarted container gets its subPath
// again, and deleting the subPath directory under a running container does not stop the
// pod from being deleted cleanly (PodRoot's drop checks no mount is left).
#[test]
fn a_restarted_container_gets_its_sub_path_again_and_deletion_survives_a_removed_sub_path() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: sub-restart}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 1
  volumes: [{name: vol, emptyDir: {}}]
  containers:
  - name: twice
    image: busybox:1.35
    command: [sh, -c, 'echo run >> /sp/runs; test $(wc -l < /sp/runs) -ge 2 || exit 1; exec sleep 3600']
    volumeMounts: [{name: vol, mountPath: /sp, subPath: state}]
  - name: other
    image: busybox:1.35
    command: [sleep, '3600']
    volumeMounts: [{name: vol, mountPath: /vol}]
"#,
    );
    root.apply(&file, &[]);
    let p = root.wait_for("sub-restart", "restarted and running", |p| {
        let c = status(p, "twice");
        c["restartCount"] == 1 && !c["state"]["running"].is_null()
    });
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    let out = root.minipod(&[
        "exec",
        "sub-restart",
        "-c",
        "other",
        "--",
        "cat",
        "/vol/state/runs",
    ]);
    assert_eq!(stdout(&out), "run\nrun\n", "{}", stderr(&out));
    let out = root.minipod(&[
        "exec",
        "sub-restart",
        "-c",
        "other",
        "--",
        "rm",
        "-r",
        "/vol/state",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = root.minipod(&["delete", "pod", "sub-restart"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

// test/e2e/common/storage/empty_dir.go "new files should be created with FSGroup ownership",
// "nonexistent volume subPath should have the correct mode and owner using FSGroup", "volume
// on tmpfs should have the correct mode using FSGroup", and configmap_volume.go with fsGroup:
// the volume gets the group and setgid (new files inherit the group); hostPath is left alone.
#[test]
fn fs_group_owns_the_volumes_that_support_it() {
    let root = or_skip!(PodRoot::new());
    let host = root.shared_dir();
    let file = root.manifest(
        "pod.yaml",
        &format!(
            r#"
apiVersion: v1
kind: ConfigMap
metadata: {{name: conf}}
data: {{key: value}}
---
apiVersion: v1
kind: Pod
metadata: {{name: fsgroup}}
spec:
  restartPolicy: Never
  securityContext: {{fsGroup: 123}}
  volumes:
  - {{name: disk, emptyDir: {{}}}}
  - {{name: mem, emptyDir: {{medium: Memory}}}}
  - {{name: conf, configMap: {{name: conf}}}}
  - {{name: host, hostPath: {{path: {host}}}}}
  containers:
  - name: root
    image: busybox:1.35
    command:
    - sh
    - -c
    - |
      echo new > /disk/test-file
      echo new > /mem/test-file
      stat -c '%n %a %g' /disk /disk/test-file /mem /mem/test-file /sub /conf /conf/key /host
      grep -c tmpfs /proc/mounts >/dev/null && grep ' /mem ' /proc/mounts | cut -d' ' -f3
    volumeMounts:
    - {{name: disk, mountPath: /disk}}
    - {{name: disk, mountPath: /sub, subPath: test-sub}}
    - {{name: mem, mountPath: /mem}}
    - {{name: conf, mountPath: /conf}}
    - {{name: host, mountPath: /host}}
  - name: nonroot
    image: busybox:1.35
    securityContext: {{runAsUser: 1001}}
    command: [sh, -c, 'id -G; echo hi > /disk/by-1001 && stat -c "%n %u %g" /disk/by-1001']
    volumeMounts: [{{name: disk, mountPath: /disk}}]
"#,
            host = host.display()
        ),
    );
    let host_gid = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&host).unwrap().gid()
    };
    run_to_success(&root, &file, "fsgroup");
    let expected = format!(
        "/disk 2777 123\n/disk/test-file 644 123\n/mem 2777 123\n/mem/test-file 644 123\n\
         /sub 2777 123\n/conf 2755 123\n/conf/key 644 123\n/host 755 {host_gid}\ntmpfs\n"
    );
    assert_eq!(logs(&root, "fsgroup", "root"), expected);
    let nonroot = logs(&root, "fsgroup", "nonroot");
    assert!(
        nonroot
            .lines()
            .next()
            .is_some_and(|l| l.split(' ').any(|g| g == "123")),
        "{nonroot}"
    );
    assert!(nonroot.ends_with("/disk/by-1001 1001 123\n"), "{nonroot}");
}

// containerd shares one /dev/shm (a 64 MiB tmpfs of the sandbox) between the containers of a
// pod, with the host's for hostIPC pods; a volume mounted at /dev/shm replaces it.
#[test]
fn the_containers_of_a_pod_share_dev_shm() {
    let root = or_skip!(PodRoot::new());
    let host_file = format!("minipod-e2e-{}", std::process::id());
    let host_path = Path::new("/dev/shm").join(&host_file);
    struct Remove<'a>(&'a Path);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _remove = Remove(&host_path);
    std::fs::write(&host_path, b"from the host\n").unwrap();
    let file = root.manifest(
        "pod.yaml",
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: shm}}
spec:
  restartPolicy: Never
  initContainers:
  - {{name: write, image: busybox:1.35, command: [sh, -c, 'echo shared > /dev/shm/seg']}}
  containers:
  - name: read
    image: busybox:1.35
    command: [sh, -c, 'cat /dev/shm/seg; df -k /dev/shm | tail -1 | tr -s " " | cut -d" " -f2; if test -e /dev/shm/{host_file}; then echo sees-host; fi']
---
apiVersion: v1
kind: Pod
metadata: {{name: shm-host}}
spec:
  restartPolicy: Never
  hostIPC: true
  containers:
  - {{name: read, image: busybox:1.35, command: [cat, /dev/shm/{host_file}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: shm-volume}}
spec:
  restartPolicy: Never
  volumes: [{{name: dshm, emptyDir: {{medium: Memory, sizeLimit: 1Mi}}}}]
  containers:
  - name: read
    image: busybox:1.35
    command: [sh, -c, 'df -k /dev/shm | tail -1 | tr -s " " | cut -d" " -f2']
    volumeMounts: [{{name: dshm, mountPath: /dev/shm}}]
"#
        ),
    );
    let out = root.run(&file, &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(logs(&root, "shm", "read"), "shared\n65536\n");
    assert_eq!(logs(&root, "shm-host", "read"), "from the host\n");
    assert_eq!(logs(&root, "shm-volume", "read"), "1024\n");
}
