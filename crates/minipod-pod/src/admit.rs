//! The kubelet's pod admission for what one host decides: the sysctl allowlist
//! (pkg/kubelet/sysctl/allowlist.go). A pod asking for a sysctl that is neither safe nor
//! allowed on the node (the kubelet's `--allowed-unsafe-sysctls`; minipod's
//! `MINIPOD_ALLOWED_UNSAFE_SYSCTLS`) is rejected before anything of it is made: phase Failed,
//! reason `SysctlForbidden`, message `Pod was rejected: forbidden sysctl: ...`.

use minipod_manifest::k8s_openapi::api::core::v1::PodSpec;
use minipod_runtime::spec::sysctl::{namespaced_by, normalize_name, SysctlNamespace};

/// `status.reason` of a pod rejected for its sysctls.
pub const SYSCTL_FORBIDDEN: &str = "SysctlForbidden";

/// The environment variable holding the node's allowed unsafe sysctls, comma separated, as
/// the kubelet's `--allowed-unsafe-sysctls` (`kernel.msg*,net.core.somaxconn`).
pub const ALLOWED_UNSAFE_SYSCTLS_ENV: &str = "MINIPOD_ALLOWED_UNSAFE_SYSCTLS";

/// The kubelet's safe sysctls (pkg/kubelet/sysctl/safe_sysctls.go), allowed on every node.
pub const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];

/// Why a pod was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: &'static str,
    /// The admit handler's message; the pod's `status.message` is "Pod was rejected: " + it.
    pub message: String,
}

/// The patterns of `MINIPOD_ALLOWED_UNSAFE_SYSCTLS` (empty entries dropped).
pub fn parse_allowed(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(normalize_name)
        .collect()
}

/// kubelet patternAllowlist.Admit: every sysctl of the pod must be safe or allowed (exactly,
/// or by a `prefix*` pattern), and a net/ipc one is refused when the pod uses the host's
/// network/IPC namespace.
pub fn admit(spec: &PodSpec, allowed_unsafe: &[String]) -> Result<(), Rejection> {
    let Some(sysctls) = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.sysctls.as_ref())
    else {
        return Ok(());
    };
    let host_network = spec.host_network.unwrap_or(false);
    let host_ipc = spec.host_ipc.unwrap_or(false);
    for s in sysctls {
        let name = normalize_name(&s.name);
        let allowed = SAFE_SYSCTLS.contains(&name.as_str())
            || allowed_unsafe.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => *p == name,
            });
        let refuse = |message: String| Rejection {
            reason: SYSCTL_FORBIDDEN,
            message: format!("forbidden sysctl: {message}"),
        };
        if !allowed {
            return Err(refuse(format!("{name:?} not allowlisted")));
        }
        let on_host = |ns: &SysctlNamespace| match ns {
            SysctlNamespace::Net => host_network,
            SysctlNamespace::Ipc => host_ipc,
        };
        if let Some(ns) = namespaced_by(&name).filter(on_host) {
            return Err(refuse(format!(
                "{name:?} not allowed with host {} enabled",
                ns.name()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> PodSpec {
        let mut s = json!({"containers": [{"name": "c", "image": "x"}]});
        s.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        serde_json::from_value(s).unwrap()
    }

    fn sysctls(names: &[&str]) -> serde_json::Value {
        let list: Vec<_> = names
            .iter()
            .map(|n| json!({"name": n, "value": "1"}))
            .collect();
        json!({"securityContext": {"sysctls": list}})
    }

    #[test]
    fn normalize_swaps_separators_when_the_first_is_a_slash() {
        assert_eq!(
            normalize_name("kernel/shm_rmid_forced"),
            "kernel.shm_rmid_forced"
        );
        assert_eq!(
            normalize_name("net/ipv4/conf/eno2.100/rp_filter"),
            "net.ipv4.conf.eno2/100.rp_filter"
        );
        assert_eq!(
            normalize_name("net.ipv4.conf.eno2/100.rp_filter"),
            "net.ipv4.conf.eno2/100.rp_filter"
        );
    }

    #[test]
    fn admission_follows_the_kubelet_allowlist() {
        let allowed = parse_allowed(" kernel.msg*, net.core.somaxconn ,");
        let cases: &[(serde_json::Value, &[String], Option<&str>)] = &[
            (json!({}), &[], None),
            (
                sysctls(&["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range"]),
                &[],
                None,
            ),
            (sysctls(&["kernel/shm_rmid_forced"]), &[], None),
            (
                sysctls(&["kernel.msgmax"]),
                &[],
                Some(r#"forbidden sysctl: "kernel.msgmax" not allowlisted"#),
            ),
            (
                sysctls(&["kernel.msgmax", "net.core.somaxconn"]),
                &allowed,
                None,
            ),
            (
                sysctls(&["net.core.somaxconn2"]),
                &allowed,
                Some(r#"forbidden sysctl: "net.core.somaxconn2" not allowlisted"#),
            ),
            (
                {
                    let mut v = sysctls(&["net.ipv4.tcp_syncookies"]);
                    v["hostNetwork"] = json!(true);
                    v
                },
                &[],
                Some(
                    r#"forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled"#,
                ),
            ),
            (
                {
                    let mut v = sysctls(&["kernel.shm_rmid_forced"]);
                    v["hostIPC"] = json!(true);
                    v
                },
                &[],
                Some(
                    r#"forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host ipc enabled"#,
                ),
            ),
        ];
        for (i, (v, allowed, want)) in cases.iter().enumerate() {
            let got = admit(&spec(v.clone()), allowed);
            match want {
                None => assert_eq!(got, Ok(()), "case {i}"),
                Some(m) => {
                    let r = got.expect_err("rejected");
                    assert_eq!(
                        (r.reason, r.message.as_str()),
                        (SYSCTL_FORBIDDEN, *m),
                        "case {i}"
                    );
                }
            }
        }
    }
}
