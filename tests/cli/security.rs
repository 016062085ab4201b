//! End-to-end tests of what a local user can reach of minipod's state (issue 17).
//!
//! minipod runs as root; a container is root inside it. These tests look at a running pod
//! from the host as `nobody` (privileges dropped with setpriv(1)): nothing under the root or
//! the run directory can be listed, read or executed, a setuid binary a container planted in
//! its own `/tmp` cannot be run (moby CVE-2021-41091's class), and no secret value is found.
//! The test root is made 0755 first, as a user's own `--root` may be, so that only minipod's
//! own directories stand between `nobody` and the pod. Privileged: they need root and fail
//! without it (MINIPOD_SKIP_PRIVILEGED=1 skips them).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{test_images_dir, TestRoot};
use crate::pods::{stderr, stdout, PodRoot};
use minipod_testsupport::or_skip;

const VOLUME_SECRET: &str = "vol-s3cret-4f1c9e";
const ENV_SECRET: &str = "env-s3cret-77ab20";

/// Runs `args` as nobody (uid and gid 65534, no supplementary groups). Through a shell:
/// setpriv's own exec of its command is not the unprivileged exec a user would do (it ran a
/// program from a 0700 directory on this host), the shell's is.
fn as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(["sh", "-c", "\"$@\"", "sh"])
        .args(args)
        .output()
        .expect("run setpriv")
}

fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn make_world_traversable(root: &Path) {
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The test root's parent (/tmp) must let nobody in too, or the test proves nothing.
    let parent = root.parent().unwrap();
    assert!(
        std::fs::metadata(parent).unwrap().mode() & 0o001 != 0,
        "{} is not traversable by others",
        parent.display()
    );
}

/// Every regular file on the same filesystem as `top` (mounts below it not entered).
fn files_on_disk(top: &Path) -> Vec<PathBuf> {
    let dev = std::fs::metadata(top).unwrap().dev();
    let mut out = Vec::new();
    let mut stack = vec![top.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() && m.dev() == dev {
                stack.push(p);
            } else if m.is_file() && m.dev() == dev {
                out.push(p);
            }
        }
    }
    out
}

fn pod_uid(root: &PodRoot, name: &str) -> String {
    root.pod_json(name)["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn nobody_cannot_reach_a_running_pods_state_secrets_or_planted_setuid_binary() {
    let root = or_skip!(PodRoot::new());
    make_world_traversable(root.path());
    // The manifest holds the Secret: it lives outside the root, in a private folder.
    let private = tempfile::tempdir().unwrap();
    let file = private.path().join("pod.yaml");
    std::fs::write(
        &file,
        format!(
            r#"
apiVersion: v1
kind: Secret
metadata: {{name: creds}}
data: {{vol: {vol}, env: {env}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: plant}}
spec:
  restartPolicy: Never
  volumes:
  - {{name: creds, secret: {{secretName: creds, items: [{{key: vol, path: pw}}]}}}}
  - {{name: cache, emptyDir: {{}}}}
  containers:
  - name: c
    image: busybox:1.35
    env:
    - name: PASSWORD
      valueFrom: {{secretKeyRef: {{name: creds, key: env}}}}
    volumeMounts:
    - {{name: creds, mountPath: /creds}}
    - {{name: cache, mountPath: /cache}}
    command:
    - sh
    - -c
    - cp /bin/busybox /tmp/busybox && chmod 4755 /tmp/busybox && echo on-disk > /cache/f && echo planted && sleep 3600
"#,
            vol = b64(VOLUME_SECRET),
            env = b64(ENV_SECRET)
        ),
    )
    .unwrap();
    let out = root.apply_with_env(&file, &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    root.wait_for("plant", "planted", |p| p["status"]["phase"] == "Running");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let logs = root.minipod(&["logs", "plant"]);
        if stdout(&logs).contains("planted") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", stderr(&logs));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let uid = pod_uid(&root, "plant");
    let run = root.path().join("run");
    let pod_dir = root.path().join("pods").join(&uid);

    // The planted binary exists on the host, setuid root, at the paths a host user would
    // try: the merged mount under the run directory and the upper layer under the root.
    let merged = run.join(format!("pods/{uid}/containers/c/rootfs/tmp/busybox"));
    let upper = pod_dir.join("rootfs/c/upper/tmp/busybox");
    for p in [&merged, &upper] {
        let m = std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!((m.mode() & 0o7777, m.uid()), (0o4755, 0), "{}", p.display());
    }
    // The writable layer is on disk under the root, never under the run directory.
    let uppers: Vec<PathBuf> = files_on_disk(&run)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/upper/"))
        .collect();
    assert!(uppers.is_empty(), "{uppers:#?}");
    // The emptyDir without medium is on disk too: same filesystem as the root, not a mount.
    let cache = pod_dir.join("volumes/cache");
    assert_eq!(
        std::fs::metadata(&cache).unwrap().dev(),
        std::fs::metadata(root.path()).unwrap().dev()
    );
    assert_eq!(
        std::fs::read_to_string(cache.join("f")).unwrap(),
        "on-disk\n"
    );

    // As nobody: the setuid binary cannot be run through either path (root can: the
    // binary itself works).
    for p in [&merged, &upper] {
        let ok = Command::new(p).arg("true").output().unwrap();
        assert!(ok.status.success(), "{}: {}", p.display(), stderr(&ok));
        let out = as_nobody(&[p.to_str().unwrap(), "true"]);
        assert!(
            !out.status.success() && stderr(&out).contains("Permission denied"),
            "{} ran as nobody: {}{}",
            p.display(),
            stdout(&out),
            stderr(&out)
        );
    }
    // As nobody: nothing below the root's own entries can be listed (find reports only
    // what it could read: the root and the names in it).
    let out = as_nobody(&["find", root.path().to_str().unwrap()]);
    let deeper: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| {
            Path::new(l)
                .strip_prefix(root.path())
                .is_ok_and(|rest| rest.components().count() > 1)
        })
        .map(str::to_owned)
        .collect();
    assert!(deeper.is_empty(), "nobody can list: {deeper:#?}");
    for dir in ["pods", "run", "blobs", "layers", "images"] {
        let p = root.path().join(dir);
        let out = as_nobody(&["ls", p.to_str().unwrap()]);
        assert!(!out.status.success(), "nobody can list {}", p.display());
        assert_eq!(
            std::fs::metadata(&p).unwrap().mode() & 0o777,
            0o700,
            "{}",
            p.display()
        );
    }
    // As nobody: no secret value in any file it can read under the root.
    for secret in [VOLUME_SECRET, ENV_SECRET] {
        let out = as_nobody(&["grep", "-rl", secret, root.path().to_str().unwrap()]);
        assert!(
            stdout(&out).is_empty(),
            "nobody found {secret} in {}",
            stdout(&out)
        );
    }
    // As root: the secret volume's value is on its tmpfs only, in no file on the disk of
    // the root (the container sees it, so the positive control holds).
    let seen = root.minipod(&["exec", "plant", "--", "cat", "/creds/pw"]);
    assert_eq!(stdout(&seen), VOLUME_SECRET, "{}", stderr(&seen));
    let volume = pod_dir.join("volumes/creds");
    assert_ne!(
        std::fs::metadata(&volume).unwrap().dev(),
        std::fs::metadata(&pod_dir).unwrap().dev(),
        "the secret volume is not a mount of its own"
    );
    let on_disk: Vec<PathBuf> = files_on_disk(root.path())
        .into_iter()
        .filter(|p| {
            std::fs::read(p).is_ok_and(|d| {
                d.windows(VOLUME_SECRET.len())
                    .any(|w| w == VOLUME_SECRET.as_bytes())
            })
        })
        .collect();
    assert!(on_disk.is_empty(), "secret on disk: {on_disk:#?}");

    // Removal takes the writable layer and the mount point with it.
    let out = root.minipod(&["delete", "pod", "plant", "--grace-period=0", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!pod_dir.exists());
    assert!(!run.join("pods").join(&uid).exists());
}

/// Directories an older minipod left open are tightened when minipod uses the root again;
/// the user's `--root` directory keeps its own mode.
#[test]
fn existing_open_state_dirs_are_tightened_but_not_the_users_root() {
    let root = TestRoot::new();
    make_world_traversable(root.path());
    let dirs = [
        "pods",
        "run",
        "run/pods",
        "blobs",
        "blobs/sha256",
        "layers",
        "images",
        "workloads",
    ];
    for d in dirs {
        let p = root.path().join(d);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let image = test_images_dir().join("busybox-oci.tar");
    let out = root.minipod(&["image", "load", image.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = root.minipod(&["get", "pods"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for d in dirs {
        let p = root.path().join(d);
        assert_eq!(
            std::fs::metadata(&p).unwrap().mode() & 0o7777,
            0o700,
            "{}",
            p.display()
        );
    }
    assert_eq!(
        std::fs::metadata(root.path()).unwrap().mode() & 0o7777,
        0o755
    );
}

/// More layers than fit in one page of overlay mount options with full paths (about 40)
/// still run as an overlay, not as a full copy of every layer.
#[test]
fn a_100_layer_image_runs_as_overlay() {
    let root = or_skip!(PodRoot::new());
    let image = test_images_dir().join("layers100-oci.tar");
    let out = root.minipod(&["image", "load", image.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: many}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: layers100:1.0
    command: [sh, -c, 'cat /layer/1 /layer/99; grep "^overlay / overlay" /proc/mounts | cut -d" " -f1-3']
"#,
    );
    let out = root.run(&file, &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let logs = root.minipod(&["logs", "many"]);
    assert_eq!(
        stdout(&logs),
        "1\n99\noverlay / overlay\n",
        "{}",
        stderr(&logs)
    );
}
