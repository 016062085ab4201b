//! Unit tests of `removeall.rs`.

use super::*;
use nix::mount::{mount, MsFlags};
use std::fs;

#[test]
fn removes_a_tree_with_symlinks_without_following_them() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("keep"), b"x").unwrap();
    let top = tmp.path().join("pod");
    fs::create_dir_all(top.join("a/b/c")).unwrap();
    fs::write(top.join("a/b/c/f"), b"1").unwrap();
    std::os::unix::fs::symlink(&outside, top.join("a/link")).unwrap();
    remove_all_one_filesystem(&top).unwrap();
    assert!(!top.exists());
    assert!(outside.join("keep").exists());
    // Missing: nothing to do.
    remove_all_one_filesystem(&top).unwrap();
}

/// A tmpfs still mounted inside the tree stops the removal at its mount point, with an
/// error naming it, and nothing in it is deleted.
#[test]
fn refuses_to_descend_into_a_mount() {
    if !minipod_testsupport::privileged() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path().join("pod");
    let vol = top.join("volumes/mem");
    fs::create_dir_all(&vol).unwrap();
    mount(
        Some("tmpfs"),
        &vol,
        Some("tmpfs"),
        MsFlags::empty(),
        None::<&str>,
    )
    .unwrap();
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = umount2(&self.0, MntFlags::MNT_DETACH);
        }
    }
    let _guard = Unmount(vol.clone());
    fs::write(vol.join("data"), b"precious").unwrap();
    // A same-filesystem bind mount (same device) is refused too.
    let bound = tmp.path().join("host-dir");
    fs::create_dir(&bound).unwrap();
    fs::write(bound.join("host-file"), b"host").unwrap();
    let bind_point = top.join("bind");
    fs::create_dir(&bind_point).unwrap();
    mount(
        Some(&bound),
        &bind_point,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .unwrap();
    let _guard2 = Unmount(bind_point.clone());

    let err = remove_all_one_filesystem(&top).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, RemoveError::MountPoint { path } if *path == vol || *path == bind_point),
        "{msg}"
    );
    assert!(msg.contains("refusing to remove"), "{msg}");
    assert_eq!(fs::read(vol.join("data")).unwrap(), b"precious");
    assert_eq!(fs::read(bound.join("host-file")).unwrap(), b"host");
    // The mount point itself given as the top is refused as well.
    assert!(matches!(
        remove_all_one_filesystem(&vol),
        Err(RemoveError::MountPoint { .. })
    ));

    // Unmounting first makes the removal go through, and the bind's source survives.
    unmount_and_remove_all(&top).unwrap();
    assert!(!top.exists());
    assert_eq!(fs::read(bound.join("host-file")).unwrap(), b"host");
}
