//! Privileged integration tests: load each test image (scripts/build-test-images.sh), mount
//! its root filesystem with overlayfs, check files and whiteouts, unmount. They need root and
//! fail without it, unless MINIPOD_SKIP_PRIVILEGED=1 says to skip them.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use minipod_image::{unmount_rootfs, ImageStore, RootfsDirs, RootfsKind};
use minipod_testsupport::{privileged, test_image_path as test_image};

fn mounted(path: &Path) -> bool {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = path.to_str().unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(p))
}

/// Unmounts and removes the container directory even when the test panics.
struct Mounted {
    dirs: RootfsDirs,
    _tmp: tempfile::TempDir,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = unmount_rootfs(&self.dirs);
    }
}

/// The writable layer on "disk", the mount point under a "run" directory, as the
/// supervisor lays them out.
fn container_dirs(tmp: &Path) -> RootfsDirs {
    RootfsDirs {
        layer: tmp.join("root/pods/u1/rootfs/c"),
        mount_point: tmp.join("run/pods/u1/containers/c/rootfs"),
    }
}

fn store_and_mount(file: &str, name: &str) -> Option<(Mounted, ImageStore, PathBuf)> {
    if !privileged() {
        return None;
    }
    let tmp = tempfile::Builder::new()
        .prefix("minipod-image-it-")
        .tempdir()
        .unwrap();
    let store = ImageStore::open(tmp.path().join("root")).unwrap();
    store.load(&test_image(file), None).unwrap();
    let image = store.image(name).unwrap();
    let dirs = container_dirs(tmp.path());
    let guard = Mounted {
        dirs: dirs.clone(),
        _tmp: tmp,
    };
    let rootfs = store.mount_rootfs(&image, &dirs).unwrap();
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
        assert!(guard.dirs.layer.join("upper/tmp/x").exists());
        let dirs = guard.dirs.clone();
        drop(guard);
        assert!(!mounted(&dirs.mount_point), "{file}: still mounted");
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
        let dirs = guard.dirs.clone();
        drop(guard);
        assert!(!mounted(&dirs.mount_point));
        assert!(!dirs.layer.join("upper").exists());
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
    if !privileged() {
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
    if !privileged() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(tmp.path().join("root")).unwrap();
    store.load(&test_image("layered-oci.tar"), None).unwrap();
    let image = store.image("layered:1.0").unwrap();
    let dirs = container_dirs(tmp.path());
    let _guard = Mounted {
        dirs: dirs.clone(),
        _tmp: tempfile::tempdir().unwrap(),
    };
    let rootfs = store.copy_rootfs(&image, &dirs).unwrap();
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
    // The copy is the writable layer, on disk under the root.
    assert!(root.starts_with(tmp.path().join("root")));
    unmount_rootfs(&dirs).unwrap();
    assert!(!root.exists());
}

/// Host users must not reach a container's files: every directory leading to the writable
/// layer and to the mount point is 0700 (moby CVE-2021-41091), while the container's `/`
/// keeps the 0755 of an image root.
#[test]
fn rootfs_parents_are_private() {
    let Some((guard, _store, root)) = store_and_mount("busybox-oci.tar", "busybox:1.35") else {
        return;
    };
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&guard.dirs.layer), 0o700);
    assert_eq!(mode(guard.dirs.mount_point.parent().unwrap()), 0o700);
    assert_eq!(mode(&guard.dirs.layer.join("work")), 0o700);
    assert_eq!(mode(&root), 0o755);
}

/// 100 layers do not fit in one page of overlay options with their full paths
/// (`<root>/layers/sha256/<64 hex>/fs` each): they mount as overlay, not as a copy, both
/// with the new mount API and with the short `/proc/self/fd/N` names of one mount(2).
#[test]
fn a_100_layer_image_mounts_as_overlay() {
    let Some((guard, store, root)) = store_and_mount("layers100-oci.tar", "layers100:1.0") else {
        return;
    };
    check_busybox(&root);
    for n in [1, 50, 99] {
        assert_eq!(
            fs::read_to_string(root.join(format!("layer/{n}"))).unwrap(),
            format!("{n}\n")
        );
    }
    let image = store.image("layers100:1.0").unwrap();
    let lowers = store.layer_dirs(&image).unwrap();
    assert_eq!(lowers.len(), 100);
    let full: usize = lowers.iter().map(|p| p.as_os_str().len() + 1).sum();
    assert!(
        full > 4096,
        "the paths alone ({full} bytes) must exceed a page"
    );

    let tmp = tempfile::tempdir().unwrap();
    let dirs = container_dirs(tmp.path());
    let legacy = Mounted {
        dirs: dirs.clone(),
        _tmp: tmp,
    };
    let rootfs = store.mount_rootfs_legacy(&image, &dirs).unwrap();
    assert_eq!(rootfs.kind, RootfsKind::Overlay);
    assert!(mounted(&rootfs.path));
    assert_eq!(
        fs::read_to_string(rootfs.path.join("layer/77")).unwrap(),
        "77\n"
    );
    drop(legacy);
    drop(guard);
}
