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
mod tests;
