//! Unit tests of `propagation.rs`.

use super::*;

const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw,discard
90 27 0:50 / /mnt/shared\\040dir rw,relatime shared:7 - tmpfs tmpfs rw
91 90 0:51 / /mnt/shared\\040dir/slave rw,relatime master:7 - tmpfs tmpfs rw
92 27 0:52 / /mnt/both rw shared:9 master:3 - tmpfs tmpfs rw
93 27 254:1 /srv /srv rw - ext4 /dev/vda1 rw
94 27 254:1 /srv /srv rw shared:12 - ext4 /dev/vda1 rw
";

fn entry(point: &str, shared: Option<u32>, master: Option<u32>) -> MountEntry {
    MountEntry {
        mount_point: PathBuf::from(point),
        shared,
        master,
    }
}

#[test]
fn parses_propagation_fields_and_escapes() {
    let m = parse_mountinfo(MOUNTINFO);
    assert_eq!(m.len(), 7);
    assert_eq!(m[1], entry("/", None, None));
    assert_eq!(m[2], entry("/mnt/shared dir", Some(7), None));
    assert_eq!(m[3], entry("/mnt/shared dir/slave", None, Some(7)));
    assert_eq!(m[4], entry("/mnt/both", Some(9), Some(3)));
    // Other optional fields are skipped; a line without the separator is not an entry.
    assert_eq!(
        MountEntry::parse("1 2 0:1 / /a rw propagate_from:3 unbindable - x y z"),
        Some(entry("/a", None, None))
    );
    assert_eq!(MountEntry::parse("1 2 0:1 / /a rw shared:1"), None);
    assert_eq!(MountEntry::parse("1 2 0:1 / /a rw shared:x - t s o"), None);
    assert_eq!(MountEntry::parse(""), None);
}

#[test]
fn unescapes_octal_only() {
    assert_eq!(
        unescape_mountinfo(r"/a\040b\011c\012d\134e"),
        "/a b\tc\nd\\e"
    );
    // Not three octal digits: kept as is.
    assert_eq!(unescape_mountinfo(r"/a\09b\04"), r"/a\09b\04");
}

#[test]
fn containing_mount_is_the_longest_whole_component_prefix_on_top() {
    let m = parse_mountinfo(MOUNTINFO);
    let at = |p: &str| containing_mount(&m, Path::new(p)).map(|e| e.mount_point.clone());
    assert_eq!(at("/var/lib"), Some(PathBuf::from("/")));
    assert_eq!(
        at("/mnt/shared dir/x"),
        Some(PathBuf::from("/mnt/shared dir"))
    );
    assert_eq!(
        at("/mnt/shared dir/slave/y"),
        Some(PathBuf::from("/mnt/shared dir/slave"))
    );
    // "/mnt/shared dirty" is not under "/mnt/shared dir".
    assert_eq!(at("/mnt/shared dirty"), Some(PathBuf::from("/")));
    // Two mounts on /srv: the later one is on top.
    let srv = containing_mount(&m, Path::new("/srv/data")).unwrap();
    assert_eq!(srv.shared, Some(12));
    assert_eq!(containing_mount(&[], Path::new("/x")), None);
}

#[test]
fn requirements_follow_containerd() {
    assert_eq!(Requirement::of(Propagation::Private), None);
    let shared = entry("/a", Some(1), None);
    let slave = entry("/a", None, Some(1));
    let both = entry("/a", Some(2), Some(1));
    let private = entry("/a", None, None);
    let r = Requirement::of(Propagation::Bidirectional).unwrap();
    assert_eq!(r, Requirement::Shared);
    assert!(r.is_met_by(&shared) && r.is_met_by(&both));
    assert!(!r.is_met_by(&slave) && !r.is_met_by(&private));
    let r = Requirement::of(Propagation::HostToContainer).unwrap();
    assert_eq!(r, Requirement::SharedOrSlave);
    assert!(r.is_met_by(&shared) && r.is_met_by(&slave) && r.is_met_by(&both));
    assert!(!r.is_met_by(&private));
}

#[test]
fn plan_binds_only_what_lacks_propagation() {
    let m = parse_mountinfo(MOUNTINFO);
    let none = BTreeSet::new();
    let plan = |p: &str, r, rec: &BTreeSet<PathBuf>| plan_source(&m, Path::new(p), r, rec);
    // On the private root: bind the source itself, for either requirement.
    assert_eq!(
        plan("/data/vol", Requirement::Shared, &none),
        Some(SourceAction::BindShared(PathBuf::from("/data/vol")))
    );
    assert_eq!(
        plan("/data/vol", Requirement::SharedOrSlave, &none),
        Some(SourceAction::BindShared(PathBuf::from("/data/vol")))
    );
    // A slave mount is enough to receive, not to send.
    assert_eq!(
        plan("/mnt/shared dir/slave/v", Requirement::SharedOrSlave, &none),
        Some(SourceAction::Nothing)
    );
    assert_eq!(
        plan("/mnt/shared dir/slave/v", Requirement::Shared, &none),
        Some(SourceAction::BindShared(PathBuf::from(
            "/mnt/shared dir/slave/v"
        )))
    );
    // Shared and made by nobody: left alone, not recorded.
    assert_eq!(
        plan("/mnt/shared dir/v", Requirement::Shared, &none),
        Some(SourceAction::Nothing)
    );
    // Shared because a pod made it so: this pod keeps it too.
    let rec: BTreeSet<PathBuf> = [PathBuf::from("/mnt/shared dir")].into();
    assert_eq!(
        plan("/mnt/shared dir/v", Requirement::SharedOrSlave, &rec),
        Some(SourceAction::Keep(PathBuf::from("/mnt/shared dir")))
    );
    assert_eq!(
        plan_source(&[], Path::new("/x"), Requirement::Shared, &none),
        None
    );
}

#[test]
fn release_keeps_binds_other_pods_record() {
    let own = [
        PathBuf::from("/a"),
        PathBuf::from("/b"),
        PathBuf::from("/c"),
    ];
    let others: BTreeSet<PathBuf> = [PathBuf::from("/b")].into();
    assert_eq!(
        binds_to_release(&own, &others),
        [PathBuf::from("/c"), PathBuf::from("/a")]
    );
    assert!(binds_to_release(&own, &own.iter().cloned().collect()).is_empty());
    assert!(binds_to_release(&[], &BTreeSet::new()).is_empty());
}

#[test]
fn records_round_trip_and_missing_is_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(RECORD_FILE);
    assert!(read_record(&path).unwrap().is_empty());
    let binds = [PathBuf::from("/x y"), PathBuf::from("/z")];
    write_record(&path, &binds).unwrap();
    assert_eq!(read_record(&path).unwrap(), binds);
    fs::write(&path, "{").unwrap();
    let err = read_record(&path).unwrap_err().to_string();
    assert!(err.starts_with("propagation record "), "{err}");
}
