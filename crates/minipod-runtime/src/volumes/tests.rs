//! Unit tests of `volumes.rs`.

use super::*;

#[test]
fn fs_group_ownership_follows_the_kubelet_masks() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let vol = tmp.path().join("vol");
    fs::create_dir_all(vol.join("sub")).unwrap();
    fs::set_permissions(&vol, fs::Permissions::from_mode(0o777)).unwrap();
    fs::set_permissions(vol.join("sub"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(vol.join("sub/f"), b"x").unwrap();
    fs::set_permissions(vol.join("sub/f"), fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("sub/f", vol.join("link")).unwrap();
    let mode = |p: &str| fs::symlink_metadata(vol.join(p)).unwrap().mode() & 0o7777;
    let gid = |p: &str| fs::symlink_metadata(vol.join(p)).unwrap().gid();

    assert!(ownership_change_needed(&vol, 4321, false));
    set_volume_ownership("v", &vol, 4321, false, FsGroupChangePolicy::Always).unwrap();
    assert_eq!(
        (mode(""), mode("sub"), mode("sub/f")),
        (0o2777, 0o2770, 0o660)
    );
    for p in ["", "sub", "sub/f", "link"] {
        assert_eq!(gid(p), 4321, "{p}");
    }
    assert!(!ownership_change_needed(&vol, 4321, false));

    // OnRootMismatch leaves a volume whose root already matches alone.
    fs::set_permissions(vol.join("sub/f"), fs::Permissions::from_mode(0o600)).unwrap();
    set_volume_ownership("v", &vol, 4321, false, FsGroupChangePolicy::OnRootMismatch).unwrap();
    assert_eq!(mode("sub/f"), 0o600);

    // Read-only volumes (configMap, secret) get group read only.
    let ro = tmp.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::write(ro.join("key"), b"v").unwrap();
    fs::set_permissions(ro.join("key"), fs::Permissions::from_mode(0o400)).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    set_volume_ownership("r", &ro, 7, true, FsGroupChangePolicy::Always).unwrap();
    let m = |p: &Path| fs::metadata(p).unwrap().mode() & 0o7777;
    assert_eq!((m(&ro), m(&ro.join("key"))), (0o2755, 0o440));
}

#[test]
fn host_path_types_follow_the_kubelet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let file = tmp.path().join("f");
    fs::create_dir(&dir).unwrap();
    fs::write(&file, b"x").unwrap();
    let sock = tmp.path().join("s");
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let missing = tmp.path().join("missing");

    // The kubelet's hostPath types, as the pod crate maps them.
    let check = |kind, create| Some(HostPathCheck { kind, create });
    let (unset, directory, directory_or_create) = (
        None,
        check(FileKind::Directory, false),
        check(FileKind::Directory, true),
    );
    let (file_, file_or_create) = (check(FileKind::File, false), check(FileKind::File, true));
    let (socket, char_device, block_device) = (
        check(FileKind::Socket, false),
        check(FileKind::CharDevice, false),
        check(FileKind::BlockDevice, false),
    );
    assert!(check_host_path(&missing, unset).is_ok());
    assert!(check_host_path(&dir, directory).is_ok());
    assert!(check_host_path(&file, file_).is_ok());
    assert!(check_host_path(&sock, socket).is_ok());
    assert!(check_host_path(Path::new("/dev/null"), char_device).is_ok());

    let msg = |p: &Path, t| check_host_path(p, t).unwrap_err().to_string();
    let f = file.display();
    let d = dir.display();
    assert_eq!(
        msg(&file, directory),
        format!("hostPath type check failed: {f} is not a directory")
    );
    assert_eq!(
        msg(&file, directory_or_create),
        format!("hostPath type check failed: {f} is not a directory")
    );
    assert_eq!(
        msg(&dir, file_),
        format!("hostPath type check failed: {d} is not a file")
    );
    assert_eq!(
        msg(&dir, file_or_create),
        format!("hostPath type check failed: {d} is not a file")
    );
    assert_eq!(
        msg(&file, socket),
        format!("hostPath type check failed: {f} is not a socket file")
    );
    assert_eq!(
        msg(&file, char_device),
        format!("hostPath type check failed: {f} is not a character device")
    );
    assert_eq!(
        msg(Path::new("/dev/null"), block_device),
        "hostPath type check failed: /dev/null is not a block device"
    );
    let m = missing.display();
    assert_eq!(
        msg(&missing, directory),
        format!("hostPath type check failed: {m} is not a directory")
    );
    assert_eq!(
        msg(&missing, file_),
        format!("hostPath type check failed: {m} is not a file")
    );

    // ...OrCreate: made with the kubelet's modes.
    let newdir = tmp.path().join("a/b");
    check_host_path(&newdir, directory_or_create).unwrap();
    assert!(newdir.is_dir());
    let newfile = tmp.path().join("nf");
    check_host_path(&newfile, file_or_create).unwrap();
    let mode = fs::metadata(&newfile).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o644, mode);
    assert_eq!(fs::read(&newfile).unwrap(), b"");
    // FileOrCreate does not create parents (kubelet: os.OpenFile).
    assert!(check_host_path(&tmp.path().join("no/parent"), file_or_create).is_err());
}

#[test]
fn projected_files_keep_modes_and_refuse_escapes() {
    let tmp = tempfile::tempdir().unwrap();
    let files = vec![
        ProjectedFile {
            path: "app.conf".into(),
            data: b"a=1".to_vec(),
            mode: 0o644,
        },
        ProjectedFile {
            path: "sub/key".into(),
            data: b"secret".to_vec(),
            mode: 0o400,
        },
    ];
    let dir = project_files(tmp.path(), "cfg", &files, ProjectedMedium::Disk).unwrap();
    assert_eq!(fs::read(dir.join("app.conf")).unwrap(), b"a=1");
    let mode = fs::metadata(dir.join("sub/key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o400);
    for bad in ["../x", "/etc/x", "a/../../x", ""] {
        let f = ProjectedFile {
            path: bad.into(),
            data: vec![],
            mode: 0o644,
        };
        assert!(
            project_files(tmp.path(), "cfg", &[f], ProjectedMedium::Disk).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn empty_dir_on_disk_is_world_writable_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let vols = tmp.path().join("volumes");
    let src = prepare_empty_dir(&vols, "cache", EmptyDirMedium::Disk).unwrap();
    assert_eq!(src, MountSource::Bind(vols.join("cache")));
    let mode = fs::metadata(vols.join("cache"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o777);
    // The volume is open to the pod's users; its parent keeps host users out.
    assert_eq!(
        fs::metadata(&vols).unwrap().permissions().mode() & 0o7777,
        0o700
    );
    fs::write(vols.join("cache/x"), b"1").unwrap();
    // A second prepare (supervisor restart) keeps the content.
    prepare_empty_dir(&vols, "cache", EmptyDirMedium::Disk).unwrap();
    assert!(vols.join("cache/x").exists());
    remove_volumes(&vols).unwrap();
    assert!(!vols.exists());
    remove_volumes(&vols).unwrap();
}

/// Secret data lives on a tmpfs mounted on the volume directory, never on the disk of
/// the pod directory; a second projection (supervisor restart) renews the content in the
/// same tmpfs; removal unmounts it.
#[test]
fn memory_projected_files_are_on_a_tmpfs() {
    if !minipod_testsupport::privileged() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let vols = tmp.path().join("volumes");
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = remove_volumes(&self.0);
        }
    }
    let _cleanup = Cleanup(vols.clone());
    let file = |path: &str, data: &[u8]| ProjectedFile {
        path: path.into(),
        data: data.to_vec(),
        mode: 0o400,
    };
    let dir = project_files(
        &vols,
        "creds",
        &[file("pw", b"s3cret"), file("old", b"x")],
        ProjectedMedium::Memory,
    )
    .unwrap();
    let fs_type = nix::sys::statfs::statfs(&dir).unwrap().filesystem_type();
    assert_eq!(fs_type, nix::sys::statfs::TMPFS_MAGIC);
    assert!(is_mount_point(&dir));
    assert_eq!(fs::read(dir.join("pw")).unwrap(), b"s3cret");
    let again = project_files(
        &vols,
        "creds",
        &[file("pw", b"rotated")],
        ProjectedMedium::Memory,
    )
    .unwrap();
    assert_eq!(fs::read(again.join("pw")).unwrap(), b"rotated");
    assert!(!again.join("old").exists());
    remove_volumes(&vols).unwrap();
    assert!(!is_mount_point(&dir));
    assert!(!vols.exists());
}
