//! The fixed parts of a Kubernetes container's spec as containerd's CRI plugin generates them:
//! default mounts, masked and read-only paths, the device cgroup allow list, rlimits.

use std::collections::BTreeSet;

use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceType, Mount, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
};

/// Paths hidden from the container (bind-mounted over with /dev/null or an empty read-only
/// tmpfs). kubelet: pkg/securitycontext/util.go defaultMaskedPaths, which containerd applies
/// (internal/cri/server/container_create_linux.go, `WithMaskedPaths`).
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths remounted read-only. kubelet: pkg/securitycontext/util.go defaultReadonlyPaths.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// `RLIMIT_NOFILE` soft and hard limit of container processes (containerd:
/// pkg/oci/spec.go populateDefaultUnixSpec).
pub const NOFILE_LIMIT: u64 = 1024;

/// 64 MiB, the size of the `/dev` and `/dev/shm` tmpfs (`size=65536k`).
pub const DEV_TMPFS_SIZE: &str = "size=65536k";

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination.into());
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(source.into()));
    m.set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

/// The filesystems every container gets, in mount order. containerd: pkg/oci/mounts.go
/// defaultMounts (without `/run`, which the CRI plugin removes) plus the cgroup mount of
/// internal/cri/opts/spec_linux_opts.go withMounts. `/sys` and the cgroup tree are read-only
/// unless the container is privileged (pkg/oci WithWriteableSysfs / WithWriteableCgroupfs).
pub fn default_mounts(privileged: bool) -> Vec<Mount> {
    let sys_mode = if privileged { "rw" } else { "ro" };
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", DEV_TMPFS_SIZE],
        ),
        // newinstance: a private devpts, so the container cannot reach the host's ptys;
        // gid=5 is the conventional `tty` group.
        mount(
            "/dev/pts",
            "devpts",
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
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", DEV_TMPFS_SIZE],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", sys_mode],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", sys_mode],
        ),
    ]
}

/// The controllers whose container directory libcontainer 0.7.0 creates on v1 (libcgroups
/// v1 manager); hierarchies of other controllers (rdma, misc) have no container directory.
const LIBCONTAINER_V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "hugetlb",
    "memory",
    "pids",
    "perf_event",
    "blkio",
    "net_prio",
    "net_cls",
    "freezer",
];

/// What runc does for a non-privileged container on a cgroup v1 host, as spec mounts: a
/// tmpfs at `/sys/fs/cgroup`, then each controller hierarchy's directory of the container's
/// own cgroup bind-mounted read-only at its name (`memory`, `cpu,cpuacct`), and again at each
/// name of a co-mounted one (`cpu`, `cpuacct`) where the host has symlinks. libcontainer
/// 0.7.0 would mount the hierarchies read-write, letting the container raise its own limits
/// (`memory.limit_in_bytes`, `pids.max`) and make child cgroups.
pub fn read_only_v1_cgroup_mounts(
    hierarchies: &[crate::cgroup::V1Hierarchy],
    cgroups_path: &str,
) -> Vec<Mount> {
    let rel = cgroups_path.trim_start_matches('/');
    let mut out = vec![mount(
        "/sys/fs/cgroup",
        "tmpfs",
        "tmpfs",
        &["nosuid", "noexec", "nodev", "mode=755", "size=64k"],
    )];
    let mut names = BTreeSet::new();
    for h in hierarchies {
        if !h
            .controllers
            .iter()
            .any(|c| LIBCONTAINER_V1_CONTROLLERS.contains(&c.as_str()))
        {
            continue;
        }
        let Some(dir) = h.mount.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let source = h.mount.join(rel);
        let aliases = std::iter::once(dir).chain(dir.split(',').filter(|_| dir.contains(',')));
        for name in aliases {
            if !names.insert(name.to_string()) {
                continue;
            }
            let destination = format!("/sys/fs/cgroup/{name}");
            let mut m = mount(
                &destination,
                "bind",
                "",
                &["rbind", "ro", "nosuid", "noexec", "nodev"],
            );
            m.set_source(Some(source.clone()));
            out.push(m);
        }
    }
    out
}

fn char_device(major: Option<i64>, minor: Option<i64>) -> LinuxDeviceCgroup {
    let mut rule = LinuxDeviceCgroup::default();
    rule.set_allow(true);
    rule.set_typ(Some(LinuxDeviceType::C));
    rule.set_major(major);
    rule.set_minor(minor);
    rule.set_access(Some("rwm".to_string()));
    rule
}

/// The device cgroup rules: deny everything, then allow the devices a container needs
/// (containerd: pkg/oci/spec.go deny-all + WithDefaultUnixDevices; runc
/// libcontainer/specconv AllowedDevices). Privileged containers may use every device
/// (pkg/oci WithAllDevicesAllowed).
pub fn device_cgroup_rules(privileged: bool) -> Vec<LinuxDeviceCgroup> {
    let mut all = LinuxDeviceCgroup::default();
    all.set_allow(privileged);
    all.set_typ(Some(LinuxDeviceType::A));
    all.set_access(Some("rwm".to_string()));
    if privileged {
        return vec![all];
    }
    let mut rules = vec![all];
    rules.extend(
        [
            (1, Some(3)), // /dev/null
            (1, Some(5)), // /dev/zero
            (1, Some(7)), // /dev/full
            (1, Some(8)), // /dev/random
            (1, Some(9)), // /dev/urandom
            (5, Some(0)), // /dev/tty
            (5, Some(1)), // /dev/console
            (5, Some(2)), // /dev/ptmx
            (136, None),  // /dev/pts/*
        ]
        .into_iter()
        .map(|(major, minor)| char_device(Some(major), minor)),
    );
    rules
}

/// `RLIMIT_NOFILE` at [`NOFILE_LIMIT`], lowered to the host's hard limit when that is smaller:
/// raising a hard limit needs `CAP_SYS_RESOURCE`, which the supervisor may not have (podman
/// fails to start containers on such hosts; minipod must not).
pub fn rlimits(host_nofile_hard: Option<u64>) -> Vec<PosixRlimit> {
    let limit = host_nofile_hard.map_or(NOFILE_LIMIT, |hard| hard.min(NOFILE_LIMIT));
    let nofile = PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .soft(limit)
        .hard(limit)
        .build()
        // Invariant: the builder has a default for every field and no validation, so `build`
        // cannot fail.
        .expect("PosixRlimitBuilder::build is infallible");
    vec![nofile]
}

#[cfg(test)]
mod tests;
