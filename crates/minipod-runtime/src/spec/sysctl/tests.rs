//! Unit tests of `sysctl.rs`.
#![allow(clippy::type_complexity)] // table tests spell their row type out

use super::*;
use std::path::PathBuf;

#[test]
fn acceptance_table() {
    let pod = NamespaceMode::Join(PathBuf::from("/run/minipod/pods/x/ns/net"));
    let host = NamespaceMode::Host;
    // (sysctl, hostNetwork, hostIPC, expected error message or None)
    let cases: &[(&str, bool, bool, Option<&str>)] = &[
            ("net.ipv4.ip_forward", false, false, None),
            ("net.core.somaxconn", false, true, None),
            ("net/ipv4/ip_local_port_range", false, false, None),
            ("kernel.shm_rmid_forced", false, false, None),
            ("kernel.shmmax", false, false, None),
            ("kernel.shmall", false, false, None),
            ("kernel.shmmni", false, false, None),
            ("kernel.msgmax", false, false, None),
            ("kernel.msgmnb", false, false, None),
            ("kernel.msgmni", false, false, None),
            ("kernel.sem", false, false, None),
            ("fs.mqueue.msg_max", false, false, None),
            ("kernel.shm_rmid_forced", true, false, None),
            (
                "kernel.msg_next_id",
                false,
                false,
                Some("sysctl \"kernel.msg_next_id\" is namespaced but the OCI runtime does not allow it (IPC sysctls: kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced, fs.mqueue.*)"),
            ),
            (
                "net.ipv4.ip_forward",
                true,
                false,
                Some("sysctl \"net.ipv4.ip_forward\" not allowed with host net enabled"),
            ),
            (
                "kernel.sem",
                false,
                true,
                Some("sysctl \"kernel.sem\" not allowed with host ipc enabled"),
            ),
            (
                "fs.mqueue.msg_max",
                false,
                true,
                Some("sysctl \"fs.mqueue.msg_max\" not allowed with host ipc enabled"),
            ),
            (
                "kernel.hostname",
                false,
                false,
                Some("sysctl \"kernel.hostname\" is not namespaced and cannot be set for a pod"),
            ),
            (
                "vm.overcommit_memory",
                false,
                false,
                Some(
                    "sysctl \"vm.overcommit_memory\" is not namespaced and cannot be set for a pod",
                ),
            ),
            (
                "kernel.semmni",
                false,
                false,
                Some("sysctl \"kernel.semmni\" is not namespaced and cannot be set for a pod"),
            ),
            (
                "fs.mqueue",
                false,
                false,
                Some("sysctl \"fs.mqueue\" is not namespaced and cannot be set for a pod"),
            ),
            (
                "net..x",
                false,
                false,
                Some("sysctl \"net..x\" has an invalid name"),
            ),
            (
                "net.ipv4/../../../etc",
                false,
                false,
                Some("sysctl \"net.ipv4/../../../etc\" has an invalid name"),
            ),
        ];
    for (name, host_net, host_ipc, want) in cases {
        let network = if *host_net { &host } else { &pod };
        let ipc = if *host_ipc { &host } else { &pod };
        let got = validate(&[(name.to_string(), "1".to_string())], network, ipc);
        assert_eq!(
            got.as_ref().err().map(|e| e.to_string()).as_deref(),
            *want,
            "{name}"
        );
    }
}

#[test]
fn slash_names_are_normalized() {
    assert_eq!(normalize_name("net/ipv4/ip_forward"), "net.ipv4.ip_forward");
    assert_eq!(
        normalize_name("net/ipv4/conf/eth0.100/rp_filter"),
        "net.ipv4.conf.eth0/100.rp_filter"
    );
    assert_eq!(
        normalize_name("net.ipv4.conf.eth0/100.rp_filter"),
        "net.ipv4.conf.eth0/100.rp_filter"
    );
    let got = validate(
        &[("net/core/somaxconn".to_string(), "1024".to_string())],
        &NamespaceMode::Private,
        &NamespaceMode::Private,
    )
    .expect("valid");
    assert_eq!(
        got,
        [("net.core.somaxconn".to_string(), "1024".to_string())]
    );
}
