//! Unit tests of `capabilities.rs`.
#![allow(clippy::type_complexity)] // table tests spell their row type out

use super::*;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn mask_of(privileged: bool, add: &[&str], drop: &[&str]) -> u64 {
    let caps = effective_capabilities(privileged, &names(add), &names(drop), LAST_KNOWN_CAP)
        .expect("valid capabilities");
    capability_mask(&caps)
}

#[test]
fn table_is_complete() {
    // Every variant round-trips through its serde name, and bit numbers are 0..=40 in order.
    for (i, (cap, name, n)) in CAPABILITY_TABLE.iter().enumerate() {
        assert_eq!(usize::from(*n), i);
        let json = serde_json::to_string(cap).expect("serialize");
        assert_eq!(json, format!("\"CAP_{name}\""));
        assert_eq!(capability_number(*cap), *n);
    }
}

#[test]
fn default_set_is_docker_compatible_mask() {
    assert_eq!(capability_mask(&DEFAULT_CAPABILITIES), 0x00000000a80425fb);
    assert_eq!(
        format!("{:016x}", mask_of(false, &[], &[])),
        "00000000a80425fb"
    );
}

#[test]
fn capability_arithmetic_table() {
    const DEFAULT: u64 = 0xa80425fb;
    const ALL: u64 = (1u64 << 41) - 1;
    const NET_ADMIN: u64 = 1 << 12;
    const SYS_ADMIN: u64 = 1 << 21;
    const CHOWN: u64 = 1;
    const NET_RAW: u64 = 1 << 13;
    let cases: &[(&str, bool, &[&str], &[&str], u64)] = &[
        ("defaults", false, &[], &[], DEFAULT),
        ("add one", false, &["NET_ADMIN"], &[], DEFAULT | NET_ADMIN),
        (
            "add with prefix",
            false,
            &["CAP_NET_ADMIN"],
            &[],
            DEFAULT | NET_ADMIN,
        ),
        (
            "add lower case",
            false,
            &["net_admin"],
            &[],
            DEFAULT | NET_ADMIN,
        ),
        ("drop one", false, &[], &["NET_RAW"], DEFAULT & !NET_RAW),
        (
            "drop with prefix",
            false,
            &[],
            &["CAP_NET_RAW"],
            DEFAULT & !NET_RAW,
        ),
        ("drop absent", false, &[], &["SYS_ADMIN"], DEFAULT),
        ("drop all", false, &[], &["ALL"], 0),
        ("drop all lower", false, &[], &["all"], 0),
        (
            "drop all add one",
            false,
            &["NET_BIND_SERVICE"],
            &["ALL"],
            1 << 10,
        ),
        ("add all", false, &["ALL"], &[], ALL),
        (
            "add all drop one",
            false,
            &["ALL"],
            &["CHOWN"],
            ALL & !CHOWN,
        ),
        ("add all drop all", false, &["ALL"], &["ALL"], 0),
        (
            "add and drop same",
            false,
            &["SYS_ADMIN"],
            &["SYS_ADMIN"],
            DEFAULT,
        ),
        (
            "add sys admin",
            false,
            &["SYS_ADMIN"],
            &[],
            DEFAULT | SYS_ADMIN,
        ),
        ("privileged", true, &[], &[], ALL),
        ("privileged ignores drop", true, &[], &["ALL"], ALL),
    ];
    for (what, privileged, add, drop, want) in cases {
        assert_eq!(
            mask_of(*privileged, add, drop),
            *want,
            "{what}: got {:016x}",
            mask_of(*privileged, add, drop)
        );
    }
}

#[test]
fn old_kernel_limits_all() {
    // A 5.4 kernel stops at CAP_AUDIT_READ (37).
    let caps = effective_capabilities(true, &[], &[], 37).expect("valid capabilities");
    assert_eq!(capability_mask(&caps), (1u64 << 38) - 1);
    let caps =
        effective_capabilities(false, &names(&["BPF"]), &[], 37).expect("valid capabilities");
    assert_eq!(capability_mask(&caps), 0xa80425fb);
}

#[test]
fn unknown_capability_is_an_error() {
    let err = effective_capabilities(false, &names(&["NET_ADMINN"]), &[], LAST_KNOWN_CAP)
        .expect_err("typo");
    assert_eq!(err.name, "NET_ADMINN");
    assert_eq!(err.to_string(), "unknown capability \"NET_ADMINN\"");
    // Also for privileged containers, and in drop.
    assert!(effective_capabilities(true, &[], &names(&["CAP_"]), LAST_KNOWN_CAP).is_err());
    // `CAP_CAP_X` is not accepted: only one prefix is stripped.
    assert!(parse_capability("CAP_CAP_CHOWN").is_none());
}

#[test]
fn status_formatting() {
    assert_eq!(
        status_hex(capability_mask(&DEFAULT_CAPABILITIES)),
        "00000000a80425fb"
    );
    assert_eq!(status_hex(0), "0000000000000000");
    assert_eq!(status_hex((1u64 << 41) - 1), "000001ffffffffff");
    let mut spec = Spec::default();
    assert_eq!(
        effective_mask(&spec),
        Some(capability_mask(&[
            Capability::AuditWrite,
            Capability::Kill,
            Capability::NetBindService,
        ]))
    );
    spec.set_process(None);
    assert_eq!(effective_mask(&spec), None);
}

#[test]
fn sets_are_explicit_and_inheritable_ambient_empty() {
    let caps = linux_capabilities(&DEFAULT_CAPABILITIES);
    assert_eq!(caps.bounding().as_ref().map(|s| s.len()), Some(14));
    assert_eq!(caps.bounding(), caps.effective());
    assert_eq!(caps.bounding(), caps.permitted());
    assert_eq!(caps.inheritable().as_ref().map(|s| s.len()), Some(0));
    assert_eq!(caps.ambient().as_ref().map(|s| s.len()), Some(0));
    // Serialized, the empty sets are present (not omitted), so no runtime fills defaults.
    let json = serde_json::to_value(&caps).expect("serialize");
    assert_eq!(json["inheritable"], serde_json::json!([]));
    assert_eq!(json["ambient"], serde_json::json!([]));
}
