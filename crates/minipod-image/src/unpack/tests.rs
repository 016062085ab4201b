//! Attack-class tests for `unpack_layer`: each `classNN_` test is one hostile-archive class, and
//! `unpack.rs` comments cite those numbers.
//! They create device nodes and `trusted.*` attributes, so they need root; as elsewhere in
//! minipod they fail without it unless MINIPOD_SKIP_PRIVILEGED=1.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use tar::{EntryType, Header};

use super::*;
use crate::tarframe::TarLimitError;
use crate::testutil::{is_whiteout, opaque, TarBuilder};
use minipod_testsupport::privileged;

/// A temporary layer directory plus a "host" directory beside it that must stay untouched.
struct Fixture {
    _tmp: tempfile::TempDir,
    layer: PathBuf,
    host: PathBuf,
}

fn fixture() -> Option<Fixture> {
    if !privileged() {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join("layer");
    let host = tmp.path().join("host");
    fs::create_dir(&layer).unwrap();
    fs::create_dir(&host).unwrap();
    fs::write(host.join("file"), b"host").unwrap();
    fs::create_dir(host.join("dir")).unwrap();
    fs::set_permissions(host.join("dir"), fs::Permissions::from_mode(0o700)).unwrap();
    Some(Fixture {
        _tmp: tmp,
        layer,
        host,
    })
}

fn unpack(f: &Fixture, tar: Vec<u8>) -> Result<UnpackStats, UnpackError> {
    unpack_layer(&mut &tar[..], &f.layer, &UnpackLimits::default())
}

fn host_untouched(f: &Fixture) {
    assert_eq!(fs::read(f.host.join("file")).unwrap(), b"host");
    let m = fs::metadata(f.host.join("dir")).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o700);
    assert_eq!(fs::read_dir(f.host.join("dir")).unwrap().count(), 0);
    assert_eq!(fs::read_dir(&f.host).unwrap().count(), 2);
}

fn refused(r: Result<UnpackStats, UnpackError>) -> String {
    match r {
        Err(e @ UnpackError::Refused { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn class01_dotdot_paths_are_refused() {
    let Some(f) = fixture() else { return };
    for name in ["../x", "a/../../x", "./../x"] {
        let mut t = TarBuilder::new();
        t.file(name, b"x");
        let msg = refused(unpack(&f, t.finish()));
        assert!(msg.contains("climbs out"), "{msg}");
    }
    // `..` that stays inside is just folded.
    let mut t = TarBuilder::new();
    t.file("a/../b", b"b");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("b")).unwrap(), b"b");
    host_untouched(&f);
}

#[test]
fn class02_absolute_paths_land_in_root() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.file("/etc/minipod-class02", b"x");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("etc/minipod-class02")).unwrap(), b"x");
    assert!(!Path::new("/etc/minipod-class02").exists());
}

#[test]
fn class03_symlink_to_slash_then_file_stays_in_root() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.symlink("a", "/");
    t.file("a/etc/minipod-class03", b"x");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("etc/minipod-class03")).unwrap(), b"x");
    assert!(!Path::new("/etc/minipod-class03").exists());
}

#[test]
fn class04_relative_escape_symlink_stays_in_root() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.symlink("b", "../../..");
    t.file("b/x", b"x");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("x")).unwrap(), b"x");
    host_untouched(&f);
}

#[test]
fn class05_dangling_absolute_symlink_parent_is_created_in_root() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.dir("var");
    t.symlink("var/run", "/run");
    t.file("var/run/p", b"pid");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("run/p")).unwrap(), b"pid");
    assert!(fs::symlink_metadata(f.layer.join("var/run"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!Path::new("/run/p").exists());
}

#[test]
fn class06_file_replaces_symlink_to_host_file() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.symlink("c", f.host.join("file").to_str().unwrap());
    t.file("c", b"layer");
    unpack(&f, t.finish()).unwrap();
    let m = fs::symlink_metadata(f.layer.join("c")).unwrap();
    assert!(m.is_file());
    assert_eq!(fs::read(f.layer.join("c")).unwrap(), b"layer");
    host_untouched(&f);
}

#[test]
fn class07_dir_replaces_symlink_to_host_dir() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.symlink("d", f.host.join("dir").to_str().unwrap());
    t.entry("d", EntryType::Directory, "", b"", 0o777, &[]);
    unpack(&f, t.finish()).unwrap();
    let m = fs::symlink_metadata(f.layer.join("d")).unwrap();
    assert!(m.is_dir());
    assert_eq!(m.permissions().mode() & 0o7777, 0o777);
    host_untouched(&f);
}

#[test]
fn class08_hardlink_to_absolute_path_resolves_in_root() {
    let Some(f) = fixture() else { return };
    // Missing in the layer: refused, never linked to the host's file.
    let mut t = TarBuilder::new();
    t.hardlink("h", "/etc/shadow");
    assert!(unpack(&f, t.finish()).is_err());
    let f = fixture().unwrap();
    let mut t = TarBuilder::new();
    t.file("etc/shadow", b"layer shadow");
    t.hardlink("h", "/etc/shadow");
    unpack(&f, t.finish()).unwrap();
    let a = fs::metadata(f.layer.join("h")).unwrap();
    let b = fs::metadata(f.layer.join("etc/shadow")).unwrap();
    assert_eq!(a.ino(), b.ino());
}

#[test]
fn class09_hardlink_through_symlink_resolves_in_root() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.file("etc/shadow", b"layer shadow");
    t.symlink("s", "/");
    t.hardlink("h", "s/etc/shadow");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("h")).unwrap(), b"layer shadow");
    let a = fs::metadata(f.layer.join("h")).unwrap();
    assert_eq!(
        a.ino(),
        fs::metadata(f.layer.join("etc/shadow")).unwrap().ino()
    );
}

#[test]
fn class10_hardlink_to_directory_or_missing_target_is_refused() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.dir("d");
    t.hardlink("h", "d");
    assert!(unpack(&f, t.finish()).is_err());
    let f = fixture().unwrap();
    let mut t = TarBuilder::new();
    t.hardlink("h", "missing");
    assert!(unpack(&f, t.finish()).is_err());
    let f = fixture().unwrap();
    let mut t = TarBuilder::new();
    t.hardlink("h", "../../etc/passwd");
    refused(unpack(&f, t.finish()));
}

#[test]
fn class11_whiteout_impostor_refused_real_devices_created() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.device("fake-whiteout", EntryType::Char, 0, 0);
    let msg = refused(unpack(&f, t.finish()));
    assert!(msg.contains("whiteout impostor"), "{msg}");
    let f = fixture().unwrap();
    let mut t = TarBuilder::new();
    t.device("dev/null", EntryType::Char, 1, 3);
    t.entry("fifo", EntryType::Fifo, "", b"", 0o644, &[]);
    unpack(&f, t.finish()).unwrap();
    let m = fs::symlink_metadata(f.layer.join("dev/null")).unwrap();
    assert!(m.file_type().is_char_device());
    assert_eq!(m.rdev(), nix::sys::stat::makedev(1, 3));
    assert!(fs::symlink_metadata(f.layer.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn class12_setuid_and_file_capabilities_are_preserved() {
    let Some(f) = fixture() else { return };
    // VFS_CAP_REVISION_2 | effective, permitted = CAP_NET_BIND_SERVICE.
    let cap: &[u8] = &[1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut t = TarBuilder::new();
    t.entry("bin/su", EntryType::Regular, "", b"x", 0o4755, &[]);
    t.entry("bin/wall", EntryType::Regular, "", b"x", 0o2755, &[]);
    t.entry(
        "bin/ping",
        EntryType::Regular,
        "",
        b"x",
        0o755,
        &[("SCHILY.xattr.security.capability", cap)],
    );
    unpack(&f, t.finish()).unwrap();
    let mode = |p: &str| fs::metadata(f.layer.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("bin/su"), 0o4755);
    assert_eq!(mode("bin/wall"), 0o2755);
    let file = fs::File::open(f.layer.join("bin/ping")).unwrap();
    let got = sys::fgetxattr(file.as_fd(), c"security.capability").unwrap();
    assert_eq!(got.as_deref(), Some(cap));
}

#[test]
fn class13_overlay_xattrs_from_pax_are_dropped() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.entry(
        "d",
        EntryType::Directory,
        "",
        b"",
        0o755,
        &[
            ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
            ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
            ("SCHILY.xattr.user.minipod", b"kept"),
        ],
    );
    unpack(&f, t.finish()).unwrap();
    assert!(!opaque(&f.layer.join("d")));
    let dir = fs::File::open(f.layer.join("d")).unwrap();
    assert_eq!(
        sys::fgetxattr(dir.as_fd(), c"trusted.overlay.redirect").unwrap(),
        None
    );
    assert_eq!(
        sys::fgetxattr(dir.as_fd(), c"user.minipod")
            .unwrap()
            .as_deref(),
        Some(&b"kept"[..])
    );
}

#[test]
fn class14_degenerate_whiteout_names_are_refused() {
    let Some(f) = fixture() else { return };
    for name in [".wh.", "a/.wh..", "a/.wh..."] {
        let mut t = TarBuilder::new();
        t.file(name, b"");
        let msg = refused(unpack(&f, t.finish()));
        assert!(msg.contains("whiteout"), "{name}: {msg}");
    }
    host_untouched(&f);
}

#[test]
fn class15_whiteout_through_symlink_stays_in_root() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.symlink("l", "/etc");
    t.file("l/.wh.passwd", b"");
    unpack(&f, t.finish()).unwrap();
    assert!(is_whiteout(&f.layer.join("etc/passwd")));
    assert!(fs::metadata("/etc/passwd").unwrap().is_file());
}

#[test]
fn class16_whiteout_and_file_in_one_layer_file_survives() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.file(".wh.f", b"");
    t.file("f", b"new");
    t.file("g", b"kept");
    t.file(".wh.g", b"");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("f")).unwrap(), b"new");
    assert_eq!(fs::read(f.layer.join("g")).unwrap(), b"kept");
}

#[test]
fn class17_opaque_after_new_child_keeps_child() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.dir("a");
    t.file("a/new", b"new");
    t.file("a/.wh..wh..opq", b"");
    t.file("b/.wh.gone", b"");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("a/new")).unwrap(), b"new");
    assert!(opaque(&f.layer.join("a")));
    assert!(!f.layer.join("a/.wh..wh..opq").exists());
    assert!(is_whiteout(&f.layer.join("b/gone")));
    let m = fs::symlink_metadata(f.layer.join("b/gone")).unwrap();
    assert_eq!(m.rdev(), 0);
}

#[test]
fn class18_last_entry_for_a_path_wins() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.file("f", b"file");
    t.dir("f");
    t.file("f/x", b"x");
    t.file("g/y", b"y");
    t.file("g", b"now a file");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("f/x")).unwrap(), b"x");
    assert_eq!(fs::read(f.layer.join("g")).unwrap(), b"now a file");
}

#[test]
fn class19_root_entry_must_be_a_directory() {
    let Some(f) = fixture() else { return };
    for (name, kind) in [
        (".", EntryType::Symlink),
        ("./", EntryType::Regular),
        ("/", EntryType::Link),
    ] {
        let mut t = TarBuilder::new();
        t.entry(name, kind, "/", b"", 0o777, &[]);
        let msg = refused(unpack(&f, t.finish()));
        assert!(msg.contains("root"), "{msg}");
    }
    let mut t = TarBuilder::new();
    t.entry("./", EntryType::Directory, "", b"", 0o751, &[]);
    unpack(&f, t.finish()).unwrap();
    assert_eq!(
        fs::metadata(&f.layer).unwrap().permissions().mode() & 0o7777,
        0o751
    );
    host_untouched(&f);
}

#[test]
fn class20_pax_size_overrides_ustar_size_and_broken_long_names_fail() {
    let Some(f) = fixture() else { return };
    // The ustar header says 0 bytes, the PAX record 5: PAX wins (as GNU tar and Go do),
    // so the next header is not read out of file data (CVE-2025-62518).
    let mut t = TarBuilder::new();
    t.entry_with_header_size("f", b"hello", 0, &[("size", b"5")]);
    t.file("after", b"ok");
    unpack(&f, t.finish()).unwrap();
    assert_eq!(fs::read(f.layer.join("f")).unwrap(), b"hello");
    assert_eq!(fs::read(f.layer.join("after")).unwrap(), b"ok");
    // A GNU long-name entry that describes nothing.
    let f = fixture().unwrap();
    let mut t = TarBuilder::new();
    t.gnu_long_name_without_member("a".repeat(200).as_str());
    assert!(unpack(&f, t.finish()).is_err());
}

#[test]
fn class21_bombs_hit_limits_and_sparse_is_refused() {
    let Some(f) = fixture() else { return };
    let limits = UnpackLimits {
        max_bytes: 10,
        max_entries: 3,
        max_name_len: 64,
        ..UnpackLimits::default()
    };
    let mut t = TarBuilder::new();
    t.file("big", &[0u8; 11]);
    let r = unpack_layer(&mut &t.finish()[..], &f.layer, &limits);
    assert!(
        matches!(r, Err(UnpackError::Limit { what: "bytes", .. })),
        "{r:?}"
    );
    let mut t = TarBuilder::new();
    for i in 0..4 {
        t.file(&format!("f{i}"), b"");
    }
    let r = unpack_layer(&mut &t.finish()[..], &f.layer, &limits);
    assert!(
        matches!(
            r,
            Err(UnpackError::Limit {
                what: "entries",
                ..
            })
        ),
        "{r:?}"
    );
    let mut t = TarBuilder::new();
    t.file(&"n".repeat(65), b"");
    refused(unpack_layer(&mut &t.finish()[..], &f.layer, &limits));
    let mut t = TarBuilder::new();
    t.entry("sparse", EntryType::GNUSparse, "", b"", 0o644, &[]);
    assert!(unpack(&f, t.finish()).is_err());
}

#[test]
fn class22_many_opaque_markers_take_linear_time() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    for i in 0..100_000 {
        t.file(&format!("d{}/.wh..wh..opq", i % 100), b"");
    }
    // Nested as deep as PATH_MAX allows: quadratic work would show here first.
    let mut p = String::new();
    for _ in 0..2000 {
        p.push_str("a/");
        t.file(&format!("{p}.wh..wh..opq"), b"");
    }
    let start = Instant::now();
    unpack(&f, t.finish()).unwrap();
    // Generous: debug build on a shared 2-core machine; quadratic behaviour takes minutes.
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
    assert!(opaque(&f.layer.join("d99")));
    assert!(opaque(&f.layer.join(&p)));
}

#[test]
fn opaque_marker_at_the_root_marks_the_layer_root() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.file(".wh..wh..opq", b"");
    t.file("./.wh.gone", b"");
    unpack(&f, t.finish()).unwrap();
    assert!(opaque(&f.layer));
    assert!(is_whiteout(&f.layer.join("gone")));
}

#[test]
fn whiteout_then_path_below_it_becomes_opaque_dir() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.file(".wh.d", b"");
    t.file("d/x", b"x");
    unpack(&f, t.finish()).unwrap();
    assert!(opaque(&f.layer.join("d")));
    assert_eq!(fs::read(f.layer.join("d/x")).unwrap(), b"x");
}

#[test]
fn ownership_modes_and_times_are_applied() {
    let Some(f) = fixture() else { return };
    let mut t = TarBuilder::new();
    t.entry_owned("home/app/f", b"x", 0o640, 1000, 1000);
    unpack(&f, t.finish()).unwrap();
    let m = fs::metadata(f.layer.join("home/app/f")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 1000, 0o640));
    assert_eq!(m.mtime(), crate::testutil::MTIME as i64);
}

#[test]
fn clean_path_rules() {
    let c = |s: &str| clean_path(s.as_bytes()).map(|p| p.map(|p| p.to_string_lossy().into_owned()));
    assert_eq!(c("./a//b/"), Ok(Some("a/b".into())));
    assert_eq!(c("/"), Ok(None));
    assert_eq!(c("a/.."), Ok(None));
    assert!(c("..").is_err());
    let _ = Header::new_ustar();
}

/// Peak resident memory of this process, in KiB (VmHWM).
fn max_rss_kib() -> i64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line["VmHWM:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}

/// A GNU header of `kind` declaring `size` bytes of body, with no body after it.
fn bare_header(kind: EntryType, size: u64) -> Vec<u8> {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    h.set_cksum();
    h.as_bytes().to_vec()
}

#[test]
fn class21_eight_gib_long_name_header_fails_fast_without_allocating() {
    let Some(f) = fixture() else { return };
    for kind in [EntryType::GNULongName, EntryType::GNULongLink] {
        let before = max_rss_kib();
        let start = Instant::now();
        // Just the header; a body of zeros would follow in a real bomb, the reader must
        // not even ask for it.
        let r = unpack(&f, bare_header(kind, 8 << 30));
        let msg = r.as_ref().unwrap_err().to_string();
        assert!(
            matches!(
                r,
                Err(UnpackError::Frame(TarLimitError::MetadataTooLarge { size, .. })) if size == 8 << 30
            ),
            "{r:?}"
        );
        assert!(msg.contains("8589934592") && msg.contains("limit"), "{msg}");
        let (took, grew) = (start.elapsed(), max_rss_kib() - before);
        eprintln!("8 GiB {kind:?} header: refused in {took:?}, peak RSS grew {grew} KiB");
        assert!(took < Duration::from_secs(2));
        assert!(grew < 64 * 1024, "memory grew");
    }
}

#[test]
fn class21_pax_header_over_the_cap_is_refused_before_it_is_read() {
    let Some(f) = fixture() else { return };
    let limits = UnpackLimits {
        max_header_bytes: 4096,
        ..UnpackLimits::default()
    };
    for kind in [EntryType::XHeader, EntryType::XGlobalHeader] {
        let mut tar = bare_header(kind, 8192);
        // A body that is there this time: still refused at the header.
        tar.extend(std::iter::repeat_n(b'a', 8192));
        tar.extend(TarBuilder::new().finish());
        let r = unpack_layer(&mut &tar[..], &f.layer, &limits);
        assert!(
            matches!(
                r,
                Err(UnpackError::Frame(TarLimitError::MetadataTooLarge {
                    size: 8192,
                    limit: 4096,
                    ..
                }))
            ),
            "{r:?}"
        );
    }
    // Under the cap, a long PAX path is still fine.
    let mut t = TarBuilder::new();
    t.file("d/".repeat(150).trim_end_matches('/'), b"x");
    unpack(&f, t.finish()).unwrap();
}

#[test]
fn class21_stream_size_is_capped() {
    let Some(f) = fixture() else { return };
    let limits = UnpackLimits {
        max_stream_bytes: 4096,
        ..UnpackLimits::default()
    };
    let mut t = TarBuilder::new();
    t.file("a", &[7u8; 8192]);
    let r = unpack_layer(&mut &t.finish()[..], &f.layer, &limits);
    assert!(
        matches!(
            r,
            Err(UnpackError::Frame(TarLimitError::TooLarge { limit: 4096 }))
        ),
        "{r:?}"
    );
}
