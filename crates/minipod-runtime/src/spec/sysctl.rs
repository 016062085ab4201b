//! Which sysctls a pod may set: only those the kernel scopes to a namespace the pod owns.
//! kubelet / component-helpers: node/util/sysctl/namespace.go NamespacedBy, and the
//! "not allowed with host net/ipc enabled" rule of pkg/apis/core/validation.

use crate::config::NamespaceMode;

/// The namespace that scopes a sysctl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysctlNamespace {
    Ipc,
    Net,
}

impl SysctlNamespace {
    /// The word the kubelet uses for it (`host net`, `host ipc`).
    pub fn name(self) -> &'static str {
        match self {
            SysctlNamespace::Ipc => "ipc",
            SysctlNamespace::Net => "net",
        }
    }
}

/// Why a sysctl is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SysctlError {
    #[error("sysctl {name:?} is not namespaced and cannot be set for a pod")]
    NotNamespaced { name: String },
    #[error("sysctl {name:?} not allowed with host {namespace} enabled")]
    HostNamespace {
        name: String,
        namespace: &'static str,
    },
    #[error("sysctl {name:?} has an invalid name")]
    InvalidName { name: String },
    #[error("sysctl {name:?} is namespaced but the OCI runtime does not allow it (IPC sysctls: kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced, fs.mqueue.*)")]
    UnsupportedByRuntime { name: String },
}

/// The IPC sysctls runc (libcontainer/configs/validate) and libcontainer 0.7.0
/// (validator.rs) accept besides `fs.mqueue.*`; Kubernetes' `kernel.shm*`/`kernel.msg*` prefixes
/// are wider (`kernel.msg_next_id`), and those would only fail later, inside the runtime.
const RUNTIME_IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Kubernetes accepts `/` as separator (`net/ipv4/ip_forward`); when the first separator is a
/// slash, slashes and dots swap roles (`net/ipv4/conf/eth0.100/rp_filter` is
/// `net.ipv4.conf.eth0/100.rp_filter`). kubelet: ConvertSysctlVariableToDotsSeparator.
pub fn normalize_name(name: &str) -> String {
    match name.find(['.', '/']) {
        Some(i) if name.as_bytes()[i] == b'/' => name
            .chars()
            .map(|c| match c {
                '/' => '.',
                '.' => '/',
                other => other,
            })
            .collect(),
        _ => name.to_string(),
    }
}

/// The namespace a (dot-separated) sysctl belongs to, if any.
pub fn namespaced_by(name: &str) -> Option<SysctlNamespace> {
    if name == "kernel.sem" {
        return Some(SysctlNamespace::Ipc);
    }
    if ["kernel.shm", "kernel.msg", "fs.mqueue."]
        .iter()
        .any(|p| name.starts_with(p))
    {
        return Some(SysctlNamespace::Ipc);
    }
    if name.starts_with("net.") {
        return Some(SysctlNamespace::Net);
    }
    None
}

/// Checks every sysctl and returns them with dot-separated names, in order.
pub fn validate(
    sysctls: &[(String, String)],
    network: &NamespaceMode,
    ipc: &NamespaceMode,
) -> Result<Vec<(String, String)>, SysctlError> {
    sysctls
        .iter()
        .map(|(raw, value)| {
            let name = normalize_name(raw);
            let valid = !name.is_empty()
                && !name.contains("..")
                && name
                    .split(['.', '/'])
                    .all(|part| !part.is_empty() && part != "." && part != "..");
            if !valid {
                return Err(SysctlError::InvalidName { name: raw.clone() });
            }
            let host = match namespaced_by(&name) {
                None => return Err(SysctlError::NotNamespaced { name: raw.clone() }),
                Some(ns @ SysctlNamespace::Net) => (*network == NamespaceMode::Host).then_some(ns),
                Some(ns @ SysctlNamespace::Ipc) => (*ipc == NamespaceMode::Host).then_some(ns),
            };
            if let Some(ns) = host {
                return Err(SysctlError::HostNamespace {
                    name: raw.clone(),
                    namespace: ns.name(),
                });
            }
            let runtime_ok = namespaced_by(&name) == Some(SysctlNamespace::Net)
                || name.starts_with("fs.mqueue.")
                || RUNTIME_IPC_SYSCTLS.contains(&name.as_str());
            if !runtime_ok {
                return Err(SysctlError::UnsupportedByRuntime { name: raw.clone() });
            }
            Ok((name, value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
