//! Capability sets: containerd's default set for a Kubernetes container, `add`/`drop` arithmetic
//! with `ALL`, and the bit mask the kernel reports as `CapEff` in `/proc/<pid>/status`.

use std::collections::BTreeSet;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, Spec};

/// Every capability the OCI spec knows, with its name (without `CAP_`) and its bit number
/// (`include/uapi/linux/capability.h`). Ordered by bit number.
const CAPABILITY_TABLE: [(Capability, &str, u8); 41] = [
    (Capability::Chown, "CHOWN", 0),
    (Capability::DacOverride, "DAC_OVERRIDE", 1),
    (Capability::DacReadSearch, "DAC_READ_SEARCH", 2),
    (Capability::Fowner, "FOWNER", 3),
    (Capability::Fsetid, "FSETID", 4),
    (Capability::Kill, "KILL", 5),
    (Capability::Setgid, "SETGID", 6),
    (Capability::Setuid, "SETUID", 7),
    (Capability::Setpcap, "SETPCAP", 8),
    (Capability::LinuxImmutable, "LINUX_IMMUTABLE", 9),
    (Capability::NetBindService, "NET_BIND_SERVICE", 10),
    (Capability::NetBroadcast, "NET_BROADCAST", 11),
    (Capability::NetAdmin, "NET_ADMIN", 12),
    (Capability::NetRaw, "NET_RAW", 13),
    (Capability::IpcLock, "IPC_LOCK", 14),
    (Capability::IpcOwner, "IPC_OWNER", 15),
    (Capability::SysModule, "SYS_MODULE", 16),
    (Capability::SysRawio, "SYS_RAWIO", 17),
    (Capability::SysChroot, "SYS_CHROOT", 18),
    (Capability::SysPtrace, "SYS_PTRACE", 19),
    (Capability::SysPacct, "SYS_PACCT", 20),
    (Capability::SysAdmin, "SYS_ADMIN", 21),
    (Capability::SysBoot, "SYS_BOOT", 22),
    (Capability::SysNice, "SYS_NICE", 23),
    (Capability::SysResource, "SYS_RESOURCE", 24),
    (Capability::SysTime, "SYS_TIME", 25),
    (Capability::SysTtyConfig, "SYS_TTY_CONFIG", 26),
    (Capability::Mknod, "MKNOD", 27),
    (Capability::Lease, "LEASE", 28),
    (Capability::AuditWrite, "AUDIT_WRITE", 29),
    (Capability::AuditControl, "AUDIT_CONTROL", 30),
    (Capability::Setfcap, "SETFCAP", 31),
    (Capability::MacOverride, "MAC_OVERRIDE", 32),
    (Capability::MacAdmin, "MAC_ADMIN", 33),
    (Capability::Syslog, "SYSLOG", 34),
    (Capability::WakeAlarm, "WAKE_ALARM", 35),
    (Capability::BlockSuspend, "BLOCK_SUSPEND", 36),
    (Capability::AuditRead, "AUDIT_READ", 37),
    (Capability::Perfmon, "PERFMON", 38),
    (Capability::Bpf, "BPF", 39),
    (Capability::CheckpointRestore, "CHECKPOINT_RESTORE", 40),
];

/// The highest capability number minipod knows (`CAP_CHECKPOINT_RESTORE`, Linux 5.9).
pub const LAST_KNOWN_CAP: u8 = 40;

/// The capabilities a non-privileged Kubernetes container gets when nothing is added or dropped:
/// the Docker-compatible set containerd's CRI plugin has always given pods (`CapEff`
/// `00000000a80425fb`). containerd: pkg/oci/spec.go populateDefaultUnixSpec (1.x list); moby:
/// oci/caps/defaults.go DefaultCapabilities.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// The kernel's bit number of a capability.
pub fn capability_number(cap: Capability) -> u8 {
    CAPABILITY_TABLE
        .iter()
        .find(|(c, _, _)| *c == cap)
        .map(|(_, _, n)| *n)
        // Invariant: the table lists every variant of oci-spec's `Capability` (checked by
        // the `table_is_complete` test).
        .unwrap_or(u8::MAX)
}

/// The Kubernetes name of a capability, without the `CAP_` prefix (`NET_ADMIN`).
pub fn capability_name(cap: Capability) -> &'static str {
    CAPABILITY_TABLE
        .iter()
        .find(|(c, _, _)| *c == cap)
        .map(|(_, name, _)| *name)
        .unwrap_or("UNKNOWN")
}

/// Parses a capability as Kubernetes users write it: any case, with or without `CAP_`
/// (`net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN`). `ALL` is not a capability; callers handle it.
pub fn parse_capability(name: &str) -> Option<Capability> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPABILITY_TABLE
        .iter()
        .find(|(_, n, _)| *n == bare)
        .map(|(c, _, _)| *c)
}

fn is_all(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("ALL")
}

/// Every capability the running kernel supports (`/proc/sys/kernel/cap_last_cap`), in bit order.
pub fn all_capabilities(last_cap: u8) -> Vec<Capability> {
    CAPABILITY_TABLE
        .iter()
        .filter(|(_, _, n)| *n <= last_cap)
        .map(|(c, _, _)| *c)
        .collect()
}

/// A capability name that is neither a known capability nor `ALL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability {name:?}")]
pub struct UnknownCapability {
    pub name: String,
}

/// The one capability set of a container process (bounding = effective = permitted), in bit
/// order.
///
/// containerd (internal/cri/opts/spec_opts.go WithCapabilities, pkg/oci/spec_opts.go
/// WithPrivileged): privileged containers get every capability the kernel supports; otherwise
/// start from [`DEFAULT_CAPABILITIES`], `add: [ALL]` first grants everything and `drop: [ALL]`
/// then removes everything, after which the individual adds and finally the individual drops
/// apply (so `add: [ALL], drop: [CHOWN]` is all but CHOWN, and `drop: [ALL], add: [X]` is X).
/// Capabilities the kernel does not know (above `last_cap`) are left out, as runc does.
pub fn effective_capabilities(
    privileged: bool,
    add: &[String],
    drop: &[String],
    last_cap: u8,
) -> Result<Vec<Capability>, UnknownCapability> {
    // Parse everything first so a typo is reported even for privileged containers.
    let parse = |names: &[String]| -> Result<Vec<Capability>, UnknownCapability> {
        names
            .iter()
            .filter(|n| !is_all(n))
            .map(|n| parse_capability(n).ok_or_else(|| UnknownCapability { name: n.clone() }))
            .collect()
    };
    let added = parse(add)?;
    let dropped = parse(drop)?;

    if privileged {
        return Ok(all_capabilities(last_cap));
    }
    let mut set: BTreeSet<u8> = DEFAULT_CAPABILITIES
        .iter()
        .map(|c| capability_number(*c))
        .collect();
    if add.iter().any(|n| is_all(n)) {
        set.extend(
            all_capabilities(last_cap)
                .into_iter()
                .map(capability_number),
        );
    }
    if drop.iter().any(|n| is_all(n)) {
        set.clear();
    }
    set.extend(added.into_iter().map(capability_number));
    for cap in dropped {
        set.remove(&capability_number(cap));
    }
    Ok(CAPABILITY_TABLE
        .iter()
        .filter(|(_, _, n)| set.contains(n) && *n <= last_cap)
        .map(|(c, _, _)| *c)
        .collect())
}

/// The bit mask of a capability set, as `/proc/<pid>/status` prints it in `CapEff`/`CapBnd`
/// (`format!("{:016x}", mask)`).
pub fn capability_mask(caps: &[Capability]) -> u64 {
    caps.iter()
        .map(|c| capability_number(*c))
        .filter(|n| *n < 64)
        .fold(0u64, |mask, n| mask | (1u64 << n))
}

/// `mask` as `/proc/<pid>/status` prints capability sets: 16 lower-case hex digits.
pub fn status_hex(mask: u64) -> String {
    format!("{mask:016x}")
}

/// The effective capability mask a spec gives its process (`None` without a capabilities
/// section). Integration tests compare `status_hex(effective_mask(&spec))` with the `CapEff`
/// line the container prints from `/proc/self/status`.
pub fn effective_mask(spec: &Spec) -> Option<u64> {
    let effective = spec
        .process()
        .as_ref()?
        .capabilities()
        .as_ref()?
        .effective()
        .as_ref()?;
    Some(capability_mask(
        &effective.iter().copied().collect::<Vec<_>>(),
    ))
}

/// The OCI capability sets for a process: bounding, effective and permitted all equal `caps`;
/// inheritable and ambient explicitly empty. `LinuxCapabilities::default()` would fill those two
/// with a default list, which is what CVE-2022-24769 (moby) / CVE-2022-29162 (runc) removed.
pub fn linux_capabilities(caps: &[Capability]) -> LinuxCapabilities {
    let set: Capabilities = caps.iter().copied().collect();
    let mut out = LinuxCapabilities::default();
    out.set_bounding(Some(set.clone()));
    out.set_effective(Some(set.clone()));
    out.set_permitted(Some(set));
    out.set_inheritable(Some(Capabilities::new()));
    out.set_ambient(Some(Capabilities::new()));
    out
}

#[cfg(test)]
mod tests;
