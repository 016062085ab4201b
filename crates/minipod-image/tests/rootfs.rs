//! Privileged integration tests: load each test image (scripts/build-test-images.sh), mount
//! its root filesystem with overlayfs, check files and whiteouts, unmount. They need root and
//! fail without it, unless MINIPOD_SKIP_PRIVILEGED=1 says to skip them.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use minipod_image::{unmount_rootfs, ImageStore, RootfsKind};

fn require_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var("MINIPOD_SKIP_PRIVILEGED").as_deref() == Ok("1") {
        eprintln!("skipping privileged test (MINIPOD_SKIP_PRIVILEGED=1)");
        return false;
    }
    panic!("this test needs root (set MINIPOD_SKIP_PRIVILEGED=1 to skip it)");
}

fn test_image(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../build/test-images")
        .join(name);
    assert!(
        p.exists(),
        "{} missing: run scripts/build-test-images.sh",
        p.display()
    );
    p
}

fn mounted(path: &Path) -> bool {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = path.to_str().unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(p))
}

/// Unmounts and removes the container directory even when the test panics.
struct Mounted {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = unmount_rootfs(&self.dir);
    }
}

fn store_and_mount(file: &str, name: &str) -> Option<(Mounted, ImageStore, PathBuf)> {
    if !require_root() {
        return None;
    }
    let tmp = tempfile::Builder::new()
        .prefix("minipod-image-it-")
        .tempdir()
        .unwrap();
    let store = ImageStore::open(tmp.path().join("root")).unwrap();
    store.load(&test_image(file), None).unwrap();
    let image = store.image(name).unwrap();
    let dir = tmp.path().join("container");
    let guard = Mounted {
        dir: dir.clone(),
        _tmp: tmp,
    };
    let rootfs = store.mount_rootfs(&image, &dir).unwrap();
    assert_eq!(rootfs.kind, RootfsKind::Overlay);
    assert!(mounted(&rootfs.path));
    Some((guard, store, rootfs.path))
}

fn check_busybox(root: &Path) {
    let sh = fs::symlink_metadata(root.join("bin/sh")).unwrap();
    assert!(sh.file_type().is_symlink());
    assert_eq!(
        fs::read_link(root.join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    let bb = fs::metadata(root.join("bin/busybox")).unwrap();
    assert_eq!(bb.permissions().mode() & 0o777, 0o755);
    let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.contains("app:x:1000:1000"));
    assert!(passwd.contains("nobody:x:65534:65534"));
    let tmp = fs::metadata(root.join("tmp")).unwrap();
    assert_eq!(tmp.permissions().mode() & 0o7777, 0o1777);
    assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
}

#[test]
fn busybox_in_every_format_mounts() {
    for file in [
        "busybox-docker.tar",
        "busybox-docker25.tar",
        "busybox-oci",
        "busybox-oci.tar",
        "busybox-zstd-oci.tar",
    ] {
        let name = if file.contains("zstd") {
            "busybox:1.35-zstd"
        } else {
            "busybox:1.35"
        };
        let Some((guard, _store, root)) = store_and_mount(file, name) else {
            return;
        };
        check_busybox(&root);
        // The upper layer takes writes; the image's layer does not change.
        fs::write(root.join("tmp/x"), b"x").unwrap();
        assert!(guard.dir.join("upper/tmp/x").exists());
        let dir = guard.dir.clone();
        drop(guard);
        assert!(!mounted(&dir.join("rootfs")), "{file}: still mounted");
    }
}

#[test]
fn layered_image_applies_whiteouts_and_opaque_dirs() {
    for file in ["layered-docker.tar", "layered-oci.tar"] {
        let Some((guard, store, root)) = store_and_mount(file, "layered:1.0") else {
            return;
        };
        check_busybox(&root);
        let f = root.join("fixtures");
        assert!(
            !f.join("removed.txt").exists(),
            "{file}: whiteout not applied"
        );
        assert!(!f.join("gone-dir").exists());
        assert_eq!(fs::read(f.join("kept.txt")).unwrap(), b"lower\n");
        assert_eq!(fs::read(f.join("added.txt")).unwrap(), b"upper\n");
        assert!(
            !f.join("opaque/lower.txt").exists(),
            "{file}: opaque dir leaks lower"
        );
        assert_eq!(fs::read(f.join("opaque/upper.txt")).unwrap(), b"upper\n");
        let names: Vec<String> = fs::read_dir(&f)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with(".wh.")), "{names:?}");
        let suid = fs::metadata(root.join("app/setuid-bin")).unwrap();
        assert_eq!(suid.permissions().mode() & 0o7777, 0o4755);
        let owned = fs::metadata(root.join("app/owned-by-app")).unwrap();
        assert_eq!((owned.uid(), owned.gid()), (1000, 1000));
        let image = store.image("layered:1.0").unwrap();
        let d = image.defaults();
        assert_eq!(d.entrypoint, ["/bin/sh", "/app/run.sh"]);
        assert_eq!(d.working_dir.as_deref(), Some("/app"));
        assert_eq!(store.layer_dirs(&image).unwrap().len(), 2);
        let dir = guard.dir.clone();
        drop(guard);
        assert!(!mounted(&dir.join("rootfs")));
        assert!(!dir.join("upper").exists());
    }
}

#[test]
fn multiarch_mounts_the_amd64_image() {
    let Some((_guard, _store, root)) = store_and_mount("multiarch-oci.tar", "multiarch:1.0") else {
        return;
    };
    if std::env::consts::ARCH == "x86_64" {
        check_busybox(&root);
        assert!(!root.join("platform").exists());
    }
}

#[test]
fn leases_block_rm_and_keep_content_through_prune() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(tmp.path()).unwrap();
    store.load(&test_image("busybox-oci.tar"), None).unwrap();
    let image = store.image("busybox").err();
    assert!(image.is_some(), "busybox:latest must not resolve to 1.35");
    let image = store.image("busybox:1.35").unwrap();
    store.add_lease("pod-a", &image.manifest_digest).unwrap();
    let err = store.remove("busybox:1.35", false).unwrap_err();
    assert!(err.to_string().contains("pod-a"), "{err}");
    store.remove("busybox:1.35", true).unwrap();
    let dirs = store.layer_dirs(&image).unwrap();
    assert!(dirs[0].exists(), "leased layer was collected");
    store.remove_lease("pod-a").unwrap();
    let report = store.prune().unwrap();
    assert!(report.layers >= 1 && report.blobs >= 3, "{report:?}");
    assert!(!dirs[0].exists());
    assert!(store.add_lease("../x", &image.manifest_digest).is_err());
}

#[test]
fn copy_fallback_matches_overlay_view() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(tmp.path().join("root")).unwrap();
    store.load(&test_image("layered-oci.tar"), None).unwrap();
    let image = store.image("layered:1.0").unwrap();
    let dir = tmp.path().join("container");
    let _guard = Mounted {
        dir: dir.clone(),
        _tmp: tempfile::tempdir().unwrap(),
    };
    let rootfs = store.copy_rootfs(&image, &dir).unwrap();
    assert_eq!(rootfs.kind, RootfsKind::Copy);
    assert!(!mounted(&rootfs.path));
    let root = rootfs.path;
    check_busybox(&root);
    let f = root.join("fixtures");
    assert!(!f.join("removed.txt").exists());
    assert!(!f.join("gone-dir").exists());
    assert!(!f.join("opaque/lower.txt").exists());
    assert_eq!(fs::read(f.join("opaque/upper.txt")).unwrap(), b"upper\n");
    assert_eq!(fs::read(f.join("kept.txt")).unwrap(), b"lower\n");
    let suid = fs::metadata(root.join("app/setuid-bin")).unwrap();
    assert_eq!(suid.permissions().mode() & 0o7777, 0o4755);
    unmount_rootfs(&dir).unwrap();
    assert!(!root.exists());
}
