//! Unit tests of `defaults.rs`.
#![allow(clippy::type_complexity)] // table tests spell their row type out

use super::*;
use crate::spec::tests::DEFAULT_MOUNT_DESTINATIONS;

fn options(mounts: &[Mount], destination: &str) -> Vec<String> {
    mounts
        .iter()
        .find(|m| m.destination().to_str() == Some(destination))
        .and_then(|m| m.options().clone())
        .unwrap_or_else(|| panic!("no mount at {destination}"))
}

#[test]
fn default_mounts_table() {
    let mounts = default_mounts(false);
    let destinations: Vec<_> = mounts
        .iter()
        .map(|m| m.destination().display().to_string())
        .collect();
    assert_eq!(destinations, DEFAULT_MOUNT_DESTINATIONS);
    let cases: &[(&str, &str, &[&str])] = &[
        ("/proc", "proc", &["nosuid", "noexec", "nodev"]),
        (
            "/dev",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        (
            "/dev/pts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        (
            "/dev/shm",
            "tmpfs",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        ("/dev/mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
        ("/sys", "sysfs", &["nosuid", "noexec", "nodev", "ro"]),
        (
            "/sys/fs/cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
    ];
    for (destination, typ, want) in cases {
        let m = mounts
            .iter()
            .find(|m| m.destination().to_str() == Some(destination))
            .expect("mount present");
        assert_eq!(m.typ().as_deref(), Some(*typ), "{destination}");
        assert_eq!(
            options(&mounts, destination),
            want.to_vec(),
            "{destination}"
        );
    }
    assert!(!destinations.contains(&"/run".to_string()));
}

#[test]
fn privileged_sysfs_and_cgroup_are_writable() {
    let mounts = default_mounts(true);
    assert!(options(&mounts, "/sys").contains(&"rw".to_string()));
    assert!(options(&mounts, "/sys/fs/cgroup").contains(&"rw".to_string()));
    assert!(!options(&mounts, "/sys").contains(&"ro".to_string()));
}

#[test]
fn device_rules() {
    let rules: Vec<String> = device_cgroup_rules(false)
        .iter()
        .map(|r| format!("{}{}", if r.allow() { "allow " } else { "deny " }, r))
        .collect();
    assert_eq!(
        rules,
        [
            "deny a *:* rwm",
            "allow c 1:3 rwm",
            "allow c 1:5 rwm",
            "allow c 1:7 rwm",
            "allow c 1:8 rwm",
            "allow c 1:9 rwm",
            "allow c 5:0 rwm",
            "allow c 5:1 rwm",
            "allow c 5:2 rwm",
            "allow c 136:* rwm",
        ]
    );
    let privileged: Vec<String> = device_cgroup_rules(true)
        .iter()
        .map(|r| format!("{} {}", r.allow(), r))
        .collect();
    assert_eq!(privileged, ["true a *:* rwm"]);
}

#[test]
fn nofile_is_clamped_to_host_hard_limit() {
    for (host, want) in [
        (None, 1024),
        (Some(1_048_576), 1024),
        (Some(1024), 1024),
        (Some(512), 512),
        (Some(0), 0),
    ] {
        let r = rlimits(host);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].typ(), PosixRlimitType::RlimitNofile);
        assert_eq!((r[0].soft(), r[0].hard()), (want, want), "host {host:?}");
    }
}
