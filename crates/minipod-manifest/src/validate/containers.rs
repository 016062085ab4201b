//! Containers and init containers: names, image, ports, env, envFrom and volume mounts
//! (validation.go validateContainers, validateInitContainers, validateContainerCommon).

use std::collections::HashSet;

use k8s_openapi::api::core::v1::{Container, EnvFromSource, EnvVar, VolumeMount};

use super::handlers::{lifecycle, probes};
use super::resources::resource_requirements;
use super::security::security_context;
use super::volumes::{local_descending, object_field_selector, resource_field_selector};
use super::Findings;
use crate::error::FieldError;
use crate::names;
use crate::path::FieldPath;

pub(super) fn containers(
    list: &[Container],
    volumes: &HashSet<String>,
    grace: Option<i64>,
    path: &FieldPath,
    restart_policy: &str,
    out: &mut Findings,
) {
    // validateContainers
    if list.is_empty() {
        out.err(FieldError::required(path, ""));
        return;
    }
    let mut names_seen = HashSet::new();
    for (i, c) in list.iter().enumerate() {
        let cp = path.index(i);
        container_common(c, volumes, &cp, restart_policy, out);
        if !names_seen.insert(c.name.clone()) {
            out.err(FieldError::duplicate(cp.child("name"), &c.name));
        }
        if let Some(l) = &c.lifecycle {
            lifecycle(l, grace, &cp.child("lifecycle"), out);
        }
        probes(c, grace, &cp, out);
        if c.restart_policy.is_some() {
            out.err(FieldError::forbidden(
                cp.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    host_port_conflicts(list, path, out);
}

pub(super) fn init_containers(
    list: &[Container],
    regular: &[Container],
    volumes: &HashSet<String>,
    grace: Option<i64>,
    path: &FieldPath,
    restart_policy: &str,
    out: &mut Findings,
) {
    // validateInitContainers
    let mut all: HashSet<String> = regular.iter().map(|c| c.name.clone()).collect();
    for (i, c) in list.iter().enumerate() {
        let cp = path.index(i);
        container_common(c, volumes, &cp, restart_policy, out);
        let mut sidecar = false;
        if let Some(rp) = c.restart_policy.as_deref() {
            if rp == "Always" {
                sidecar = true;
            } else {
                out.err(FieldError::not_supported(
                    cp.child("restartPolicy"),
                    rp,
                    &["Always"],
                ));
            }
        }
        if all.contains(&c.name) {
            out.err(FieldError::duplicate(cp.child("name"), &c.name));
        } else if !c.name.is_empty() {
            all.insert(c.name.clone());
        }
        host_port_conflicts(std::slice::from_ref(c), path, out);
        if sidecar {
            if let Some(l) = &c.lifecycle {
                lifecycle(l, grace, &cp.child("lifecycle"), out);
            }
            probes(c, grace, &cp, out);
        } else {
            const MSG: &str = "may not be set for init containers without restartPolicy=Always";
            if c.lifecycle.is_some() {
                out.err(FieldError::forbidden(cp.child("lifecycle"), MSG));
            }
            if c.liveness_probe.is_some() {
                out.err(FieldError::forbidden(cp.child("livenessProbe"), MSG));
            }
            if c.readiness_probe.is_some() {
                out.err(FieldError::forbidden(cp.child("readinessProbe"), MSG));
            }
            if c.startup_probe.is_some() {
                out.err(FieldError::forbidden(cp.child("startupProbe"), MSG));
            }
        }
        if c.resize_policy.as_ref().is_some_and(|r| !r.is_empty()) && !sidecar {
            out.err(FieldError::invalid(
                cp.child("resizePolicy"),
                crate::error::BadValue::Plain("[...]".to_string()),
                "must not be set for init containers",
            ));
        }
    }
}

/// AccumulateUniqueHostPorts
fn host_port_conflicts(list: &[Container], path: &FieldPath, out: &mut Findings) {
    let mut seen = HashSet::new();
    for (ci, c) in list.iter().enumerate() {
        for (pi, p) in c.ports.iter().flatten().enumerate() {
            let hp = p.host_port.unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!(
                "{}/{}/{}",
                p.protocol.as_deref().unwrap_or(""),
                p.host_ip.as_deref().unwrap_or(""),
                hp
            );
            if !seen.insert(key.clone()) {
                out.err(FieldError::duplicate(
                    path.index(ci).child("ports").index(pi).child("hostPort"),
                    key,
                ));
            }
        }
    }
}

/// validateContainerCommon
fn container_common(
    c: &Container,
    volumes: &HashSet<String>,
    path: &FieldPath,
    restart_policy: &str,
    out: &mut Findings,
) {
    let name_path = path.child("name");
    if c.name.is_empty() {
        out.err(FieldError::required(&name_path, ""));
    } else {
        out.invalid_msgs(&name_path, &c.name, names::dns1123_label(&c.name));
    }
    let image = c.image.as_deref().unwrap_or("");
    if image.is_empty() {
        out.err(FieldError::required(path.child("image"), ""));
    } else if image.trim() != image {
        // validateContainerOnlyForPod (Pods; templates may carry a placeholder).
        out.err(FieldError::invalid(
            path.child("image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
    match c.termination_message_policy.as_deref().unwrap_or("") {
        "File" | "FallbackToLogsOnError" => {}
        "" => out.err(FieldError::required(
            path.child("terminationMessagePolicy"),
            "",
        )),
        other => out.err(FieldError::not_supported(
            path.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    ports(c, &path.child("ports"), out);
    env(c.env.as_deref().unwrap_or(&[]), &path.child("env"), out);
    env_from(
        c.env_from.as_deref().unwrap_or(&[]),
        &path.child("envFrom"),
        out,
    );
    let privileged = c
        .security_context
        .as_ref()
        .and_then(|s| s.privileged)
        .unwrap_or(false);
    volume_mounts(
        c.volume_mounts.as_deref().unwrap_or(&[]),
        volumes,
        privileged,
        &path.child("volumeMounts"),
        out,
    );
    match c.image_pull_policy.as_deref().unwrap_or("") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => out.err(FieldError::required(path.child("imagePullPolicy"), "")),
        other => out.err(FieldError::not_supported(
            path.child("imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    if let Some(r) = &c.resources {
        resource_requirements(r, &path.child("resources"), out);
    }
    for (i, rp) in c.resize_policy.iter().flatten().enumerate() {
        let p = path.child("resizePolicy");
        match rp.resource_name.as_str() {
            "cpu" | "memory" => {}
            "" => out.err(FieldError::required(&p, "")),
            other => out.err(FieldError::not_supported(&p, other, &["cpu", "memory"])),
        }
        match rp.restart_policy.as_str() {
            "NotRequired" | "RestartContainer" => {}
            "" => out.err(FieldError::required(&p, "")),
            other => out.err(FieldError::not_supported(
                &p,
                other,
                &["NotRequired", "RestartContainer"],
            )),
        }
        if restart_policy == "Never" && rp.restart_policy != "NotRequired" {
            out.err(FieldError::invalid(
                &p,
                rp.restart_policy.as_str(),
                "must be 'NotRequired' when `restartPolicy` is 'Never'",
            ));
        }
        let _ = i;
    }
    if let Some(sc) = &c.security_context {
        security_context(sc, &path.child("securityContext"), out);
    }
}

/// validateContainerPorts
fn ports(c: &Container, path: &FieldPath, out: &mut Findings) {
    let mut names_seen = HashSet::new();
    for (i, p) in c.ports.iter().flatten().enumerate() {
        let pp = path.index(i);
        if let Some(n) = p.name.as_deref().filter(|n| !n.is_empty()) {
            let msgs = names::port_name(n);
            if !msgs.is_empty() {
                out.invalid_msgs(&pp.child("name"), n, msgs);
            } else if !names_seen.insert(n.to_string()) {
                out.err(FieldError::duplicate(pp.child("name"), n));
            }
        }
        if p.container_port == 0 {
            out.err(FieldError::required(pp.child("containerPort"), ""));
        } else if !(1..=65535).contains(&p.container_port) {
            out.err(FieldError::invalid(
                pp.child("containerPort"),
                p.container_port,
                "must be between 1 and 65535, inclusive",
            ));
        }
        if let Some(hp) = p.host_port.filter(|h| *h != 0) {
            if !(1..=65535).contains(&hp) {
                out.err(FieldError::invalid(
                    pp.child("hostPort"),
                    hp,
                    "must be between 1 and 65535, inclusive",
                ));
            }
        }
        match p.protocol.as_deref().unwrap_or("") {
            "TCP" | "UDP" | "SCTP" => {}
            "" => out.err(FieldError::required(pp.child("protocol"), "")),
            other => out.err(FieldError::not_supported(
                pp.child("protocol"),
                other,
                &["SCTP", "TCP", "UDP"],
            )),
        }
        if let Some(ip) = p.host_ip.as_deref().filter(|s| !s.is_empty()) {
            if !names::is_ip(ip) {
                out.err(FieldError::invalid(
                    pp.child("hostIP"),
                    ip,
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                ));
            }
        }
    }
}

const ENV_FIELDS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// ValidateEnv + validateEnvVarValueFrom
fn env(vars: &[EnvVar], path: &FieldPath, out: &mut Findings) {
    for (i, e) in vars.iter().enumerate() {
        let ep = path.index(i);
        if e.name.is_empty() {
            out.err(FieldError::required(ep.child("name"), ""));
        } else {
            out.invalid_msgs(&ep.child("name"), &e.name, names::env_var_name(&e.name));
        }
        let Some(vf) = &e.value_from else { continue };
        let vp = ep.child("valueFrom");
        let mut n = 0;
        if let Some(f) = &vf.field_ref {
            n += 1;
            object_field_selector(
                f.api_version.as_deref().unwrap_or(""),
                &f.field_path,
                &ENV_FIELDS,
                &vp.child("fieldRef"),
                out,
            );
        }
        if let Some(r) = &vf.resource_field_ref {
            n += 1;
            resource_field_selector(r, &vp.child("resourceFieldRef"), false, out);
        }
        if let Some(k) = &vf.config_map_key_ref {
            n += 1;
            key_selector(&k.name, &k.key, &vp.child("configMapKeyRef"), out);
        }
        if let Some(k) = &vf.secret_key_ref {
            n += 1;
            key_selector(&k.name, &k.key, &vp.child("secretKeyRef"), out);
        }
        if vf.file_key_ref.is_some() {
            n += 1;
            out.unsupported(&vp.child("fileKeyRef"), "alpha field");
        }
        if n == 0 {
            out.err(FieldError::invalid(
                &vp,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if !e.value.as_deref().unwrap_or("").is_empty() {
            out.err(FieldError::invalid(
                &vp,
                "",
                "may not be specified when `value` is not empty",
            ));
        } else if n > 1 {
            out.err(FieldError::invalid(
                &vp,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

/// validateConfigMapKeySelector / validateSecretKeySelector
fn key_selector(name: &str, key: &str, path: &FieldPath, out: &mut Findings) {
    out.invalid_msgs(&path.child("name"), name, names::dns1123_subdomain(name));
    if key.is_empty() {
        out.err(FieldError::required(path.child("key"), ""));
    } else {
        out.invalid_msgs(&path.child("key"), key, names::config_map_key(key));
    }
}

/// ValidateEnvFrom
fn env_from(list: &[EnvFromSource], path: &FieldPath, out: &mut Findings) {
    for (i, e) in list.iter().enumerate() {
        let ep = path.index(i);
        if let Some(prefix) = e.prefix.as_deref().filter(|p| !p.is_empty()) {
            out.invalid_msgs(&ep.child("prefix"), prefix, names::env_var_name(prefix));
        }
        let mut n = 0;
        if let Some(c) = &e.config_map_ref {
            n += 1;
            let p = ep.child("configMapRef").child("name");
            if c.name.is_empty() {
                out.err(FieldError::required(&p, ""));
            } else {
                out.invalid_msgs(&p, &c.name, names::dns1123_subdomain(&c.name));
            }
        }
        if let Some(s) = &e.secret_ref {
            n += 1;
            let p = ep.child("secretRef").child("name");
            if s.name.is_empty() {
                out.err(FieldError::required(&p, ""));
            } else {
                out.invalid_msgs(&p, &s.name, names::dns1123_subdomain(&s.name));
            }
        }
        if n == 0 {
            out.err(FieldError::invalid(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if n > 1 {
            out.err(FieldError::invalid(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

/// ValidateVolumeMounts
fn volume_mounts(
    mounts: &[VolumeMount],
    volumes: &HashSet<String>,
    privileged: bool,
    path: &FieldPath,
    out: &mut Findings,
) {
    let mut points = HashSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let mp = path.index(i);
        if m.name.is_empty() {
            out.err(FieldError::required(mp.child("name"), ""));
        }
        if !volumes.contains(&m.name) {
            out.err(FieldError::not_found(mp.child("name"), &m.name));
        }
        if m.mount_path.is_empty() {
            out.err(FieldError::required(mp.child("mountPath"), ""));
        }
        if !points.insert(m.mount_path.clone()) {
            out.err(FieldError::invalid(
                mp.child("mountPath"),
                &m.mount_path,
                "must be unique",
            ));
        }
        // validation.go reports subPath problems at `volumeMounts.subPath` (no index).
        let sub_path = m.sub_path.as_deref().unwrap_or("");
        if !sub_path.is_empty() {
            local_descending(sub_path, &path.child("subPath"), out);
        }
        let sub_expr = m.sub_path_expr.as_deref().unwrap_or("");
        if !sub_expr.is_empty() {
            if !sub_path.is_empty() {
                out.err(FieldError::invalid(
                    mp.child("subPathExpr"),
                    sub_expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            local_descending(sub_expr, &path.child("subPathExpr"), out);
        }
        if let Some(prop) = m.mount_propagation.as_deref() {
            match prop {
                "None" | "HostToContainer" => {}
                // validation.go validateMountPropagation: a shared mount lets the container
                // mount over the host, so only privileged containers may ask for it.
                "Bidirectional" if !privileged => out.err(FieldError::forbidden(
                    path.child("mountPropagation"),
                    "Bidirectional mount propagation is available only to privileged containers",
                )),
                "Bidirectional" => {}
                other => out.err(FieldError::not_supported(
                    path.child("mountPropagation"),
                    other,
                    &["Bidirectional", "HostToContainer", "None"],
                )),
            }
        }
        if let Some(rro) = m.recursive_read_only.as_deref() {
            let rp = path.child("recursiveReadOnly");
            match rro {
                "Disabled" => {}
                "IfPossible" | "Enabled" => {
                    if m.read_only != Some(true) {
                        out.err(FieldError::forbidden(
                            &rp,
                            "may only be specified when readOnly is true",
                        ));
                    }
                    if m.mount_propagation.as_deref().is_some_and(|p| p != "None") {
                        out.err(FieldError::forbidden(
                            &rp,
                            "may only be specified when mountPropagation is None or not specified",
                        ));
                    }
                }
                other => out.err(FieldError::not_supported(
                    &rp,
                    other,
                    &["Disabled", "Enabled", "IfPossible"],
                )),
            }
        }
    }
}
