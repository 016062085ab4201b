//! Validation rules ported from pkg/apis/core/validation/validation.go (and the apps/batch
//! validation of workload templates), with Kubernetes' messages and field paths, plus
//! minipod's own refusals of fields it cannot honour. Every rule appends to a list: all
//! problems are reported, never just the first.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvFromSource, EnvVar, KeyToPath, Lifecycle, LifecycleHandler, Pod,
    PodSpec, Probe, ResourceRequirements, Secret, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::error::{FieldError, WarningKind};
use crate::names;
use crate::path::FieldPath;
use crate::quantity::Quantity;

/// What validation of one object found.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    pub errors: Vec<FieldError>,
    /// (kind, field path, message)
    pub warnings: Vec<(WarningKind, String, String)>,
}

impl Findings {
    fn err(&mut self, e: FieldError) {
        // field.ErrorList.ToAggregate drops exact duplicates.
        if !self.errors.contains(&e) {
            self.errors.push(e);
        }
    }
    fn warn(&mut self, kind: WarningKind, field: &FieldPath, msg: impl Into<String>) {
        self.warnings.push((kind, field.to_string(), msg.into()));
    }
    fn ignored(&mut self, field: &FieldPath, why: &str) {
        self.warn(
            WarningKind::IgnoredField,
            field,
            format!("ignored by minipod: {why}"),
        );
    }
    fn unsupported(&mut self, field: &FieldPath, why: &str) {
        self.err(FieldError::forbidden(
            field,
            format!("not supported by minipod: {why}"),
        ));
    }
    fn invalid_msgs(&mut self, field: &FieldPath, value: &str, msgs: Vec<String>) {
        for m in msgs {
            self.err(FieldError::invalid(field, value, m));
        }
    }
}

const NONNEGATIVE: &str = "must be greater than or equal to 0";
const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// Where a pod spec sits, which changes a few rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecContext {
    /// A Pod object (opts.ResourceIsPod).
    Pod,
    /// The template of a Deployment, ReplicaSet, StatefulSet or DaemonSet: restartPolicy
    /// must be Always.
    AppsTemplate(&'static str),
    /// The template of a Job: restartPolicy must be OnFailure or Never.
    JobTemplate,
}

// ---------------------------------------------------------------------------------------
// Object metadata (apimachinery api/validation/objectmeta.go ValidateObjectMeta)

/// ValidateObjectMeta for a namespaced object whose name must be a DNS-1123 subdomain.
pub fn object_meta(meta: &ObjectMeta, path: &FieldPath, out: &mut Findings) {
    let name = meta.name.as_deref().unwrap_or("");
    let generate = meta.generate_name.as_deref().unwrap_or("");
    if !generate.is_empty() {
        // Prefix=true: a trailing '-' is allowed; validate what remains.
        let trimmed = generate.trim_end_matches('-');
        if !trimmed.is_empty() {
            out.invalid_msgs(
                &path.child("generateName"),
                generate,
                names::dns1123_subdomain(trimmed),
            );
        }
    }
    if name.is_empty() {
        if generate.is_empty() {
            out.err(FieldError::required(
                path.child("name"),
                "name or generateName is required",
            ));
        }
    } else {
        out.invalid_msgs(&path.child("name"), name, names::dns1123_subdomain(name));
    }
    if let Some(ns) = meta.namespace.as_deref() {
        if !ns.is_empty() {
            out.invalid_msgs(&path.child("namespace"), ns, names::dns1123_label(ns));
        }
    }
    labels(meta.labels.as_ref(), &path.child("labels"), out);
    annotations(meta.annotations.as_ref(), &path.child("annotations"), out);
    for (i, f) in meta.finalizers.iter().flatten().enumerate() {
        out.invalid_msgs(
            &path.child("finalizers").index(i),
            f,
            names::qualified_name(f),
        );
    }
}

/// ValidateLabels: keys are qualified names, values label values.
pub fn labels(map: Option<&BTreeMap<String, String>>, path: &FieldPath, out: &mut Findings) {
    for (k, v) in map.into_iter().flatten() {
        out.invalid_msgs(path, k, names::qualified_name(k));
        out.invalid_msgs(path, v, names::label_value(v));
    }
}

/// ValidateAnnotations: lower-cased keys are qualified names; total size at most 256 KiB.
pub fn annotations(map: Option<&BTreeMap<String, String>>, path: &FieldPath, out: &mut Findings) {
    let mut total = 0usize;
    for (k, v) in map.into_iter().flatten() {
        out.invalid_msgs(path, k, names::qualified_name(&k.to_lowercase()));
        total += k.len() + v.len();
    }
    const MAX: usize = 256 * 1024;
    if total > MAX {
        out.err(FieldError::new(
            crate::error::FieldErrorType::TooLong,
            path,
            crate::error::BadValue::None,
            format!("may not be more than {MAX} bytes"),
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Pods

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

/// Pod fields minipod cannot honour: a warning when ignoring them is harmless on one host,
/// an error when ignoring them would change what the pod does.
fn support(spec: &PodSpec, meta: Option<&ObjectMeta>, path: &FieldPath, out: &mut Findings) {
    let _ = meta;
    let sched = "there is one node and no scheduler";
    if spec.node_selector.as_ref().is_some_and(|m| !m.is_empty()) {
        out.ignored(&path.child("nodeSelector"), sched);
    }
    if spec.affinity.is_some() {
        out.ignored(&path.child("affinity"), sched);
    }
    if spec.tolerations.as_ref().is_some_and(|t| !t.is_empty()) {
        out.ignored(&path.child("tolerations"), sched);
    }
    if spec
        .topology_spread_constraints
        .as_ref()
        .is_some_and(|t| !t.is_empty())
    {
        out.ignored(&path.child("topologySpreadConstraints"), sched);
    }
    if spec
        .priority_class_name
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        out.ignored(
            &path.child("priorityClassName"),
            "no preemption on one host",
        );
    }
    if spec
        .scheduler_name
        .as_deref()
        .is_some_and(|s| s != "default-scheduler")
    {
        out.ignored(&path.child("schedulerName"), sched);
    }
    if spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        out.ignored(&path.child("schedulingGates"), "pods start at once");
    }
    if spec
        .runtime_class_name
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        out.ignored(&path.child("runtimeClassName"), "there is one runtime");
    }
    if spec
        .image_pull_secrets
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        out.ignored(
            &path.child("imagePullSecrets"),
            "images are pulled with the host's credentials",
        );
    }
    if spec.overhead.as_ref().is_some_and(|o| !o.is_empty()) {
        out.ignored(&path.child("overhead"), "no RuntimeClass overhead");
    }
    if spec.readiness_gates.as_ref().is_some_and(|g| !g.is_empty()) {
        out.ignored(
            &path.child("readinessGates"),
            "no controller sets these conditions; readiness uses the containers only",
        );
    }
    if spec.resource_claims.as_ref().is_some_and(|c| !c.is_empty()) {
        out.unsupported(
            &path.child("resourceClaims"),
            "no dynamic resource allocation",
        );
    }
    if spec.host_users == Some(false) {
        out.unsupported(
            &path.child("hostUsers"),
            "user namespaces are not implemented",
        );
    }
    if spec
        .hostname_override
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        out.unsupported(&path.child("hostnameOverride"), "alpha field");
    }
    if spec.workload_ref.is_some() {
        out.ignored(&path.child("workloadRef"), "no gang scheduling");
    }
    for (kind, list) in [
        ("containers", Some(&spec.containers)),
        ("initContainers", spec.init_containers.as_ref()),
    ] {
        for (i, c) in list.into_iter().flatten().enumerate() {
            let cp = path.child(kind).index(i);
            if c.volume_devices.as_ref().is_some_and(|d| !d.is_empty()) {
                out.unsupported(&cp.child("volumeDevices"), "no block volumes");
            }
            if c.restart_policy_rules
                .as_ref()
                .is_some_and(|r| !r.is_empty())
            {
                out.unsupported(&cp.child("restartPolicyRules"), "alpha field");
            }
            if c.resize_policy.as_ref().is_some_and(|r| !r.is_empty()) {
                out.ignored(&cp.child("resizePolicy"), "pods are not resized in place");
            }
            if spec.host_network != Some(true) {
                for (pi, p) in c.ports.iter().flatten().enumerate() {
                    if p.host_port.unwrap_or(0) != 0 {
                        out.ignored(
                            &cp.child("ports").index(pi).child("hostPort"),
                            "host ports are not published (use `minipod port-forward` or hostNetwork)",
                        );
                    }
                }
            }
        }
    }
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let vp = path.child("volumes").index(i);
        let unsupported: &[(&str, bool)] = &[
            ("persistentVolumeClaim", v.persistent_volume_claim.is_some()),
            ("ephemeral", v.ephemeral.is_some()),
            ("image", v.image.is_some()),
            ("nfs", v.nfs.is_some()),
            ("iscsi", v.iscsi.is_some()),
            ("csi", v.csi.is_some()),
            ("gitRepo", v.git_repo.is_some()),
            ("awsElasticBlockStore", v.aws_elastic_block_store.is_some()),
            ("azureDisk", v.azure_disk.is_some()),
            ("azureFile", v.azure_file.is_some()),
            ("cephfs", v.cephfs.is_some()),
            ("cinder", v.cinder.is_some()),
            ("fc", v.fc.is_some()),
            ("flexVolume", v.flex_volume.is_some()),
            ("flocker", v.flocker.is_some()),
            ("gcePersistentDisk", v.gce_persistent_disk.is_some()),
            ("glusterfs", v.glusterfs.is_some()),
            ("photonPersistentDisk", v.photon_persistent_disk.is_some()),
            ("portworxVolume", v.portworx_volume.is_some()),
            ("quobyte", v.quobyte.is_some()),
            ("rbd", v.rbd.is_some()),
            ("scaleIO", v.scale_io.is_some()),
            ("storageos", v.storageos.is_some()),
            ("vsphereVolume", v.vsphere_volume.is_some()),
        ];
        for (name, set) in unsupported {
            if *set {
                out.unsupported(
                    &vp.child(name),
                    "volume type; supported: emptyDir, hostPath, configMap, secret, downwardAPI, projected",
                );
            }
        }
        if let Some(p) = v.projected.as_ref() {
            for (j, s) in p.sources.iter().flatten().enumerate() {
                let sp = vp.child("projected").child("sources").index(j);
                if s.service_account_token.is_some() {
                    out.unsupported(
                        &sp.child("serviceAccountToken"),
                        "there is no API server to issue tokens",
                    );
                }
                if s.cluster_trust_bundle.is_some() {
                    out.unsupported(&sp.child("clusterTrustBundle"), "there is no API server");
                }
                if s.pod_certificate.is_some() {
                    out.unsupported(&sp.child("podCertificate"), "there is no API server");
                }
            }
        }
    }
}

fn pod_security_context(spec: &PodSpec, path: &FieldPath, out: &mut Findings) {
    let Some(sc) = spec.security_context.as_ref() else {
        return;
    };
    let p = path.child("securityContext");
    id_range(sc.run_as_user, &p.child("runAsUser"), out);
    id_range(sc.run_as_group, &p.child("runAsGroup"), out);
    id_range(sc.fs_group, &p.child("fsGroup"), out);
    for (i, g) in sc.supplemental_groups.iter().flatten().enumerate() {
        id_range(Some(*g), &p.child("supplementalGroups").index(i), out);
    }
    if let Some(policy) = sc.fs_group_change_policy.as_deref() {
        if policy != "OnRootMismatch" && policy != "Always" {
            out.err(FieldError::not_supported(
                p.child("fsGroupChangePolicy"),
                policy,
                &["Always", "OnRootMismatch"],
            ));
        }
    }
    if let Some(policy) = sc.supplemental_groups_policy.as_deref() {
        if policy != "Merge" && policy != "Strict" {
            out.err(FieldError::not_supported(
                p.child("supplementalGroupsPolicy"),
                policy,
                &["Merge", "Strict"],
            ));
        }
    }
    for (i, s) in sc.sysctls.iter().flatten().enumerate() {
        let sp = p.child("sysctls").index(i);
        if s.name.is_empty() {
            out.err(FieldError::required(sp.child("name"), ""));
        }
    }
    if sc.windows_options.is_some() {
        out.ignored(&p.child("windowsOptions"), "Linux only");
    }
    if let Some(sp) = sc.seccomp_profile.as_ref() {
        seccomp_profile(sp, &p.child("seccompProfile"), out);
    }
}

/// validation.go validateSeccompProfileField.
fn seccomp_profile(
    sp: &k8s_openapi::api::core::v1::SeccompProfile,
    path: &FieldPath,
    out: &mut Findings,
) {
    match sp.type_.as_str() {
        "Localhost" => {
            if sp.localhost_profile.as_deref().unwrap_or("").is_empty() {
                out.err(FieldError::required(
                    path.child("localhostProfile"),
                    "must be set when seccomp type is Localhost",
                ));
            }
        }
        "RuntimeDefault" | "Unconfined" => {
            if sp.localhost_profile.is_some() {
                out.err(FieldError::invalid(
                    path.child("localhostProfile"),
                    sp.localhost_profile.clone().unwrap_or_default(),
                    "can only be set when seccomp type is Localhost",
                ));
            }
        }
        other => out.err(FieldError::not_supported(
            path.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
}

/// ValidateNonnegativeField on user/group IDs, capped at int32 as validation.go does.
fn id_range(v: Option<i64>, path: &FieldPath, out: &mut Findings) {
    if let Some(v) = v {
        if !(0..=i64::from(i32::MAX)).contains(&v) {
            out.err(FieldError::invalid(
                path,
                v,
                "must be between 0 and 2147483647, inclusive",
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Volumes (ValidateVolumes, validateVolumeSource)

/// Valid volumes by name → whether they are... (just the names here).
fn volumes(vols: &[Volume], path: &FieldPath, out: &mut Findings) -> HashSet<String> {
    let mut all = HashSet::new();
    for (i, v) in vols.iter().enumerate() {
        let vp = path.index(i);
        let name_path = vp.child("name");
        let mut el = Findings::default();
        volume_source(v, &vp, &mut el);
        if v.name.is_empty() {
            el.err(FieldError::required(&name_path, ""));
        } else {
            el.invalid_msgs(&name_path, &v.name, names::dns1123_label(&v.name));
        }
        if all.contains(&v.name) {
            el.err(FieldError::duplicate(&name_path, &v.name));
        }
        if el.errors.is_empty() {
            all.insert(v.name.clone());
        }
        for e in el.errors {
            out.err(e);
        }
    }
    all
}

fn volume_source(v: &Volume, path: &FieldPath, out: &mut Findings) {
    // In validation.go's order, so the "more than 1" error names the same field.
    let sources: [(&str, bool); 30] = [
        ("emptyDir", v.empty_dir.is_some()),
        ("hostPath", v.host_path.is_some()),
        ("gitRepo", v.git_repo.is_some()),
        ("gcePersistentDisk", v.gce_persistent_disk.is_some()),
        ("awsElasticBlockStore", v.aws_elastic_block_store.is_some()),
        ("secret", v.secret.is_some()),
        ("nfs", v.nfs.is_some()),
        ("iscsi", v.iscsi.is_some()),
        ("glusterfs", v.glusterfs.is_some()),
        ("flocker", v.flocker.is_some()),
        ("persistentVolumeClaim", v.persistent_volume_claim.is_some()),
        ("rbd", v.rbd.is_some()),
        ("cinder", v.cinder.is_some()),
        ("cephFS", v.cephfs.is_some()),
        ("quobyte", v.quobyte.is_some()),
        // validation.go misspells this path; kept for identical messages.
        ("downwarAPI", v.downward_api.is_some()),
        ("fc", v.fc.is_some()),
        ("flexVolume", v.flex_volume.is_some()),
        ("configMap", v.config_map.is_some()),
        ("azureFile", v.azure_file.is_some()),
        ("vsphereVolume", v.vsphere_volume.is_some()),
        ("photonPersistentDisk", v.photon_persistent_disk.is_some()),
        ("portworxVolume", v.portworx_volume.is_some()),
        ("azureDisk", v.azure_disk.is_some()),
        ("storageos", v.storageos.is_some()),
        ("projected", v.projected.is_some()),
        ("scaleIO", v.scale_io.is_some()),
        ("csi", v.csi.is_some()),
        ("ephemeral", v.ephemeral.is_some()),
        ("image", v.image.is_some()),
    ];
    let mut n = 0;
    for (name, set) in sources {
        if set {
            if n > 0 {
                out.err(FieldError::forbidden(
                    path.child(name),
                    "may not specify more than 1 volume type",
                ));
            }
            n += 1;
        }
    }
    if n == 0 {
        out.err(FieldError::required(path, "must specify a volume type"));
    }
    if let Some(e) = &v.empty_dir {
        if let Some(q) = &e.size_limit {
            match Quantity::parse(&q.0) {
                Ok(q) if q.is_negative() => out.err(FieldError::forbidden(
                    path.child("emptyDir").child("sizeLimit"),
                    "SizeLimit field must be a valid resource quantity",
                )),
                Ok(_) => {}
                Err(m) => out.err(FieldError::invalid(
                    path.child("emptyDir").child("sizeLimit"),
                    &q.0,
                    m,
                )),
            }
        }
        if let Some(m) = e.medium.as_deref() {
            if !matches!(m, "" | "Memory") && !m.starts_with("HugePages") {
                out.err(FieldError::not_supported(
                    path.child("emptyDir").child("medium"),
                    m,
                    &["", "Memory", "HugePages"],
                ));
            }
        }
    }
    if n > 1 {
        return;
    }
    if let Some(h) = &v.host_path {
        let hp = path.child("hostPath");
        if h.path.is_empty() {
            out.err(FieldError::required(hp.child("path"), ""));
        } else {
            no_backsteps(&h.path, &hp.child("path"), out);
            let t = h.type_.as_deref().unwrap_or("");
            const TYPES: [&str; 8] = [
                "",
                "BlockDevice",
                "CharDevice",
                "Directory",
                "DirectoryOrCreate",
                "File",
                "FileOrCreate",
                "Socket",
            ];
            if !TYPES.contains(&t) {
                out.err(FieldError::not_supported(hp.child("type"), t, &TYPES));
            }
        }
    }
    if let Some(s) = &v.secret {
        let sp = path.child("secret");
        if s.secret_name.as_deref().unwrap_or("").is_empty() {
            out.err(FieldError::required(sp.child("secretName"), ""));
        }
        file_mode(s.default_mode, &sp.child("defaultMode"), out);
        key_to_paths(s.items.as_deref(), &sp.child("items"), out);
    }
    if let Some(c) = &v.config_map {
        let cp = path.child("configMap");
        if c.name.is_empty() {
            out.err(FieldError::required(cp.child("name"), ""));
        }
        file_mode(c.default_mode, &cp.child("defaultMode"), out);
        key_to_paths(c.items.as_deref(), &cp.child("items"), out);
    }
    if let Some(d) = &v.downward_api {
        let dp = path.child("downwardAPI");
        file_mode(d.default_mode, &dp.child("defaultMode"), out);
        downward_api_items(d.items.as_deref(), &dp.child("items"), out);
    }
    if let Some(p) = &v.projected {
        let pp = path.child("projected");
        file_mode(p.default_mode, &pp.child("defaultMode"), out);
        let mut all_paths: HashSet<String> = HashSet::new();
        for (i, s) in p.sources.iter().flatten().enumerate() {
            let sp = pp.child("sources").index(i);
            let mut count = 0;
            let mut paths: Vec<String> = Vec::new();
            if let Some(c) = &s.config_map {
                count += 1;
                let cp = sp.child("configMap");
                if c.name.is_empty() {
                    out.err(FieldError::required(cp.child("name"), ""));
                }
                key_to_paths(c.items.as_deref(), &cp.child("items"), out);
                paths.extend(c.items.iter().flatten().map(|k| k.path.clone()));
            }
            if let Some(c) = &s.secret {
                count += 1;
                let cp = sp.child("secret");
                if c.name.is_empty() {
                    out.err(FieldError::required(cp.child("name"), ""));
                }
                key_to_paths(c.items.as_deref(), &cp.child("items"), out);
                paths.extend(c.items.iter().flatten().map(|k| k.path.clone()));
            }
            if let Some(d) = &s.downward_api {
                count += 1;
                downward_api_items(
                    d.items.as_deref(),
                    &sp.child("downwardAPI").child("items"),
                    out,
                );
                paths.extend(d.items.iter().flatten().map(|k| k.path.clone()));
            }
            if let Some(t) = &s.service_account_token {
                count += 1;
                paths.push(t.path.clone());
            }
            if s.cluster_trust_bundle.is_some() {
                count += 1;
            }
            if s.pod_certificate.is_some() {
                count += 1;
            }
            if count > 1 {
                out.err(FieldError::forbidden(
                    &sp,
                    "may not specify more than 1 volume type per source",
                ));
            }
            // validateProjectionSources: paths must not collide across sources.
            for p in paths {
                if !all_paths.insert(p.clone()) {
                    out.err(FieldError::invalid(&sp, p, "conflicting duplicate paths"));
                }
            }
        }
    }
}

/// validatePathNoBacksteps
fn no_backsteps(p: &str, path: &FieldPath, out: &mut Findings) {
    if p.split('/').any(|s| s == "..") {
        out.err(FieldError::invalid(path, p, "must not contain '..'"));
    }
}

/// validateLocalDescendingPath
fn local_descending(p: &str, path: &FieldPath, out: &mut Findings) {
    if p.starts_with('/') {
        out.err(FieldError::invalid(path, p, "must be a relative path"));
    }
    no_backsteps(p, path, out);
}

/// validateLocalNonReservedPath
fn local_non_reserved(p: &str, path: &FieldPath, out: &mut Findings) {
    let before = out.errors.len();
    local_descending(p, path, out);
    if out.errors.len() == before && p.starts_with("..") {
        out.err(FieldError::invalid(path, p, "must not start with '..'"));
    }
}

fn file_mode(mode: Option<i32>, path: &FieldPath, out: &mut Findings) {
    if let Some(m) = mode {
        if !(0..=0o777).contains(&m) {
            out.err(FieldError::invalid(path, m, FILE_MODE_MSG));
        }
    }
}

/// validateKeyToPath for configMap/secret items.
fn key_to_paths(items: Option<&[KeyToPath]>, path: &FieldPath, out: &mut Findings) {
    for (i, kp) in items.into_iter().flatten().enumerate() {
        let ip = path.index(i);
        if kp.key.is_empty() {
            out.err(FieldError::required(ip.child("key"), ""));
        }
        if kp.path.is_empty() {
            out.err(FieldError::required(ip.child("path"), ""));
        }
        local_non_reserved(&kp.path, &ip.child("path"), out);
        file_mode(kp.mode, &ip.child("mode"), out);
    }
}

const DOWNWARD_VOLUME_FIELDS: [&str; 5] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];

fn downward_api_items(
    items: Option<&[k8s_openapi::api::core::v1::DownwardAPIVolumeFile]>,
    path: &FieldPath,
    out: &mut Findings,
) {
    for (i, f) in items.into_iter().flatten().enumerate() {
        let ip = path.index(i);
        if f.path.is_empty() {
            out.err(FieldError::required(ip.child("path"), ""));
        }
        local_non_reserved(&f.path, &ip.child("path"), out);
        file_mode(f.mode, &ip.child("mode"), out);
        match (&f.field_ref, &f.resource_field_ref) {
            (Some(fr), None) => object_field_selector(
                fr.api_version.as_deref().unwrap_or(""),
                &fr.field_path,
                &DOWNWARD_VOLUME_FIELDS,
                &ip.child("fieldRef"),
                out,
            ),
            (None, Some(rr)) => {
                resource_field_selector(rr, &ip.child("resourceFieldRef"), true, out)
            }
            (Some(_), Some(_)) => out.err(FieldError::invalid(
                &ip,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            )),
            (None, None) => out.err(FieldError::required(
                &ip,
                "one of fieldRef and resourceFieldRef is required",
            )),
        }
    }
}

/// validateObjectFieldSelector
fn object_field_selector(
    api_version: &str,
    field_path: &str,
    allowed: &[&str],
    path: &FieldPath,
    out: &mut Findings,
) {
    if api_version.is_empty() {
        out.err(FieldError::required(path.child("apiVersion"), ""));
        return;
    }
    if field_path.is_empty() {
        out.err(FieldError::required(path.child("fieldPath"), ""));
        return;
    }
    if api_version != "v1" {
        out.err(FieldError::invalid(
            path.child("fieldPath"),
            field_path,
            format!("error converting fieldPath: unsupported pod version: {api_version}"),
        ));
        return;
    }
    if let Some((base, subscript)) = split_subscript(field_path) {
        match base {
            "metadata.annotations" => out.invalid_msgs(
                path,
                &subscript.to_lowercase(),
                names::qualified_name(&subscript.to_lowercase()),
            ),
            "metadata.labels" => {
                out.invalid_msgs(path, subscript, names::qualified_name(subscript))
            }
            _ => out.err(FieldError::invalid(
                path,
                base,
                "does not support subscript",
            )),
        }
    } else if !allowed.contains(&field_path) {
        out.err(FieldError::not_supported(
            path.child("fieldPath"),
            field_path,
            allowed,
        ));
    }
}

/// fieldpath.SplitMaybeSubscriptedPath: `metadata.labels['app']`.
pub(crate) fn split_subscript(p: &str) -> Option<(&str, &str)> {
    let rest = p.strip_suffix("']")?;
    let open = rest.find("['")?;
    Some((&rest[..open], &rest[open + 2..]))
}

const RESOURCE_FIELDS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// validateContainerResourceFieldSelector + validateContainerResourceDivisor
fn resource_field_selector(
    rr: &k8s_openapi::api::core::v1::ResourceFieldSelector,
    path: &FieldPath,
    volume: bool,
    out: &mut Findings,
) {
    if volume && rr.container_name.as_deref().unwrap_or("").is_empty() {
        out.err(FieldError::required(path.child("containerName"), ""));
    } else if rr.resource.is_empty() {
        out.err(FieldError::required(path.child("resource"), ""));
    } else if !RESOURCE_FIELDS.contains(&rr.resource.as_str())
        && !rr.resource.starts_with("requests.hugepages-")
        && !rr.resource.starts_with("limits.hugepages-")
    {
        out.err(FieldError::not_supported(
            path.child("resource"),
            &rr.resource,
            &RESOURCE_FIELDS,
        ));
    }
    if let Some(d) = &rr.divisor {
        let Ok(q) = Quantity::parse(&d.0) else {
            out.err(FieldError::invalid(
                path.child("divisor"),
                &d.0,
                crate::quantity::QUANTITY_FORMAT_ERROR,
            ));
            return;
        };
        if q.is_zero() {
            return;
        }
        let r = rr.resource.as_str();
        if r.ends_with(".cpu") {
            if !matches!(q.milli_value(), 1 | 1000) {
                out.err(FieldError::invalid(
                    path.child("divisor"),
                    r,
                    "only divisor's values 1m and 1 are supported with the cpu resource",
                ));
            }
        } else {
            const OK: [&str; 13] = [
                "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
            ];
            if !OK.contains(&d.0.as_str()) {
                let what = if r.ends_with(".memory") {
                    "memory"
                } else if r.contains("hugepages-") {
                    "hugepages"
                } else {
                    "local ephemeral storage"
                };
                out.err(FieldError::invalid(
                    path.child("divisor"),
                    r,
                    format!("only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the {what} resource"),
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Containers

fn containers(
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

fn init_containers(
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

fn probes(c: &Container, grace: Option<i64>, path: &FieldPath, out: &mut Findings) {
    // validateLivenessProbe / validateReadinessProbe / validateStartupProbe
    if let Some(p) = &c.liveness_probe {
        probe(p, grace, &path.child("livenessProbe"), out);
        if p.success_threshold.unwrap_or(0) != 1 {
            out.err(FieldError::invalid(
                path.child("livenessProbe").child("successThreshold"),
                p.success_threshold.unwrap_or(0),
                "must be 1",
            ));
        }
    }
    if let Some(p) = &c.readiness_probe {
        probe(p, grace, &path.child("readinessProbe"), out);
        if let Some(t) = p.termination_grace_period_seconds {
            out.err(FieldError::invalid(
                path.child("readinessProbe")
                    .child("terminationGracePeriodSeconds"),
                t,
                "must not be set for readinessProbes",
            ));
        }
    }
    if let Some(p) = &c.startup_probe {
        probe(p, grace, &path.child("startupProbe"), out);
        if p.success_threshold.unwrap_or(0) != 1 {
            out.err(FieldError::invalid(
                path.child("startupProbe").child("successThreshold"),
                p.success_threshold.unwrap_or(0),
                "must be 1",
            ));
        }
    }
}

/// validateProbe
fn probe(p: &Probe, grace: Option<i64>, path: &FieldPath, out: &mut Findings) {
    handler(
        Handler {
            exec: p.exec.as_ref().map(|e| e.command.as_deref().unwrap_or(&[])),
            http_get: p.http_get.as_ref(),
            tcp_socket: p.tcp_socket.as_ref().map(|t| &t.port),
            grpc: p.grpc.as_ref().map(|g| g.port),
            sleep: None,
        },
        grace,
        path,
        out,
    );
    for (name, v) in [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("periodSeconds", p.period_seconds),
        ("successThreshold", p.success_threshold),
        ("failureThreshold", p.failure_threshold),
    ] {
        if let Some(v) = v {
            if v < 0 {
                out.err(FieldError::invalid(path.child(name), v, NONNEGATIVE));
            }
        }
    }
    if let Some(t) = p.termination_grace_period_seconds {
        if t <= 0 {
            out.err(FieldError::invalid(
                path.child("terminationGracePeriodSeconds"),
                t,
                "must be greater than 0",
            ));
        }
    }
}

/// SetDefaults_PodSpec's terminationGracePeriodSeconds.
const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;

/// validation.go commonHandler.
struct Handler<'a> {
    exec: Option<&'a [String]>,
    http_get: Option<&'a k8s_openapi::api::core::v1::HTTPGetAction>,
    tcp_socket: Option<&'a IntOrString>,
    grpc: Option<i32>,
    sleep: Option<i64>,
}

/// validateHandler: exactly one action.
fn handler(h: Handler<'_>, grace: Option<i64>, path: &FieldPath, out: &mut Findings) {
    let mut n = 0;
    let mut one = |name: &str, out: &mut Findings| -> bool {
        if n > 0 {
            out.err(FieldError::forbidden(
                path.child(name),
                "may not specify more than 1 handler type",
            ));
            false
        } else {
            n += 1;
            true
        }
    };
    if let Some(cmd) = h.exec {
        if one("exec", out) && cmd.is_empty() {
            out.err(FieldError::required(
                path.child("exec").child("command"),
                "",
            ));
        }
    }
    if let Some(g) = h.http_get {
        if one("httpGet", out) {
            let gp = path.child("httpGet");
            if g.path.as_deref().unwrap_or("").is_empty() {
                out.err(FieldError::required(gp.child("path"), ""));
            }
            port_num_or_name(&g.port, &gp.child("port"), out);
            let scheme = g.scheme.as_deref().unwrap_or("");
            if scheme != "HTTP" && scheme != "HTTPS" {
                out.err(FieldError::not_supported(
                    gp.child("scheme"),
                    scheme,
                    &["HTTP", "HTTPS"],
                ));
            }
            for hdr in g.http_headers.iter().flatten() {
                let valid = !hdr.name.is_empty()
                    && hdr
                        .name
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c));
                if !valid {
                    out.err(FieldError::invalid(
                        gp.child("httpHeaders"),
                        &hdr.name,
                        "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')",
                    ));
                }
            }
        }
    }
    if let Some(port) = h.tcp_socket {
        if one("tcpSocket", out) {
            port_num_or_name(port, &path.child("tcpSocket").child("port"), out);
        }
    }
    if let Some(port) = h.grpc {
        if one("grpc", out) {
            port_num_or_name(
                &IntOrString::Int(port),
                &path.child("grpc").child("port"),
                out,
            );
        }
    }
    if let Some(secs) = h.sleep {
        if one("sleep", out) {
            // validateSleepAction (AllowPodLifecycleSleepActionZeroValue, GA in 1.34). The
            // API server validates after defaulting: an unset terminationGracePeriodSeconds
            // is 30 by then (SetDefaults_PodSpec), which bounds the sleep too.
            let g = grace.unwrap_or(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
            if secs < 0 || secs > g {
                out.err(FieldError::invalid(
                    path.child("sleep"),
                    secs,
                    format!(
                        "must be non-negative and less than terminationGracePeriodSeconds ({g})"
                    ),
                ));
            }
        }
    }
    if n == 0 {
        out.err(FieldError::required(path, "must specify a handler type"));
    }
}

/// ValidatePortNumOrName
fn port_num_or_name(port: &IntOrString, path: &FieldPath, out: &mut Findings) {
    match port {
        IntOrString::Int(p) => {
            if !(1..=65535).contains(p) {
                out.err(FieldError::invalid(
                    path,
                    *p,
                    "must be between 1 and 65535, inclusive",
                ));
            }
        }
        IntOrString::String(s) => out.invalid_msgs(path, s, names::port_name(s)),
    }
}

/// validateLifecycle
fn lifecycle(l: &Lifecycle, grace: Option<i64>, path: &FieldPath, out: &mut Findings) {
    for (name, h) in [("postStart", &l.post_start), ("preStop", &l.pre_stop)] {
        if let Some(h) = h {
            lifecycle_handler(h, grace, &path.child(name), out);
        }
    }
    if let Some(sig) = l.stop_signal.as_deref() {
        if !crate::plan::is_known_signal(sig) {
            out.err(FieldError::not_supported(
                path.child("stopSignal"),
                sig,
                &[],
            ));
        }
    }
}

fn lifecycle_handler(
    h: &LifecycleHandler,
    grace: Option<i64>,
    path: &FieldPath,
    out: &mut Findings,
) {
    handler(
        Handler {
            exec: h.exec.as_ref().map(|e| e.command.as_deref().unwrap_or(&[])),
            http_get: h.http_get.as_ref(),
            tcp_socket: h.tcp_socket.as_ref().map(|t| &t.port),
            grpc: None,
            sleep: h.sleep.as_ref().map(|s| s.seconds),
        },
        grace,
        path,
        out,
    );
}

const STANDARD_CONTAINER_RESOURCES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

/// ValidateContainerResourceRequirements / ValidateResourceRequirements
pub fn resource_requirements(r: &ResourceRequirements, path: &FieldPath, out: &mut Findings) {
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let mut limits: HashMap<&str, Quantity> = HashMap::new();
    let mut bad_limits: HashMap<&str, &str> = HashMap::new();
    for (name, q) in r.limits.iter().flatten() {
        let p = lim_path.key(name);
        let before = out.errors.len();
        resource_name(name, &p, out);
        if let Some(q) = quantity(name, &q.0, &p, out) {
            limits.insert(name.as_str(), q);
        }
        if out.errors.len() != before {
            bad_limits.insert(name.as_str(), q.0.as_str());
        }
    }
    for (name, q) in r.requests.iter().flatten() {
        // A request defaulted from a bad limit (SetDefaults_Pod) is the same mistake.
        if bad_limits.get(name.as_str()) == Some(&q.0.as_str()) {
            continue;
        }
        let p = req_path.key(name);
        resource_name(name, &p, out);
        let Some(req) = quantity(name, &q.0, &p, out) else {
            continue;
        };
        if let Some(lim) = limits.get(name.as_str()) {
            if req.cmp_milli(lim) == std::cmp::Ordering::Greater {
                let lim_str = r
                    .limits
                    .as_ref()
                    .and_then(|l| l.get(name))
                    .map(|q| q.0.clone())
                    .unwrap_or_default();
                out.err(FieldError::invalid(
                    &p,
                    q.0.as_str(),
                    format!("must be less than or equal to {name} limit of {lim_str}"),
                ));
            }
        } else if !is_overcommit_allowed(name) {
            // Extended resources and hugepages need an equal limit.
            out.err(FieldError::required(
                lim_path.key(name),
                "Limit must be set for non overcommitable resources",
            ));
        }
    }
    for (i, c) in r.claims.iter().flatten().enumerate() {
        out.unsupported(
            &path.child("claims").index(i),
            "no dynamic resource allocation",
        );
        let _ = c;
    }
}

fn is_overcommit_allowed(name: &str) -> bool {
    // helper.IsOvercommitAllowed: native resources except hugepages.
    (!name.contains('/') || name.starts_with("kubernetes.io/")) && !name.starts_with("hugepages-")
}

/// validateContainerResourceName
fn resource_name(name: &str, path: &FieldPath, out: &mut Findings) {
    let msgs = names::qualified_name(name);
    if !msgs.is_empty() {
        out.invalid_msgs(path, name, msgs);
        return;
    }
    let native = !name.contains('/') || name.starts_with("kubernetes.io/");
    if native && !STANDARD_CONTAINER_RESOURCES.contains(&name) && !name.starts_with("hugepages-") {
        out.err(FieldError::invalid(
            path,
            name,
            "must be a standard resource for containers",
        ));
    }
}

/// ValidateResourceQuantityValue (plus the decode-time ParseQuantity check).
fn quantity(name: &str, text: &str, path: &FieldPath, out: &mut Findings) -> Option<Quantity> {
    match Quantity::parse(text) {
        Err(m) => {
            out.err(FieldError::invalid(path, text, m));
            None
        }
        Ok(q) => {
            if q.is_negative() {
                out.err(FieldError::invalid(path, text, NONNEGATIVE));
            }
            let integer_only = name.contains('/') && !name.starts_with("kubernetes.io/");
            if integer_only && q.milli_value() % 1000 != 0 {
                out.err(FieldError::invalid(path, text, "must be an integer"));
            }
            Some(q)
        }
    }
}

/// ValidateSecurityContext
fn security_context(sc: &SecurityContext, path: &FieldPath, out: &mut Findings) {
    id_range(sc.run_as_user, &path.child("runAsUser"), out);
    id_range(sc.run_as_group, &path.child("runAsGroup"), out);
    if let Some(pm) = sc.proc_mount.as_deref() {
        match pm {
            "Default" => {}
            "Unmasked" => {}
            other => out.err(FieldError::not_supported(
                path.child("procMount"),
                other,
                &["Default", "Unmasked"],
            )),
        }
    }
    if sc.allow_privilege_escalation == Some(false) && sc.privileged == Some(true) {
        out.err(FieldError::invalid(
            path,
            crate::error::BadValue::Plain("{...}".to_string()),
            "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
        ));
    }
    if let Some(caps) = &sc.capabilities {
        if sc.allow_privilege_escalation == Some(false)
            && caps
                .add
                .iter()
                .flatten()
                .any(|c| c == "CAP_SYS_ADMIN" || c == "SYS_ADMIN")
        {
            out.err(FieldError::invalid(
                path,
                crate::error::BadValue::Plain("{...}".to_string()),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    if let Some(sp) = &sc.seccomp_profile {
        seccomp_profile(sp, &path.child("seccompProfile"), out);
    }
    if sc.windows_options.is_some() {
        out.ignored(&path.child("windowsOptions"), "Linux only");
    }
}

// ---------------------------------------------------------------------------------------
// Workloads (pkg/apis/apps/validation, pkg/apis/batch/validation)

/// Whether a label selector matches labels (metav1.LabelSelectorAsSelector semantics).
pub fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let ml = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let me = sel.match_expressions.iter().flatten().all(|r| {
        let values = r.values.as_deref().unwrap_or(&[]);
        match r.operator.as_str() {
            "In" => labels.get(&r.key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&r.key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&r.key),
            "DoesNotExist" => !labels.contains_key(&r.key),
            _ => false,
        }
    });
    ml && me
}

fn label_selector(sel: &LabelSelector, path: &FieldPath, out: &mut Findings) {
    labels(sel.match_labels.as_ref(), &path.child("matchLabels"), out);
    for (i, r) in sel.match_expressions.iter().flatten().enumerate() {
        let rp = path.child("matchExpressions").index(i);
        let values = r.values.as_deref().unwrap_or(&[]);
        match r.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    out.err(FieldError::required(
                        rp.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    out.err(FieldError::forbidden(
                        rp.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => out.err(FieldError::not_supported(
                rp.child("operator"),
                other,
                &["In", "NotIn", "Exists", "DoesNotExist"],
            )),
        }
        out.invalid_msgs(&rp.child("key"), &r.key, names::qualified_name(&r.key));
    }
}

/// The parts of an apps/v1 workload spec shared by Deployment, ReplicaSet, StatefulSet and
/// DaemonSet: selector, replicas, and a template matching the selector.
pub fn apps_workload(
    kind: &'static str,
    selector: &LabelSelector,
    replicas: Option<i32>,
    template: &k8s_openapi::api::core::v1::PodTemplateSpec,
    out: &mut Findings,
) {
    let spec = FieldPath::new("spec");
    if let Some(r) = replicas {
        if r < 0 {
            out.err(FieldError::invalid(spec.child("replicas"), r, NONNEGATIVE));
        }
    }
    let sel_path = spec.child("selector");
    if selector.match_labels.is_none() && selector.match_expressions.is_none() {
        out.err(FieldError::required(&sel_path, ""));
    } else if selector
        .match_labels
        .as_ref()
        .is_none_or(BTreeMap::is_empty)
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(Vec::is_empty)
    {
        out.err(FieldError::invalid(
            &sel_path,
            crate::error::BadValue::Plain("{}".to_string()),
            format!("empty selector is invalid for {}", kind.to_lowercase()),
        ));
    } else {
        label_selector(selector, &sel_path, out);
        let tlabels = template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        if !selector_matches(selector, &tlabels) {
            out.err(FieldError::invalid(
                spec.child("template").child("metadata").child("labels"),
                crate::error::BadValue::Plain(format!("{tlabels:?}")),
                "`selector` does not match template `labels`",
            ));
        }
    }
    pod_template(
        template,
        &spec.child("template"),
        SpecContext::AppsTemplate(kind),
        out,
    );
}

/// ValidatePodTemplateSpec
pub fn pod_template(
    t: &k8s_openapi::api::core::v1::PodTemplateSpec,
    path: &FieldPath,
    ctx: SpecContext,
    out: &mut Findings,
) {
    if let Some(m) = &t.metadata {
        labels(
            m.labels.as_ref(),
            &path.child("metadata").child("labels"),
            out,
        );
        annotations(
            m.annotations.as_ref(),
            &path.child("metadata").child("annotations"),
            out,
        );
    }
    match &t.spec {
        Some(spec) => pod_spec(spec, t.metadata.as_ref(), &path.child("spec"), ctx, out),
        None => out.err(FieldError::required(path.child("spec"), "")),
    }
}

// ---------------------------------------------------------------------------------------
// ConfigMaps and Secrets

const MAX_SECRET_SIZE: usize = 1024 * 1024;

/// ValidateConfigMap
pub fn config_map(c: &ConfigMap, out: &mut Findings) {
    object_meta(&c.metadata, &FieldPath::new("metadata"), out);
    let mut total = 0usize;
    let mut keys = BTreeSet::new();
    for (k, v) in c.data.iter().flatten() {
        out.invalid_msgs(&FieldPath::new("data").key(k), k, names::config_map_key(k));
        keys.insert(k.clone());
        total += v.len();
    }
    for (k, v) in c.binary_data.iter().flatten() {
        let p = FieldPath::new("binaryData").key(k);
        out.invalid_msgs(&p, k, names::config_map_key(k));
        if keys.contains(k) {
            out.err(FieldError::invalid(
                FieldPath::new("data").key(k),
                k,
                "duplicate of key present in binaryData",
            ));
        }
        total += v.0.len();
    }
    if total > MAX_SECRET_SIZE {
        out.err(FieldError::too_long(FieldPath::new(""), MAX_SECRET_SIZE));
    }
}

/// ValidateSecret
pub fn secret(s: &Secret, out: &mut Findings) {
    object_meta(&s.metadata, &FieldPath::new("metadata"), out);
    let data_path = FieldPath::new("data");
    let mut total = 0usize;
    let data = s.data.clone().unwrap_or_default();
    for (k, v) in &data {
        out.invalid_msgs(&data_path.key(k), k, names::config_map_key(k));
        total += v.0.len();
    }
    if total > MAX_SECRET_SIZE {
        out.err(FieldError::too_long(&data_path, MAX_SECRET_SIZE));
    }
    let require = |key: &str, out: &mut Findings| {
        if !data.contains_key(key) {
            out.err(FieldError::required(data_path.key(key), ""));
        }
    };
    match s.type_.as_deref().unwrap_or("Opaque") {
        "kubernetes.io/tls" => {
            require("tls.crt", out);
            require("tls.key", out);
        }
        "kubernetes.io/dockerconfigjson" => require(".dockerconfigjson", out),
        "kubernetes.io/dockercfg" => require(".dockercfg", out),
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            out.err(FieldError::required(
                &data_path,
                "either username or password is required for basic-auth secret",
            ));
        }
        "kubernetes.io/ssh-auth" => require("ssh-privatekey", out),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
