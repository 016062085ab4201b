//! Unit tests of `cgroup.rs`.

use super::*;

const HYBRID: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
27 26 0:25 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
28 26 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
29 26 0:27 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
30 26 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
31 26 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
";

#[test]
fn every_hierarchy_once_including_named_ones() {
    let text = format!(
        "{HYBRID}\
40 26 0:26 /sub /mnt/memsub rw - cgroup cgroup rw,memory
41 26 0:26 / /mnt/mem2 rw - cgroup cgroup rw,memory
"
    );
    let mounts = hierarchy_mounts(&text);
    let want: Vec<PathBuf> = [
        "/sys/fs/cgroup/cpu",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/systemd",
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup/cpu,cpuacct",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(mounts, want);
    assert_eq!(
        supervisor_rel("abc").unwrap(),
        Path::new("minipod.supervisors/abc")
    );
    for bad in ["", "a/b", "..", ".x"] {
        assert!(supervisor_rel(bad).is_err(), "{bad}");
    }
}

#[test]
fn parses_hybrid_layout() {
    let l = CgroupLayout::from_mountinfo(HYBRID).unwrap();
    assert!(l.is_hybrid());
    let rel = Path::new("minipod/u1");
    assert_eq!(
        l.v1_dir("memory", rel).unwrap(),
        Path::new("/sys/fs/cgroup/memory/minipod/u1")
    );
    assert_eq!(
        l.v2_dir(rel).unwrap(),
        Path::new("/sys/fs/cgroup/unified/minipod/u1")
    );
    // name=systemd is not a controller hierarchy: never touched.
    assert!(!l
        .dirs(rel)
        .iter()
        .any(|d| d.starts_with("/sys/fs/cgroup/systemd")));
    assert_eq!(l.dirs(rel).len(), 4);
    assert_eq!(
        l.v1_dir("cpuacct", rel).unwrap(),
        Path::new("/sys/fs/cgroup/cpu,cpuacct/minipod/u1")
    );
}

#[test]
fn parses_unified_and_none() {
    let v2 = "30 26 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
    assert_eq!(
        CgroupLayout::from_mountinfo(v2),
        Some(CgroupLayout::Unified {
            root: "/sys/fs/cgroup".into()
        })
    );
    assert_eq!(
        CgroupLayout::from_mountinfo("1 0 0:1 / / rw - ext4 /dev/sda rw\n"),
        None
    );
}

#[test]
fn mountinfo_escapes() {
    assert_eq!(unescape_mountinfo(r"/a\040b"), "/a b");
    assert_eq!(unescape_mountinfo(r"/plain"), "/plain");
}

#[test]
fn rel_paths_are_checked() {
    assert_eq!(
        check_rel_path("/minipod/u1/c").unwrap(),
        Path::new("minipod/u1/c")
    );
    assert!(check_rel_path("minipod/../x").is_err());
    assert!(check_rel_path("system.slice/x").is_err());
    assert!(check_rel_path("").is_err());
    assert!(check_rel_path("/").is_err());
}

/// The warm-up helper moves nobody but itself (into its own cgroup) and is gone once
/// finished or dropped. (Unprivileged, its write fails: the same cleanup applies.)
#[test]
fn attach_lock_warmup_leaves_nothing_behind() {
    let before = fs::read_to_string("/proc/self/cgroup").unwrap();
    let finished = AttachLockWarmup::start();
    let dropped = AttachLockWarmup::start();
    let pids: Vec<Pid> = [&finished, &dropped]
        .iter()
        .filter_map(|w| w.child)
        .collect();
    finished.finish();
    drop(dropped);
    assert_eq!(fs::read_to_string("/proc/self/cgroup").unwrap(), before);
    for pid in pids {
        // Reaped: no such process (not even a zombie) any more.
        assert_eq!(kill(pid, None), Err(nix::Error::ESRCH), "helper {pid}");
    }
}
