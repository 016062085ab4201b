//! Workload expansion: a Deployment, ReplicaSet, StatefulSet, DaemonSet or Job becomes the
//! pods its controller would make, with the controller's names, labels and owner
//! references (pkg/controller/{deployment,replicaset,statefulset,daemon,job}).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::{LoadOptions, Manifest, Rejected};
use crate::error::{ManifestError, ObjectRef};
use crate::parse::Object;
use crate::plan::{ControllerRef, PodPlan};
use crate::resolve::Resolver;
use crate::{defaults, naming};

/// What a workload asks of the pods made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadKind {
    /// Pods belong to ReplicaSet `replica_set` (`<deployment>-<pod_template_hash>`).
    Deployment {
        replicas: i32,
        replica_set: String,
        pod_template_hash: String,
    },
    ReplicaSet {
        replicas: i32,
    },
    /// Pods `<name>-0..replicas-1`; with `OrderedReady` each starts once the previous is
    /// Running and Ready.
    StatefulSet {
        replicas: i32,
        ordered_ready: bool,
        service_name: Option<String>,
    },
    /// One pod (one node).
    DaemonSet,
    /// Run pods until `completions` succeed (None: until one succeeds, work-queue style),
    /// at most `parallelism` at a time, failing the Job after `backoff_limit` pod failures.
    Job {
        completions: Option<i32>,
        parallelism: i32,
        backoff_limit: i32,
        indexed: bool,
        suspend: bool,
        active_deadline_seconds: Option<i64>,
        ttl_seconds_after_finished: Option<i32>,
    },
}

/// A workload of the input and the pods first made from it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadPlan {
    pub object: ObjectRef,
    pub file: String,
    pub uid: String,
    pub kind: WorkloadKind,
    /// The defaulted template with the labels the controller adds.
    pub template: PodTemplateSpec,
    /// Names of the pods made now (in [`Manifest::pods`]). A Job makes
    /// min(parallelism, completions); more come from [`Manifest::new_pod`].
    pub pods: Vec<String>,
}

impl Manifest {
    /// Makes another pod of workload `workload` (an index into [`Manifest::workloads`]), e.g.
    /// a Job's replacement for a failed pod or its next completion. `sequence` must differ
    /// for every pod made of the workload (it picks the name suffix; for Indexed Jobs it is
    /// the completion index, the suffix then comes from `attempt`).
    pub fn new_pod(
        &self,
        workload: usize,
        sequence: u32,
        attempt: u32,
    ) -> Result<PodPlan, Rejected> {
        let Some(w) = self.workloads.get(workload) else {
            return Err(Rejected {
                errors: vec![],
                warnings: vec![],
            });
        };
        let seed = self.options.seed ^ (u64::from(attempt) << 32);
        let (mut pod, mut controller) = make_pod(w, sequence, seed);
        if let Some(c) = controller.as_mut() {
            c.attempt = attempt;
        }
        pod.spec.get_or_insert_with(Default::default).node_name =
            Some(self.options.node.name.clone());
        let resolver = Resolver {
            config_maps: self.config_maps.iter().collect(),
            secrets: self.secrets.iter().collect(),
        };
        let mut warnings = Vec::new();
        crate::plan::build(
            pod,
            &w.file,
            controller,
            &resolver,
            &self.options.node,
            &mut warnings,
        )
        .map_err(|errs| Rejected {
            errors: errs
                .into_iter()
                .map(|error| ManifestError::Invalid {
                    file: w.file.clone(),
                    object: w.object.clone(),
                    error: Box::new(error),
                })
                .collect(),
            warnings,
        })
    }
}

pub(super) fn add_claim_volumes(
    t: &mut PodTemplateSpec,
    spec: &k8s_openapi::api::apps::v1::StatefulSetSpec,
) {
    let Some(claims) = spec.volume_claim_templates.as_ref() else {
        return;
    };
    let ps = t.spec.get_or_insert_with(Default::default);
    let vols = ps.volumes.get_or_insert_with(Vec::new);
    for c in claims {
        let name = c.metadata.name.clone().unwrap_or_default();
        if !vols.iter().any(|v| v.name == name) {
            vols.push(k8s_openapi::api::core::v1::Volume {
                name,
                empty_dir: Some(Default::default()),
                ..Default::default()
            });
        }
    }
}

pub(super) struct Expanded {
    pub(super) plan: WorkloadPlan,
    /// Sequence numbers of the pods to make now.
    pub(super) initial: Vec<u32>,
}

fn template_json(t: &PodTemplateSpec) -> Vec<u8> {
    // Serializing k8s-openapi values cannot fail (no maps with non-string keys).
    serde_json::to_vec(t).unwrap_or_default()
}

/// Expands a workload into its plan: controller labels on the template and which pods to
/// make first (pkg/controller/{deployment,replicaset,statefulset,daemon,job}).
pub(super) fn workload(file: &str, obj: Object, options: &LoadOptions) -> Expanded {
    let oref = obj.object_ref();
    let meta = obj.metadata().clone();
    let ns = meta
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let name = meta.name.clone().unwrap_or_default();
    let uid = naming::uid(options.seed, &[&oref.kind, &ns, &name]);
    let (kind, mut template, initial) = match obj {
        Object::Deployment(d) => {
            let spec = d.spec.unwrap_or_default();
            let mut t = spec.template;
            let hash = naming::template_hash(&template_json(&t));
            add_labels(&mut t, [("pod-template-hash", hash.as_str())]);
            let replicas = spec.replicas.unwrap_or(1).max(0);
            (
                WorkloadKind::Deployment {
                    replicas,
                    replica_set: format!("{name}-{hash}"),
                    pod_template_hash: hash,
                },
                t,
                (0..replicas as u32).collect(),
            )
        }
        Object::ReplicaSet(r) => {
            let spec = r.spec.unwrap_or_default();
            let replicas = spec.replicas.unwrap_or(1).max(0);
            (
                WorkloadKind::ReplicaSet { replicas },
                spec.template.unwrap_or_default(),
                (0..replicas as u32).collect(),
            )
        }
        Object::StatefulSet(s) => {
            let spec = s.spec.unwrap_or_default();
            let mut t = spec.template.clone();
            add_claim_volumes(&mut t, &spec);
            let hash = naming::template_hash(&template_json(&t));
            let rev = format!("{name}-{hash}");
            add_labels(&mut t, [("controller-revision-hash", rev.as_str())]);
            let replicas = spec.replicas.unwrap_or(1).max(0);
            let ordered_ready = spec.pod_management_policy.as_deref() != Some("Parallel");
            // OrderedReady: the controller makes pod N once 0..N-1 are Running and Ready,
            // so only the first exists at the start.
            let first = if ordered_ready {
                replicas.min(1)
            } else {
                replicas
            };
            (
                WorkloadKind::StatefulSet {
                    replicas,
                    ordered_ready,
                    service_name: spec.service_name.clone().filter(|s| !s.is_empty()),
                },
                t,
                (0..first as u32).collect(),
            )
        }
        Object::DaemonSet(d) => {
            let spec = d.spec.unwrap_or_default();
            let mut t = spec.template;
            let hash = naming::template_hash(&template_json(&t));
            add_labels(
                &mut t,
                [
                    ("controller-revision-hash", hash.as_str()),
                    ("pod-template-generation", "1"),
                ],
            );
            (WorkloadKind::DaemonSet, t, vec![0])
        }
        Object::Job(j) => {
            let spec = j.spec.unwrap_or_default();
            let mut t = spec.template;
            // The Job API server adds these labels (pkg/registry/batch/job strategy).
            add_labels(
                &mut t,
                [
                    ("batch.kubernetes.io/controller-uid", uid.as_str()),
                    ("batch.kubernetes.io/job-name", name.as_str()),
                    ("controller-uid", uid.as_str()),
                    ("job-name", name.as_str()),
                ],
            );
            let parallelism = spec.parallelism.unwrap_or(1).max(0);
            let completions = spec.completions;
            let indexed = spec.completion_mode.as_deref() == Some("Indexed");
            let suspend = spec.suspend == Some(true);
            let first = if suspend {
                0
            } else {
                completions
                    .map_or(parallelism, |c| c.min(parallelism))
                    .max(0)
            };
            (
                WorkloadKind::Job {
                    completions,
                    parallelism,
                    backoff_limit: spec.backoff_limit.unwrap_or(6),
                    indexed,
                    suspend,
                    active_deadline_seconds: spec.active_deadline_seconds,
                    ttl_seconds_after_finished: spec.ttl_seconds_after_finished,
                },
                t,
                (0..first as u32).collect(),
            )
        }
        // Pods, ConfigMaps and Secrets never get here.
        _ => (WorkloadKind::DaemonSet, PodTemplateSpec::default(), vec![]),
    };
    let tm = template.metadata.get_or_insert_with(Default::default);
    tm.namespace = Some(ns);
    Expanded {
        plan: WorkloadPlan {
            object: oref,
            file: file.to_string(),
            uid,
            kind,
            template,
            pods: Vec::new(),
        },
        initial,
    }
}

fn add_labels<'a>(t: &mut PodTemplateSpec, labels: impl IntoIterator<Item = (&'a str, &'a str)>) {
    let m = t
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(BTreeMap::new);
    for (k, v) in labels {
        m.insert(k.to_string(), v.to_string());
    }
}

/// names.SimpleNameGenerator: the base of a generated name is cut to 58 bytes so that the
/// name with its 5-character suffix stays within 63.
pub(super) fn generated_name(base: &str, suffix: &str) -> String {
    let mut end = base.len().min(58);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &base[..end])
}

/// Pod number `seq` of a workload, named as its controller names it.
pub(super) fn make_pod(w: &WorkloadPlan, seq: u32, seed: u64) -> (Pod, Option<ControllerRef>) {
    let tmeta = w.template.metadata.clone().unwrap_or_default();
    let ns = tmeta
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let wname = &w.object.name;
    let seq_s = seq.to_string();
    let sfx = naming::suffix(seed, &[&w.object.kind, &ns, wname, &seq_s]);
    let mut spec = w.template.spec.clone().unwrap_or_default();
    let mut labels = tmeta.labels.clone().unwrap_or_default();
    let mut annotations = tmeta.annotations.clone().unwrap_or_default();
    let (name, owner_kind, owner_name, owner_uid) = match &w.kind {
        WorkloadKind::Deployment { replica_set, .. } => (
            generated_name(&format!("{replica_set}-"), &sfx),
            "ReplicaSet",
            replica_set.clone(),
            naming::uid(seed, &["ReplicaSet", &ns, replica_set]),
        ),
        WorkloadKind::ReplicaSet { .. } => (
            generated_name(&format!("{wname}-"), &sfx),
            "ReplicaSet",
            wname.clone(),
            w.uid.clone(),
        ),
        WorkloadKind::StatefulSet { service_name, .. } => {
            let pod_name = format!("{wname}-{seq}");
            // statefulset controller newStatefulSetPod / updateIdentity.
            labels.insert(
                "statefulset.kubernetes.io/pod-name".into(),
                pod_name.clone(),
            );
            labels.insert("apps.kubernetes.io/pod-index".into(), seq_s.clone());
            spec.hostname = Some(pod_name.clone());
            if let Some(s) = service_name {
                spec.subdomain = Some(s.clone());
            }
            (pod_name, "StatefulSet", wname.clone(), w.uid.clone())
        }
        WorkloadKind::DaemonSet => (
            generated_name(&format!("{wname}-"), &sfx),
            "DaemonSet",
            wname.clone(),
            w.uid.clone(),
        ),
        WorkloadKind::Job { indexed, .. } => {
            let name = if *indexed {
                // job controller: `<job>-<index>-<suffix>`, hostname `<job>-<index>`.
                labels.insert(
                    "batch.kubernetes.io/job-completion-index".into(),
                    seq_s.clone(),
                );
                annotations.insert(
                    "batch.kubernetes.io/job-completion-index".into(),
                    seq_s.clone(),
                );
                spec.hostname = Some(format!("{wname}-{seq}"));
                generated_name(&format!("{wname}-{seq}-"), &sfx)
            } else {
                generated_name(&format!("{wname}-"), &sfx)
            };
            (name, "Job", wname.clone(), w.uid.clone())
        }
    };
    let api_version = match owner_kind {
        "Job" => "batch/v1",
        _ => "apps/v1",
    };
    let mut pod = Pod {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            uid: Some(naming::uid(seed, &["Pod", &ns, &name])),
            labels: Some(labels).filter(|l| !l.is_empty()),
            annotations: Some(annotations).filter(|a| !a.is_empty()),
            owner_references: Some(vec![OwnerReference {
                api_version: api_version.to_string(),
                kind: owner_kind.to_string(),
                name: owner_name,
                uid: owner_uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    };
    // The pod's own defaults (requests from limits, host network ports).
    defaults::pod(&mut pod);
    let controller = ControllerRef {
        kind: w.object.kind.clone(),
        name: w.object.name.clone(),
        index: seq,
        attempt: 0,
    };
    (pod, Some(controller))
}

#[cfg(test)]
mod tests;
