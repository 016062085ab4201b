//! The pipeline: read → parse → default → validate → expand workloads → plan pods.
//!
//! `input` reads the files; this module runs the steps and keeps what was accepted
//! ([`Manifest`]) or every error found ([`Rejected`]); `workload` turns workloads into the
//! pods their controllers would make.

mod input;
mod workload;

pub use input::{read_inputs, Input};
pub use workload::{WorkloadKind, WorkloadPlan};

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::error::{ManifestError, ObjectRef, Warning, WarningKind};
use crate::node::NodeInfo;
use crate::parse::Object;
use crate::path::FieldPath;
use crate::plan::{ControllerRef, PodPlan};
use crate::resolve::Resolver;
use crate::validate::{self, Findings};
use crate::{defaults, naming};
use workload::{add_claim_volumes, make_pod, workload};

/// Choices the caller makes for a load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Seeds generated names and uids. Use a fresh random value per `run`; a fixed value
    /// gives reproducible output.
    pub seed: u64,
    pub node: NodeInfo,
}

/// An accepted input.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Every pod to run: bare pods and workload pods, in input order.
    pub pods: Vec<PodPlan>,
    pub workloads: Vec<WorkloadPlan>,
    /// Defaulted ConfigMaps and Secrets of the input.
    pub config_maps: Vec<ConfigMap>,
    pub secrets: Vec<Secret>,
    pub warnings: Vec<Warning>,
    options: LoadOptions,
}

/// A refused input: every error, and the warnings found on the way.
#[derive(Debug)]
pub struct Rejected {
    pub errors: Vec<ManifestError>,
    pub warnings: Vec<Warning>,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

/// Reads, parses, defaults, validates and plans the given files.
pub fn load_files(paths: &[PathBuf], options: &LoadOptions) -> Result<Manifest, Rejected> {
    let inputs = read_inputs(paths).map_err(|e| Rejected {
        errors: vec![e],
        warnings: Vec::new(),
    })?;
    load(&inputs, options)
}

/// Parses, defaults, validates and plans the given inputs. All errors of all inputs are
/// reported together.
pub fn load(inputs: &[Input], options: &LoadOptions) -> Result<Manifest, Rejected> {
    let mut errors: Vec<ManifestError> = Vec::new();
    let mut warnings: Vec<Warning> = Vec::new();

    // 1. Parse.
    let mut objects: Vec<(String, Object)> = Vec::new();
    for input in inputs {
        match crate::parse::parse_str(&input.name, &input.text) {
            Ok(p) => {
                warnings.extend(p.warnings);
                objects.extend(p.objects.into_iter().map(|o| (input.name.clone(), o)));
            }
            Err(e) => errors.extend(e),
        }
    }

    // 2. Default, 3. validate. Invalid objects are dropped after their errors are recorded.
    let mut accepted: Vec<(String, Object)> = Vec::new();
    for (file, mut obj) in objects {
        pull_policy_deviation(&file, &obj, &mut warnings);
        default_object(&mut obj);
        let oref = obj.object_ref();
        let mut f = Findings::default();
        validate_object(&obj, &mut f);
        for (kind, field, message) in f.warnings {
            warnings.push(Warning {
                kind,
                file: file.clone(),
                object: Some(oref.clone()),
                field: Some(field).filter(|f| !f.is_empty()),
                message,
            });
        }
        if f.errors.is_empty() {
            accepted.push((file, obj));
        } else {
            errors.extend(f.errors.into_iter().map(|error| ManifestError::Invalid {
                file: file.clone(),
                object: oref.clone(),
                error: Box::new(error),
            }));
        }
    }

    // Same kind, namespace and name twice.
    let mut seen: BTreeMap<(String, String, String), String> = BTreeMap::new();
    accepted.retain(|(file, obj)| {
        let r = obj.object_ref();
        if r.name.is_empty() || obj.metadata().name.is_none() {
            return true; // generateName
        }
        let key = (r.kind.clone(), r.namespace.clone(), r.name.clone());
        if let Some(first) = seen.get(&key) {
            errors.push(ManifestError::Object {
                file: file.clone(),
                object: r,
                message: format!("already defined in {first}"),
            });
            false
        } else {
            seen.insert(key, file.clone());
            true
        }
    });

    let config_maps: Vec<ConfigMap> = accepted
        .iter()
        .filter_map(|(_, o)| match o {
            Object::ConfigMap(c) => Some((**c).clone()),
            _ => None,
        })
        .collect();
    let secrets: Vec<Secret> = accepted
        .iter()
        .filter_map(|(_, o)| match o {
            Object::Secret(s) => Some((**s).clone()),
            _ => None,
        })
        .collect();
    let resolver = Resolver {
        config_maps: config_maps.iter().collect(),
        secrets: secrets.iter().collect(),
    };

    // 4. Pods and workloads → plans.
    let mut pods: Vec<PodPlan> = Vec::new();
    let mut workloads: Vec<WorkloadPlan> = Vec::new();
    for (file, obj) in accepted {
        let oref = obj.object_ref();
        let made: Vec<(Pod, Option<ControllerRef>)> = match obj {
            Object::ConfigMap(_) | Object::Secret(_) => continue,
            Object::Pod(p) => {
                let mut p = *p;
                // What the API server owns (an exported pod carries them): status and the
                // server-set metadata are dropped; the store sets its own.
                p.status = None;
                let m = &mut p.metadata;
                m.resource_version = None;
                m.creation_timestamp = None;
                m.deletion_timestamp = None;
                m.deletion_grace_period_seconds = None;
                m.managed_fields = None;
                m.generation = None;
                m.self_link = None;
                finish_pod_meta(&mut p.metadata, options.seed, "Pod");
                vec![(p, None)]
            }
            other => {
                let w = workload(&file, other, options);
                let pods = w
                    .initial
                    .iter()
                    .map(|&i| make_pod(&w.plan, i, options.seed))
                    .collect();
                workloads.push(w.plan);
                pods
            }
        };
        for (mut pod, controller) in made {
            pod.spec.get_or_insert_with(Default::default).node_name =
                Some(options.node.name.clone());
            let pref = ObjectRef::new(
                "Pod",
                pod.metadata.name.as_deref().unwrap_or(""),
                pod.metadata.namespace.as_deref().unwrap_or(""),
            );
            let obj_for_errors = if controller.is_some() {
                oref.clone()
            } else {
                pref
            };
            match crate::plan::build(
                pod,
                &file,
                controller,
                &resolver,
                &options.node,
                &mut warnings,
            ) {
                Ok(plan) => {
                    if let Some(w) = workloads.last_mut() {
                        if plan
                            .controller
                            .as_ref()
                            .is_some_and(|c| c.name == w.object.name)
                        {
                            w.pods.push(plan.name.clone());
                        }
                    }
                    pods.push(plan);
                }
                Err(errs) => errors.extend(errs.into_iter().map(|error| {
                    // Workload pods: the error is in the template.
                    let error = if obj_for_errors.kind != "Pod" {
                        crate::error::FieldError {
                            field: error.field.replacen("spec", "spec.template.spec", 1),
                            ..error
                        }
                    } else {
                        error
                    };
                    ManifestError::Invalid {
                        file: file.clone(),
                        object: obj_for_errors.clone(),
                        error: Box::new(error),
                    }
                })),
            }
        }
    }
    // Dedupe errors reported once per pod of the same template.
    let mut uniq: Vec<ManifestError> = Vec::new();
    for e in errors {
        if !uniq.iter().any(|u| u.to_string() == e.to_string()) {
            uniq.push(e);
        }
    }
    let errors = uniq;

    // Generated names may collide with bare pods.
    let mut names: BTreeMap<(String, String), ()> = BTreeMap::new();
    let mut errors = errors;
    for p in &pods {
        if names
            .insert((p.namespace.clone(), p.name.clone()), ())
            .is_some()
        {
            errors.push(ManifestError::Object {
                file: p.file.clone(),
                object: ObjectRef::new("Pod", &p.name, &p.namespace),
                message: "two objects of the input make a pod of this name".to_string(),
            });
        }
    }

    if errors.is_empty() {
        Ok(Manifest {
            pods,
            workloads,
            config_maps,
            secrets,
            warnings,
            options: options.clone(),
        })
    } else {
        Err(Rejected { errors, warnings })
    }
}

/// kubelet/API server: the namespace defaults to `default`; uid assigned on create.
fn finish_pod_meta(meta: &mut ObjectMeta, seed: u64, kind: &str) {
    if meta.namespace.as_deref().is_none_or(str::is_empty) {
        meta.namespace = Some("default".to_string());
    }
    let ns = meta.namespace.clone().unwrap_or_default();
    if meta.name.as_deref().is_none_or(str::is_empty) {
        // names.SimpleNameGenerator for generateName.
        let prefix = meta.generate_name.clone().unwrap_or_default();
        meta.name = Some(format!(
            "{prefix}{}",
            naming::suffix(seed, &[kind, &ns, &prefix])
        ));
    }
    let name = meta.name.clone().unwrap_or_default();
    meta.uid = Some(naming::uid(seed, &[kind, &ns, &name]));
}

/// Deviation warning: an unset imagePullPolicy of a `:latest` image (docs/manifests.md).
fn pull_policy_deviation(file: &str, obj: &Object, warnings: &mut Vec<Warning>) {
    let (spec, base) = match obj {
        Object::Pod(p) => (p.spec.as_ref(), FieldPath::new("spec")),
        Object::Deployment(d) => (
            d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
            FieldPath::new("spec.template.spec"),
        ),
        Object::ReplicaSet(r) => (
            r.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref()),
            FieldPath::new("spec.template.spec"),
        ),
        Object::StatefulSet(s) => (
            s.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
            FieldPath::new("spec.template.spec"),
        ),
        Object::DaemonSet(d) => (
            d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
            FieldPath::new("spec.template.spec"),
        ),
        Object::Job(j) => (
            j.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
            FieldPath::new("spec.template.spec"),
        ),
        _ => (None, FieldPath::default()),
    };
    let Some(spec) = spec else { return };
    let lists = [
        (
            "initContainers",
            spec.init_containers.as_deref().unwrap_or(&[]),
        ),
        ("containers", spec.containers.as_slice()),
    ];
    for (kind, list) in lists {
        for (i, c) in list.iter().enumerate() {
            if c.image_pull_policy
                .as_deref()
                .is_some_and(|p| !p.is_empty())
            {
                continue;
            }
            let image = c.image.as_deref().unwrap_or("");
            if image_is_latest(image) {
                warnings.push(Warning {
                    kind: WarningKind::Deviation,
                    file: file.to_string(),
                    object: Some(obj.object_ref()),
                    field: Some(base.child(kind).index(i).child("imagePullPolicy").to_string()),
                    message: format!(
                        "defaulted to IfNotPresent for {image:?} (a cluster would use Always for :latest); set imagePullPolicy: Always to pull every time"
                    ),
                });
            }
        }
    }
}

/// parsers.ParseImageName's tag: `latest` when no tag and no digest is given.
pub(crate) fn image_is_latest(image: &str) -> bool {
    if image.is_empty() || image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

fn default_object(obj: &mut Object) {
    match obj {
        Object::Pod(p) => defaults::pod(p),
        Object::Deployment(d) => defaults::deployment(d),
        Object::ReplicaSet(r) => defaults::replica_set(r),
        Object::StatefulSet(s) => defaults::stateful_set(s),
        Object::DaemonSet(d) => defaults::daemon_set(d),
        Object::Job(j) => defaults::job(j),
        Object::ConfigMap(c) => defaults::config_map(c),
        Object::Secret(s) => defaults::secret(s),
    }
    let m = obj.metadata_mut();
    if m.namespace.as_deref().is_none_or(str::is_empty) {
        m.namespace = Some("default".to_string());
    }
}

fn validate_object(obj: &Object, f: &mut Findings) {
    let meta = FieldPath::new("metadata");
    match obj {
        Object::Pod(p) => validate::pod(p, f),
        Object::ConfigMap(c) => validate::config_map(c, f),
        Object::Secret(s) => validate::secret(s, f),
        Object::Deployment(d) => {
            validate::object_meta(&d.metadata, &meta, f);
            let spec = d.spec.clone().unwrap_or_default();
            validate::apps_workload(
                "Deployment",
                &spec.selector,
                spec.replicas,
                &spec.template,
                f,
            );
        }
        Object::ReplicaSet(r) => {
            validate::object_meta(&r.metadata, &meta, f);
            let spec = r.spec.clone().unwrap_or_default();
            let t = spec.template.unwrap_or_default();
            validate::apps_workload("ReplicaSet", &spec.selector, spec.replicas, &t, f);
        }
        Object::StatefulSet(s) => {
            validate::object_meta(&s.metadata, &meta, f);
            let spec = s.spec.clone().unwrap_or_default();
            let mut t = spec.template.clone();
            // The controller adds a volume per claim template; minipod does the same with
            // directories (see `workload`), so mounts of claim names are valid.
            add_claim_volumes(&mut t, &spec);
            validate::stateful_set(&spec, &t, f);
        }
        Object::DaemonSet(d) => {
            validate::object_meta(&d.metadata, &meta, f);
            let spec = d.spec.clone().unwrap_or_default();
            validate::apps_workload("DaemonSet", &spec.selector, None, &spec.template, f);
        }
        Object::Job(j) => {
            validate::object_meta(&j.metadata, &meta, f);
            validate::job(j, f);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
