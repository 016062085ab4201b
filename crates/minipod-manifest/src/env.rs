//! A container's environment: each variable's source as resolved from the input
//! ([`EnvVarPlan`]), and the final list built when the sandbox's addresses are known
//! ([`build_env`]), with `$(VAR)` and `subPathExpr` expansion.

use serde::{Deserialize, Serialize};

/// One environment variable's source, resolved as far as possible at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVarPlan {
    pub name: String,
    pub value: EnvValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnvValue {
    /// `env[].value`: `$(VAR)` references are expanded against the variables before it.
    Template(String),
    /// A value taken verbatim: envFrom, configMapKeyRef, secretKeyRef, fieldRef on metadata
    /// or spec, resourceFieldRef.
    Resolved(String),
    /// `status.podIP` (known when the sandbox exists).
    PodIp,
    /// `status.podIPs` (comma-separated).
    PodIps,
    /// `status.hostIP`.
    HostIp,
    /// `status.hostIPs` (comma-separated).
    HostIps,
}

/// Addresses known only once the pod sandbox exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeFacts {
    pub pod_ips: Vec<String>,
    pub host_ips: Vec<String>,
}

/// kubelet_pods.go makeEnvironmentVariables: envFrom, then env in order, each `value`
/// expanded against what came before; a later name replaces an earlier one in place.
/// (The kubelet builds a Go map, so its order is unspecified; first-appearance order is kept
/// here so output is stable.)
pub fn build_env(env: &[EnvVarPlan], facts: &RuntimeFacts) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(env.len());
    for e in env {
        let value = match &e.value {
            EnvValue::Template(t) if !t.is_empty() => crate::expand::expand(t, |name| {
                out.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
            }),
            EnvValue::Template(t) => t.clone(),
            EnvValue::Resolved(v) => v.clone(),
            EnvValue::PodIp => facts.pod_ips.first().cloned().unwrap_or_default(),
            EnvValue::PodIps => facts.pod_ips.join(","),
            EnvValue::HostIp => facts.host_ips.first().cloned().unwrap_or_default(),
            EnvValue::HostIps => facts.host_ips.join(","),
        };
        match out.iter_mut().find(|(k, _)| *k == e.name) {
            Some(slot) => slot.1 = value,
            None => out.push((e.name.clone(), value)),
        }
    }
    out
}

/// kubelet subpath expansion (kubecontainer.ExpandContainerVolumeMounts, then makeMounts):
/// `subPathExpr` expanded against the container's environment, where a variable that is
/// missing or empty is an error ("missing value for NAME"); the result must stay a relative
/// path without `..`.
pub fn expand_sub_path_expr(expr: &str, env: &[(String, String)]) -> Result<String, String> {
    let missing = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let p = crate::expand::expand(expr, |name| {
        let value = env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if value.is_empty() {
            missing.borrow_mut().insert(name.to_string());
        }
        Some(value)
    });
    let missing = missing.into_inner();
    if !missing.is_empty() {
        let names: Vec<String> = missing.into_iter().collect();
        return Err(format!(
            "subPathExpr {expr:?}: missing value for {}",
            names.join(", ")
        ));
    }
    if p.starts_with('/') {
        return Err(format!(
            "subPathExpr {expr:?} expands to the absolute path {p:?}"
        ));
    }
    if p.split('/').any(|s| s == "..") {
        return Err(format!(
            "subPathExpr {expr:?} expands to {p:?}, which contains '..'"
        ));
    }
    Ok(p)
}
