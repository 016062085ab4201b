//! Unit tests of `subpath.rs`.

use super::*;
use std::os::unix::fs::symlink;

#[test]
fn components_refuse_escapes() {
    assert_eq!(components("a/./b/").unwrap(), vec!["a", "b"]);
    assert!(components("").unwrap().is_empty());
    assert!(components("../a").is_err());
    assert!(components("a/../../b").is_err());
    assert!(components("/etc").is_err());
}

fn fd_path(fd: &OwnedFd) -> PathBuf {
    fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap()
}

#[test]
fn open_follows_symlinks_inside_and_refuses_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = tmp.path().join("vol");
    fs::create_dir_all(vol.join("real/deep")).unwrap();
    fs::write(vol.join("real/file"), b"x").unwrap();
    symlink("real", vol.join("inside")).unwrap();
    symlink("../real/deep", vol.join("real/up-inside")).unwrap();
    symlink("/bin", vol.join("abs")).unwrap();
    symlink("/bin/notanexistingpath", vol.join("abs-missing")).unwrap();
    symlink("../", vol.join("back")).unwrap();
    symlink("../../", vol.join("real/back2")).unwrap();

    let vol_real = fs::canonicalize(&vol).unwrap();
    assert_eq!(
        fd_path(&open(&vol, "inside").unwrap()),
        vol_real.join("real")
    );
    assert_eq!(
        fd_path(&open(&vol, "real/up-inside").unwrap()),
        vol_real.join("real/deep")
    );
    assert_eq!(
        fd_path(&open(&vol, "inside/file").unwrap()),
        vol_real.join("real/file")
    );
    for sub in [
        "abs",
        "abs-missing",
        "abs-missing/x",
        "back",
        "real/back2",
        "back/x",
    ] {
        let err = open(&vol, sub).unwrap_err();
        assert!(matches!(err, SubPathError::Outside { .. }), "{sub}: {err}");
    }
    // Nothing was created outside the volume or through the dangling link.
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn open_creates_missing_directories_with_the_volume_mode() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let vol = tmp.path().join("vol");
    fs::create_dir(&vol).unwrap();
    fs::set_permissions(&vol, fs::Permissions::from_mode(0o777)).unwrap();
    fs::create_dir(vol.join("a")).unwrap();
    let fd = open(&vol, "a/b/c").unwrap();
    assert_eq!(fd_path(&fd), fs::canonicalize(&vol).unwrap().join("a/b/c"));
    for d in ["a/b", "a/b/c"] {
        let mode = fs::metadata(vol.join(d)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o777, "{d}");
    }
    // A file in the way is an error, not a directory made elsewhere.
    fs::write(vol.join("f"), b"").unwrap();
    assert!(open(&vol, "f/x").is_err());
}

fn mounted(path: &Path) -> bool {
    let want = path.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// Privileged: bind mounts on the host (tests run as root in CI).
#[test]
fn prepare_stages_files_and_directories_and_release_removes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = tmp.path().join("vol");
    let run = tmp.path().join("run");
    // Unmounts whatever is left if an assertion fails.
    struct Guard(PathBuf);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = release_all(&self.0);
        }
    }
    let _guard = Guard(run.clone());
    fs::create_dir_all(vol.join("dir")).unwrap();
    fs::write(vol.join("dir/in"), b"dir content").unwrap();
    fs::write(vol.join("file"), b"file content").unwrap();

    let d = prepare(&vol, "dir", &staging_path(&run, "c", 0), false).unwrap();
    let f = prepare(&vol, "file", &staging_path(&run, "c", 1), false).unwrap();
    // A second prepare of the same slot replaces the first (a restarted container).
    let f = {
        let again = prepare(&vol, "file", &f, false).unwrap();
        assert_eq!(again, f);
        again
    };
    let n = prepare(&vol, "new/sub", &staging_path(&run, "d", 0), false).unwrap();
    // A mount stacked on a staged one (mountPropagation's shared self-bind) goes too.
    mount(Some(&d), &d, None::<&str>, MsFlags::MS_BIND, None::<&str>).unwrap();
    assert!(mounted(&d) && mounted(&f) && mounted(&n));
    assert_eq!(fs::read(d.join("in")).unwrap(), b"dir content");
    assert_eq!(fs::read(&f).unwrap(), b"file content");
    fs::write(n.join("w"), b"through").unwrap();
    assert_eq!(fs::read(vol.join("new/sub/w")).unwrap(), b"through");

    release_container(&run, "c").unwrap();
    assert!(!mounted(&d) && !mounted(&f));
    assert!(!run.join(STAGING_DIR).join("c").exists());
    assert!(mounted(&n));
    release_all(&run).unwrap();
    assert!(!mounted(&n));
    assert!(!run.join(STAGING_DIR).exists());
    // The volume is untouched.
    assert_eq!(fs::read(vol.join("dir/in")).unwrap(), b"dir content");
    assert_eq!(fs::read(vol.join("file")).unwrap(), b"file content");
}
