//! API-server defaults (pkg/apis/core/v1/defaults.go, apps/batch v1 defaults and the
//! declarative `+default` markers), applied to the k8s-openapi objects so a stored pod reads
//! like one from a cluster. One deliberate deviation: an unset `imagePullPolicy` becomes
//! `IfNotPresent` even for `:latest` (docs/manifests.md).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, ReplicaSet,
    RollingUpdateDaemonSet, RollingUpdateDeployment, RollingUpdateStatefulSetStrategy, StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvVar, HTTPGetAction, Lifecycle, LifecycleHandler, Pod,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, Secret, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;

/// defaults.go: SetDefaults_Secret (0644 as the API stores it, in decimal).
pub const DEFAULT_FILE_MODE: i32 = 0o644;
pub const DEFAULT_TERMINATION_GRACE_PERIOD: i64 = 30;

fn set<T>(field: &mut Option<T>, value: T) {
    if field.is_none() {
        *field = Some(value);
    }
}

fn set_str(field: &mut Option<String>, value: &str) {
    if field.as_deref().is_none_or(str::is_empty) {
        *field = Some(value.to_string());
    }
}

/// SetDefaults_Pod and everything under it.
pub fn pod(pod: &mut Pod) {
    let spec = pod.spec.get_or_insert_with(Default::default);
    pod_spec(spec);
    // SetDefaults_Pod: requests default to limits (on Pods only, not on templates).
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        if let Some(res) = c.resources.as_mut() {
            if let Some(limits) = res.limits.as_ref() {
                let requests = res.requests.get_or_insert_with(BTreeMap::new);
                for (k, v) in limits {
                    requests.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
    set(&mut spec.enable_service_links, true);
    // defaultHostNetworkPorts
    if spec.host_network == Some(true) {
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            for p in c.ports.iter_mut().flatten() {
                if p.host_port.unwrap_or(0) == 0 {
                    p.host_port = Some(p.container_port);
                }
            }
        }
    }
}

/// SetDefaults_PodSpec plus the defaults of the types inside a pod spec. Also applied to
/// workload templates. `serviceAccountName: default` is what the ServiceAccount admission
/// plugin sets on a cluster.
pub fn pod_spec(spec: &mut PodSpec) {
    set_str(&mut spec.dns_policy, "ClusterFirst");
    set_str(&mut spec.restart_policy, "Always");
    set(&mut spec.security_context, PodSecurityContext::default());
    set(
        &mut spec.termination_grace_period_seconds,
        DEFAULT_TERMINATION_GRACE_PERIOD,
    );
    set_str(&mut spec.scheduler_name, "default-scheduler");
    if spec
        .service_account_name
        .as_deref()
        .is_none_or(str::is_empty)
    {
        let sa = spec
            .service_account
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_string());
        spec.service_account_name = Some(sa);
    }
    // The deprecated alias mirrors the name, as the API server keeps them in step.
    set_str(
        &mut spec.service_account,
        &spec.service_account_name.clone().unwrap_or_default(),
    );
    for c in spec.containers.iter_mut() {
        container(c);
    }
    for c in spec.init_containers.iter_mut().flatten() {
        container(c);
    }
    for v in spec.volumes.iter_mut().flatten() {
        volume(v);
    }
}

/// SetDefaults_Container (with minipod's pull policy), ports, probes, handlers, env.
pub fn container(c: &mut Container) {
    // DEVIATION: a cluster picks Always for `:latest`/untagged images; minipod has no
    // registry to re-check, so it uses the local image when present (docs/manifests.md).
    set_str(&mut c.image_pull_policy, "IfNotPresent");
    set_str(&mut c.termination_message_path, "/dev/termination-log");
    set_str(&mut c.termination_message_policy, "File");
    for p in c.ports.iter_mut().flatten() {
        set_str(&mut p.protocol, "TCP");
    }
    for p in [
        c.liveness_probe.as_mut(),
        c.readiness_probe.as_mut(),
        c.startup_probe.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        probe(p);
    }
    if let Some(l) = c.lifecycle.as_mut() {
        lifecycle(l);
    }
    for e in c.env.iter_mut().flatten() {
        env_var(e);
    }
}

fn env_var(e: &mut EnvVar) {
    // SetDefaults_ObjectFieldSelector
    if let Some(f) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
        set_str(&mut f.api_version, "v1");
    }
}

/// SetDefaults_Probe and SetDefaults_HTTPGetAction.
pub fn probe(p: &mut Probe) {
    for (field, value) in [
        (&mut p.timeout_seconds, 1),
        (&mut p.period_seconds, 10),
        (&mut p.success_threshold, 1),
        (&mut p.failure_threshold, 3),
    ] {
        if field.unwrap_or(0) == 0 {
            *field = Some(value);
        }
    }
    if let Some(h) = p.http_get.as_mut() {
        http_get(h);
    }
}

fn lifecycle(l: &mut Lifecycle) {
    for h in [l.post_start.as_mut(), l.pre_stop.as_mut()]
        .into_iter()
        .flatten()
    {
        handler(h);
    }
}

fn handler(h: &mut LifecycleHandler) {
    if let Some(g) = h.http_get.as_mut() {
        http_get(g);
    }
}

fn http_get(h: &mut HTTPGetAction) {
    set_str(&mut h.path, "/");
    set_str(&mut h.scheme, "HTTP");
}

/// SetDefaults_Volume and the volume source defaults.
pub fn volume(v: &mut Volume) {
    let has_source = v.aws_elastic_block_store.is_some()
        || v.azure_disk.is_some()
        || v.azure_file.is_some()
        || v.cephfs.is_some()
        || v.cinder.is_some()
        || v.config_map.is_some()
        || v.csi.is_some()
        || v.downward_api.is_some()
        || v.empty_dir.is_some()
        || v.ephemeral.is_some()
        || v.fc.is_some()
        || v.flex_volume.is_some()
        || v.flocker.is_some()
        || v.gce_persistent_disk.is_some()
        || v.git_repo.is_some()
        || v.glusterfs.is_some()
        || v.host_path.is_some()
        || v.image.is_some()
        || v.iscsi.is_some()
        || v.nfs.is_some()
        || v.persistent_volume_claim.is_some()
        || v.photon_persistent_disk.is_some()
        || v.portworx_volume.is_some()
        || v.projected.is_some()
        || v.quobyte.is_some()
        || v.rbd.is_some()
        || v.scale_io.is_some()
        || v.secret.is_some()
        || v.storageos.is_some()
        || v.vsphere_volume.is_some();
    if !has_source {
        v.empty_dir = Some(Default::default());
    }
    if let Some(s) = v.secret.as_mut() {
        set(&mut s.default_mode, DEFAULT_FILE_MODE);
    }
    if let Some(s) = v.config_map.as_mut() {
        set(&mut s.default_mode, DEFAULT_FILE_MODE);
    }
    if let Some(s) = v.downward_api.as_mut() {
        set(&mut s.default_mode, DEFAULT_FILE_MODE);
        for item in s.items.iter_mut().flatten() {
            if let Some(f) = item.field_ref.as_mut() {
                set_str(&mut f.api_version, "v1");
            }
        }
    }
    if let Some(s) = v.projected.as_mut() {
        set(&mut s.default_mode, DEFAULT_FILE_MODE);
        for src in s.sources.iter_mut().flatten() {
            if let Some(t) = src.service_account_token.as_mut() {
                set(&mut t.expiration_seconds, 3600);
            }
            if let Some(d) = src.downward_api.as_mut() {
                for item in d.items.iter_mut().flatten() {
                    if let Some(f) = item.field_ref.as_mut() {
                        set_str(&mut f.api_version, "v1");
                    }
                }
            }
        }
    }
    if let Some(h) = v.host_path.as_mut() {
        set(&mut h.type_, String::new());
    }
    if let Some(i) = v.image.as_mut() {
        set_str(&mut i.pull_policy, "IfNotPresent");
    }
}

fn template(t: &mut Option<PodTemplateSpec>) -> &mut PodTemplateSpec {
    let t = t.get_or_insert_with(Default::default);
    pod_spec(t.spec.get_or_insert_with(Default::default));
    t
}

fn percent(s: &str) -> IntOrString {
    IntOrString::String(s.to_string())
}

/// apps/v1 SetDefaults_Deployment.
pub fn deployment(d: &mut Deployment) {
    let spec = d.spec.get_or_insert_with(Default::default);
    set(&mut spec.replicas, 1);
    let strategy = spec
        .strategy
        .get_or_insert_with(DeploymentStrategy::default);
    set_str(&mut strategy.type_, "RollingUpdate");
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let ru = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDeployment::default);
        set(&mut ru.max_unavailable, percent("25%"));
        set(&mut ru.max_surge, percent("25%"));
    }
    set(&mut spec.revision_history_limit, 10);
    set(&mut spec.progress_deadline_seconds, 600);
    let mut t = Some(std::mem::take(&mut spec.template));
    template(&mut t);
    spec.template = t.unwrap_or_default();
}

/// apps/v1 SetDefaults_ReplicaSet.
pub fn replica_set(r: &mut ReplicaSet) {
    let spec = r.spec.get_or_insert_with(Default::default);
    set(&mut spec.replicas, 1);
    template(&mut spec.template);
}

/// apps/v1 SetDefaults_StatefulSet.
pub fn stateful_set(s: &mut StatefulSet) {
    let spec = s.spec.get_or_insert_with(Default::default);
    set(&mut spec.replicas, 1);
    set_str(&mut spec.pod_management_policy, "OrderedReady");
    let us = spec
        .update_strategy
        .get_or_insert_with(StatefulSetUpdateStrategy::default);
    set_str(&mut us.type_, "RollingUpdate");
    if us.type_.as_deref() == Some("RollingUpdate") {
        let ru = us
            .rolling_update
            .get_or_insert_with(RollingUpdateStatefulSetStrategy::default);
        set(&mut ru.partition, 0);
    }
    set(&mut spec.revision_history_limit, 10);
    let p = spec
        .persistent_volume_claim_retention_policy
        .get_or_insert_with(StatefulSetPersistentVolumeClaimRetentionPolicy::default);
    set_str(&mut p.when_deleted, "Retain");
    set_str(&mut p.when_scaled, "Retain");
    let mut t = Some(std::mem::take(&mut spec.template));
    template(&mut t);
    spec.template = t.unwrap_or_default();
}

/// apps/v1 SetDefaults_DaemonSet.
pub fn daemon_set(d: &mut DaemonSet) {
    let spec = d.spec.get_or_insert_with(Default::default);
    let us = spec
        .update_strategy
        .get_or_insert_with(DaemonSetUpdateStrategy::default);
    set_str(&mut us.type_, "RollingUpdate");
    if us.type_.as_deref() == Some("RollingUpdate") {
        let ru = us
            .rolling_update
            .get_or_insert_with(RollingUpdateDaemonSet::default);
        set(&mut ru.max_unavailable, IntOrString::Int(1));
        set(&mut ru.max_surge, IntOrString::Int(0));
    }
    set(&mut spec.revision_history_limit, 10);
    let mut t = Some(std::mem::take(&mut spec.template));
    template(&mut t);
    spec.template = t.unwrap_or_default();
}

/// batch/v1 SetDefaults_Job.
pub fn job(j: &mut Job) {
    let spec = j.spec.get_or_insert_with(Default::default);
    // When both are unset the job runs one pod to completion; a set parallelism alone
    // means a work queue (completions stays unset).
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
        spec.parallelism = Some(1);
    }
    set(&mut spec.parallelism, 1);
    if spec.backoff_limit.is_none() {
        spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() {
            i32::MAX
        } else {
            6
        });
    }
    set_str(&mut spec.completion_mode, "NonIndexed");
    set(&mut spec.suspend, false);
    set(&mut spec.manual_selector, false);
    set_str(
        &mut spec.pod_replacement_policy,
        if spec.pod_failure_policy.is_some() {
            "Failed"
        } else {
            "TerminatingOrFailed"
        },
    );
    let mut t = Some(std::mem::take(&mut spec.template));
    template(&mut t);
    spec.template = t.unwrap_or_default();
}

/// SetDefaults_ConfigMap.
pub fn config_map(c: &mut ConfigMap) {
    set(&mut c.data, BTreeMap::new());
}

/// SetDefaults_Secret, and the registry strategy that folds `stringData` into `data`.
pub fn secret(s: &mut Secret) {
    set_str(&mut s.type_, "Opaque");
    if let Some(string_data) = s.string_data.take() {
        let data = s.data.get_or_insert_with(BTreeMap::new);
        for (k, v) in string_data {
            data.insert(k, ByteString(v.into_bytes()));
        }
    }
}

#[cfg(test)]
mod tests;
