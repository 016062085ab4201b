//! Pods: ValidatePodCreate and ValidatePodSpec's pod-level rules (restart and DNS policy,
//! host network, hostname, host aliases, OS), calling the volume, container and security
//! context rules for the parts of the spec.

use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::containers::{containers, init_containers};
use super::metadata::{labels, object_meta};
use super::refusals::support;
use super::resources::resource_requirements;
use super::security::pod_security_context;
use super::volumes::volumes;
use super::{Findings, SpecContext, NONNEGATIVE};
use crate::error::FieldError;
use crate::names;
use crate::path::FieldPath;

/// ValidatePodCreate: metadata, spec, and the pod-only rules.
pub fn pod(pod: &Pod, out: &mut Findings) {
    object_meta(&pod.metadata, &FieldPath::new("metadata"), out);
    let spec_path = FieldPath::new("spec");
    match pod.spec.as_ref() {
        Some(spec) => {
            pod_spec(spec, Some(&pod.metadata), &spec_path, SpecContext::Pod, out);
            // validation.go ValidatePodCreate: ephemeral containers come only through the
            // ephemeralcontainers subresource.
            if spec
                .ephemeral_containers
                .as_ref()
                .is_some_and(|e| !e.is_empty())
            {
                out.err(FieldError::forbidden(
                    spec_path.child("ephemeralContainers"),
                    "cannot be set on create",
                ));
            }
        }
        None => out.err(FieldError::required(spec_path, "")),
    }
}

/// ValidatePodSpec (+ ValidatePodTemplateSpec's extra rules via `ctx`) and minipod support.
pub fn pod_spec(
    spec: &PodSpec,
    meta: Option<&ObjectMeta>,
    path: &FieldPath,
    ctx: SpecContext,
    out: &mut Findings,
) {
    let grace = spec.termination_grace_period_seconds;
    let volumes = volumes(
        spec.volumes.as_deref().unwrap_or(&[]),
        &path.child("volumes"),
        out,
    );
    let restart_policy = spec.restart_policy.as_deref().unwrap_or("");

    containers(
        &spec.containers,
        &volumes,
        grace,
        &path.child("containers"),
        restart_policy,
        out,
    );
    init_containers(
        spec.init_containers.as_deref().unwrap_or(&[]),
        &spec.containers,
        &volumes,
        grace,
        &path.child("initContainers"),
        restart_policy,
        out,
    );

    // validateRestartPolicy
    let rp_path = path.child("restartPolicy");
    match restart_policy {
        "Always" | "OnFailure" | "Never" => {}
        "" => out.err(FieldError::required(&rp_path, "")),
        other => out.err(FieldError::not_supported(
            &rp_path,
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    match ctx {
        SpecContext::Pod => {}
        // apps/validation ValidatePodTemplateSpecForReplicaSet et al.
        SpecContext::AppsTemplate(_) => {
            if !restart_policy.is_empty() && restart_policy != "Always" {
                out.err(FieldError::not_supported(
                    &rp_path,
                    restart_policy,
                    &["Always"],
                ));
            }
        }
        // batch/validation validateJobSpec: a Job's pods must be allowed to finish.
        SpecContext::JobTemplate => {
            if restart_policy == "Always" {
                out.err(FieldError::not_supported(
                    &rp_path,
                    restart_policy,
                    &["OnFailure", "Never"],
                ));
            }
        }
    }
    if let SpecContext::AppsTemplate(kind) = ctx {
        if spec.active_deadline_seconds.is_some() {
            out.err(FieldError::forbidden(
                path.child("activeDeadlineSeconds"),
                format!("activeDeadlineSeconds in {kind} is not Supported"),
            ));
        }
    }

    // validateDNSPolicy / validatePodDNSConfig
    let dns_policy = spec.dns_policy.as_deref().unwrap_or("");
    match dns_policy {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => out.err(FieldError::required(path.child("dnsPolicy"), "")),
        other => out.err(FieldError::not_supported(
            path.child("dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    let dns_path = path.child("dnsConfig");
    match (&spec.dns_config, dns_policy) {
        (None, "None") => out.err(FieldError::required(
            &dns_path,
            "must provide `dnsConfig` when `dnsPolicy` is None",
        )),
        (Some(c), "None") if c.nameservers.as_ref().is_none_or(Vec::is_empty) => {
            out.err(FieldError::required(
                dns_path.child("nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            ))
        }
        _ => {}
    }
    if let Some(c) = &spec.dns_config {
        let ns = c.nameservers.as_deref().unwrap_or(&[]);
        if ns.len() > 3 {
            out.err(FieldError::invalid(
                dns_path.child("nameservers"),
                crate::error::BadValue::Plain(format!("{ns:?}")),
                "must not have more than 3 nameservers",
            ));
        }
        for (i, n) in ns.iter().enumerate() {
            if !names::is_ip(n) {
                out.err(FieldError::invalid(
                    dns_path.child("nameservers").index(i),
                    n,
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                ));
            }
        }
        let searches = c.searches.as_deref().unwrap_or(&[]);
        if searches.len() > 32 {
            out.err(FieldError::invalid(
                dns_path.child("searches"),
                crate::error::BadValue::Plain(format!("{searches:?}")),
                "must not have more than 32 search paths",
            ));
        }
        for (i, s) in searches.iter().enumerate() {
            if s != "." {
                let t = s.strip_suffix('.').unwrap_or(s);
                // AllowRelaxedDNSSearchValidation: underscores allowed.
                let u = t.replace('_', "a");
                out.invalid_msgs(
                    &dns_path.child("searches").index(i),
                    t,
                    names::dns1123_subdomain(&u),
                );
            }
        }
        for (i, o) in c.options.iter().flatten().enumerate() {
            if o.name.as_deref().unwrap_or("").is_empty() {
                out.err(FieldError::required(
                    dns_path.child("options").index(i),
                    "must not be empty",
                ));
            }
        }
    }

    // validatePodHostNetworkDeps
    if spec.host_network == Some(true) {
        for (ci, c) in spec.containers.iter().enumerate() {
            for (pi, p) in c.ports.iter().flatten().enumerate() {
                let hp = p.host_port.unwrap_or(0);
                if (ctx == SpecContext::Pod || hp != 0) && hp != p.container_port {
                    out.err(FieldError::invalid(
                        path.child("containers")
                            .index(ci)
                            .child("ports")
                            .index(pi)
                            .child("hostPort"),
                        hp,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }

    // Pod-level scalars.
    if let Some(n) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        out.invalid_msgs(&path.child("nodeName"), n, names::dns1123_subdomain(n));
    }
    if let Some(sa) = spec
        .service_account_name
        .as_deref()
        .filter(|n| !n.is_empty())
    {
        out.invalid_msgs(
            &path.child("serviceAccountName"),
            sa,
            names::dns1123_subdomain(sa),
        );
    }
    if let Some(ads) = spec.active_deadline_seconds {
        if ads <= 0 || ads > i64::from(i32::MAX) {
            out.err(FieldError::invalid(
                path.child("activeDeadlineSeconds"),
                ads,
                "must be between 1 and 2147483647, inclusive",
            ));
        }
    }
    if let Some(g) = grace {
        if g < 0 {
            out.err(FieldError::invalid(
                path.child("terminationGracePeriodSeconds"),
                g,
                NONNEGATIVE,
            ));
        }
    }
    if let Some(h) = spec.hostname.as_deref().filter(|h| !h.is_empty()) {
        out.invalid_msgs(&path.child("hostname"), h, names::dns1123_label(h));
    }
    if let Some(s) = spec.subdomain.as_deref().filter(|s| !s.is_empty()) {
        out.invalid_msgs(&path.child("subdomain"), s, names::dns1123_label(s));
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        out.err(FieldError::invalid(
            path.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    if spec.set_hostname_as_fqdn == Some(true) && spec.subdomain.as_deref().unwrap_or("").is_empty()
    {
        // Allowed by the API; without a subdomain the FQDN is just the hostname.
    }
    for (i, g) in spec.readiness_gates.iter().flatten().enumerate() {
        let p = path.child("readinessGates").index(i).child("conditionType");
        out.invalid_msgs(
            &p,
            &g.condition_type,
            names::qualified_name(&g.condition_type),
        );
    }
    for (i, a) in spec.host_aliases.iter().flatten().enumerate() {
        let p = path.child("hostAliases").index(i);
        if !names::is_ip(&a.ip) {
            out.err(FieldError::invalid(
                p.child("ip"),
                &a.ip,
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ));
        }
        for (j, h) in a.hostnames.iter().flatten().enumerate() {
            out.invalid_msgs(
                &p.child("hostnames").index(j),
                h,
                names::dns1123_subdomain(h),
            );
        }
    }
    pod_security_context(spec, path, out);
    if let Some(labels_map) = spec.node_selector.as_ref() {
        labels(Some(labels_map), &path.child("nodeSelector"), out);
    }
    if let Some(os) = spec.os.as_ref() {
        match os.name.as_str() {
            "linux" => {}
            "windows" => out.unsupported(
                &path.child("os").child("name"),
                "minipod runs Linux containers",
            ),
            other => out.err(FieldError::not_supported(
                path.child("os").child("name"),
                other,
                &["linux", "windows"],
            )),
        }
    }
    if let Some(resources) = spec.resources.as_ref() {
        resource_requirements(resources, &path.child("resources"), out);
    }

    support(spec, meta, path, out);
}
