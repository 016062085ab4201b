//! Unit tests of `user.rs`.
#![allow(clippy::type_complexity)] // table tests spell their row type out

use super::*;

const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
app:x:1000:1000::/home/app:/bin/sh
web:x:1001:1001::/home/web:/bin/sh
broken:x:notanumber:5::/:/bin/sh
short:x:7
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";
const GROUP: &str = "\
root:x:0:
daemon:x:1:
app:x:1000:app
web:x:1001:
wheel:x:10:app,web
audio:x:29: app
video:x:44:web
staff:x:50:
bad:x:zz:app
";

fn db() -> UserDb {
    UserDb::parse(Some(PASSWD), Some(GROUP))
}

fn request(image_user: Option<&str>) -> UserRequest {
    UserRequest {
        image_user: image_user.map(str::to_string),
        ..UserRequest::default()
    }
}

#[test]
fn parse_skips_malformed_lines() {
    let db = db();
    let passwd = db.passwd.as_ref().expect("passwd");
    assert_eq!(passwd.len(), 5);
    assert!(passwd
        .iter()
        .all(|u| u.name != "broken" && u.name != "short"));
    let group = db.group.as_ref().expect("group");
    assert_eq!(group.len(), 8);
    let wheel = group.iter().find(|g| g.name == "wheel").expect("wheel");
    assert_eq!(wheel.members, vec!["app".to_string(), "web".to_string()]);
}

#[test]
fn resolution_table() {
    // (what, runAsUser, runAsGroup, image user, supplementalGroups, fsGroup,
    //  expected uid, gid, additional gids)
    let cases: &[(
        &str,
        Option<i64>,
        Option<i64>,
        Option<&str>,
        &[i64],
        Option<i64>,
        u32,
        u32,
        &[u32],
    )] = &[
        (
            "image default is root",
            None,
            None,
            None,
            &[],
            None,
            0,
            0,
            &[0],
        ),
        (
            "empty image user is root",
            None,
            None,
            Some(""),
            &[],
            None,
            0,
            0,
            &[0],
        ),
        (
            "name",
            None,
            None,
            Some("app"),
            &[],
            None,
            1000,
            1000,
            &[10, 29, 1000],
        ),
        (
            "uid in passwd",
            None,
            None,
            Some("1000"),
            &[],
            None,
            1000,
            1000,
            &[10, 29, 1000],
        ),
        (
            "uid not in passwd gets gid 0",
            None,
            None,
            Some("4242"),
            &[],
            None,
            4242,
            0,
            &[0],
        ),
        (
            "name:group",
            None,
            None,
            Some("web:staff"),
            &[],
            None,
            1001,
            50,
            &[10, 44, 50],
        ),
        (
            "uid:gid numeric",
            None,
            None,
            Some("4242:4343"),
            &[],
            None,
            4242,
            4343,
            &[4343],
        ),
        (
            "name:gid",
            None,
            None,
            Some("app:7"),
            &[],
            None,
            1000,
            7,
            &[7, 10, 29],
        ),
        (
            "uid:group name",
            None,
            None,
            Some("4242:video"),
            &[],
            None,
            4242,
            44,
            &[44],
        ),
        (
            "runAsUser wins over image",
            Some(1001),
            None,
            Some("app"),
            &[],
            None,
            1001,
            1001,
            &[10, 44, 1001],
        ),
        (
            "runAsUser drops image group",
            Some(1001),
            None,
            Some("app:staff"),
            &[],
            None,
            1001,
            1001,
            &[10, 44, 1001],
        ),
        (
            "runAsUser unknown",
            Some(5000),
            None,
            Some("app"),
            &[],
            None,
            5000,
            0,
            &[0],
        ),
        (
            "runAsGroup with image user",
            None,
            Some(3000),
            Some("app"),
            &[],
            None,
            1000,
            3000,
            &[10, 29, 3000],
        ),
        (
            "runAsGroup over image group",
            None,
            Some(3000),
            Some("web:staff"),
            &[],
            None,
            1001,
            3000,
            &[10, 44, 3000],
        ),
        (
            "runAsUser and runAsGroup",
            Some(2000),
            Some(3000),
            None,
            &[],
            None,
            2000,
            3000,
            &[3000],
        ),
        (
            "supplemental and fsGroup",
            Some(2000),
            Some(3000),
            None,
            &[5, 6, 5],
            Some(9000),
            2000,
            3000,
            &[5, 6, 3000, 9000],
        ),
        (
            "fsGroup merges with passwd groups",
            None,
            None,
            Some("app"),
            &[10],
            Some(1000),
            1000,
            1000,
            &[10, 29, 1000],
        ),
        (
            "root by runAsUser 0",
            Some(0),
            None,
            Some("app"),
            &[],
            None,
            0,
            0,
            &[0],
        ),
    ];
    for (what, run_as_user, run_as_group, image, supp, fs_group, uid, gid, extra) in cases {
        let req = UserRequest {
            run_as_user: *run_as_user,
            run_as_group: *run_as_group,
            image_user: image.map(str::to_string),
            supplemental_groups: supp.to_vec(),
            fs_group: *fs_group,
            run_as_non_root: false,
        };
        let got = resolve(&req, &db()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!((got.uid, got.gid), (*uid, *gid), "{what}");
        assert_eq!(got.additional_gids, extra.to_vec(), "{what}");
    }
}

#[test]
fn resolution_errors() {
    let cases: &[(&str, UserRequest, &str)] = &[
        (
            "unknown name",
            request(Some("ghost")),
            "unable to find user ghost: no matching entries in passwd file",
        ),
        (
            "unknown group",
            request(Some("app:ghosts")),
            "unable to find group ghosts: no matching entries in group file",
        ),
        (
            "uid too large",
            request(Some("99999999999")),
            "invalid user \"99999999999\"",
        ),
        (
            "uid -1",
            request(Some("4294967295")),
            "invalid user \"4294967295\"",
        ),
        (
            "negative runAsUser",
            UserRequest {
                run_as_user: Some(-1),
                ..UserRequest::default()
            },
            "runAsUser -1 is out of range (0 to 4294967294)",
        ),
        (
            "negative fsGroup",
            UserRequest {
                fs_group: Some(-5),
                ..UserRequest::default()
            },
            "fsGroup -5 is out of range (0 to 4294967294)",
        ),
    ];
    for (what, req, message) in cases {
        let err = resolve(req, &db()).expect_err(what);
        assert_eq!(err.to_string(), *message, "{what}");
    }
}

#[test]
fn missing_files() {
    let empty = UserDb::default();
    // Numeric users work without any file.
    let got = resolve(&request(Some("1000:1000")), &empty).expect("numeric");
    assert_eq!(
        (got.uid, got.gid, got.additional_gids),
        (1000, 1000, vec![1000])
    );
    let got = resolve(&request(None), &empty).expect("root");
    assert_eq!((got.uid, got.gid), (0, 0));
    // Names do not.
    assert!(matches!(
        resolve(&request(Some("app")), &empty),
        Err(UserError::UnknownUser { .. })
    ));
    assert!(matches!(
        resolve(&request(Some("0:wheel")), &empty),
        Err(UserError::UnknownGroup { .. })
    ));
}

#[test]
fn run_as_non_root_table() {
    let pod = "web-0_default(1234)";
    // (what, runAsUser, image user, expected error message or None)
    let cases: &[(&str, Option<i64>, Option<&str>, Option<&str>)] = &[
            ("numeric non-root image", None, Some("1000"), None),
            ("numeric uid:gid image", None, Some("1000:0"), None),
            ("runAsUser non-root", Some(1000), None, None),
            ("runAsUser non-root over root image", Some(1000), Some("root"), None),
            (
                "runAsUser 0",
                Some(0),
                Some("1000"),
                Some("container's runAsUser breaks non-root policy (pod: \"web-0_default(1234)\", container: app)"),
            ),
            (
                "no image user",
                None,
                None,
                Some("container has runAsNonRoot and image will run as root (pod: \"web-0_default(1234)\", container: app)"),
            ),
            (
                "image uid 0",
                None,
                Some("0:1000"),
                Some("container has runAsNonRoot and image will run as root (pod: \"web-0_default(1234)\", container: app)"),
            ),
            (
                "image user name",
                None,
                Some("app"),
                Some("container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: \"web-0_default(1234)\", container: app)"),
            ),
            (
                "image name:group",
                None,
                Some("nobody:nogroup"),
                Some("container has runAsNonRoot and image has non-numeric user (nobody), cannot verify user is non-root (pod: \"web-0_default(1234)\", container: app)"),
            ),
        ];
    for (what, run_as_user, image, want) in cases {
        let req = UserRequest {
            run_as_user: *run_as_user,
            image_user: image.map(str::to_string),
            run_as_non_root: true,
            ..UserRequest::default()
        };
        let got = verify_run_as_non_root(&req, pod, "app")
            .err()
            .map(|e| e.to_string());
        assert_eq!(got.as_deref(), *want, "{what}");
    }
    // Without runAsNonRoot nothing is checked.
    assert!(verify_run_as_non_root(&request(None), pod, "app").is_ok());
}

fn rootfs_with(passwd: &str, group: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("etc")).expect("mkdir etc");
    std::fs::write(dir.path().join("etc/passwd"), passwd).expect("write passwd");
    std::fs::write(dir.path().join("etc/group"), group).expect("write group");
    dir
}

#[test]
fn reads_files_in_root() {
    let root = rootfs_with(PASSWD, GROUP);
    let got = resolve_user(root.path(), &request(Some("app"))).expect("resolves");
    assert_eq!((got.uid, got.gid), (1000, 1000));
    assert_eq!(got.additional_gids, vec![10, 29, 1000]);
    assert_eq!(got.username.as_deref(), Some("app"));
}

#[test]
fn absolute_symlinked_passwd_resolves_inside_root() {
    // A host file the image points at: its content must never be read.
    let host = tempfile::tempdir().expect("tempdir");
    let host_passwd = host.path().join("passwd");
    std::fs::write(&host_passwd, "evil:x:0:0::/:/bin/sh\n").expect("write host file");

    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("etc")).expect("mkdir");
    std::os::unix::fs::symlink(&host_passwd, root.path().join("etc/passwd")).expect("symlink");
    // Not present inside the root: the image simply has no passwd.
    let err = resolve_user(root.path(), &request(Some("evil"))).expect_err("escaped");
    assert!(matches!(err, UserError::UnknownUser { .. }), "{err}");

    // Present inside the root at the same path: that copy is read.
    let inside = root
        .path()
        .join(host_passwd.strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(inside.parent().expect("parent")).expect("mkdir");
    std::fs::write(&inside, "evil:x:4321:4321::/:/bin/sh\n").expect("write");
    let got = resolve_user(root.path(), &request(Some("evil"))).expect("in-root copy");
    assert_eq!(got.uid, 4321);
}

#[test]
fn relative_symlink_escape_is_clamped() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("etc")).expect("mkdir");
    // ../../../../etc/passwd from /etc climbs to the root and no further.
    std::os::unix::fs::symlink(
        "../../../../../../../../etc/shadow-not-here",
        root.path().join("etc/passwd"),
    )
    .expect("symlink");
    let got = resolve_user(root.path(), &request(Some("1000"))).expect("numeric");
    assert_eq!((got.uid, got.gid), (1000, 0));
    let err = resolve_user(root.path(), &request(Some("root"))).expect_err("no passwd");
    assert!(matches!(err, UserError::UnknownUser { .. }));
}

#[test]
fn directory_and_fifo_are_refused_not_read() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("etc/passwd")).expect("passwd as a directory");
    let err = resolve_user(root.path(), &request(Some("app"))).expect_err("directory");
    assert!(matches!(err, UserError::NotRegular { .. }), "{err}");
    assert!(err.to_string().contains("/etc/passwd"), "{err}");

    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("etc")).expect("mkdir");
    let fifo = root.path().join("etc/passwd");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).expect("mkfifo");
    // Must return (not block) and refuse.
    let err = resolve_user(root.path(), &request(Some("app"))).expect_err("fifo");
    assert!(matches!(err, UserError::NotRegular { .. }), "{err}");
}

#[test]
fn missing_rootfs_is_an_error_naming_it() {
    let err = resolve_user(Path::new("/nonexistent/minipod-rootfs"), &request(None))
        .expect_err("no rootfs");
    assert!(
        err.to_string().contains("/nonexistent/minipod-rootfs"),
        "{err}"
    );
}
