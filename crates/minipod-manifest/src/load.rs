//! The pipeline: read → parse → default → validate → expand workloads → plan pods.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{ConfigMap, Pod, PodTemplateSpec, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::error::{ManifestError, ObjectRef, Warning, WarningKind};
use crate::parse::Object;
use crate::path::FieldPath;
use crate::plan::{ControllerRef, NodeInfo, PodPlan};
use crate::resolve::Resolver;
use crate::validate::{self, Findings, SpecContext};
use crate::{defaults, naming};

/// One input document stream: its name in messages and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    pub text: String,
}

impl Input {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Input {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Reads manifest files (`-` is standard input; a directory means its `*.yaml`, `*.yml` and
/// `*.json` files in name order, as `kubectl -f DIR` reads them). The only I/O of this crate.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Input>, ManifestError> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if p == Path::new("-") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|source| {
                ManifestError::Read {
                    path: p.clone(),
                    error: source,
                }
            })?;
            out.push(Input::new("-", s));
        } else if p.is_dir() {
            let read_err = |error| ManifestError::Read {
                path: p.clone(),
                error,
            };
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(read_err)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && f.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
                })
                .collect();
            files.sort();
            for f in files {
                out.push(read_file(&f)?);
            }
        } else {
            out.push(read_file(p)?);
        }
    }
    Ok(out)
}

fn read_file(p: &Path) -> Result<Input, ManifestError> {
    let bytes = std::fs::read(p).map_err(|error| ManifestError::Read {
        path: p.to_path_buf(),
        error,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| ManifestError::Read {
        path: p.to_path_buf(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })?;
    Ok(Input::new(p.display().to_string(), text))
}

/// Choices the caller makes for a load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Seeds generated names and uids. Use a fresh random value per `run`; a fixed value
    /// gives reproducible output.
    pub seed: u64,
    pub node: NodeInfo,
}

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
        let (mut pod, controller) = make_pod(w, sequence, seed);
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
            validate::apps_workload("StatefulSet", &spec.selector, spec.replicas, &t, f);
            if let Some(p) = spec.pod_management_policy.as_deref() {
                if p != "OrderedReady" && p != "Parallel" {
                    f.errors.push(crate::error::FieldError::not_supported(
                        "spec.podManagementPolicy",
                        p,
                        &["OrderedReady", "Parallel"],
                    ));
                }
            }
            if spec
                .volume_claim_templates
                .as_ref()
                .is_some_and(|v| !v.is_empty())
            {
                f.warnings.push((
                    WarningKind::Deviation,
                    "spec.volumeClaimTemplates".to_string(),
                    "each claim becomes an emptyDir volume of the pod: its data does not outlive the pod".to_string(),
                ));
            }
        }
        Object::DaemonSet(d) => {
            validate::object_meta(&d.metadata, &meta, f);
            let spec = d.spec.clone().unwrap_or_default();
            validate::apps_workload("DaemonSet", &spec.selector, None, &spec.template, f);
        }
        Object::Job(j) => {
            validate::object_meta(&j.metadata, &meta, f);
            validate_job(j, f);
        }
    }
}

fn add_claim_volumes(t: &mut PodTemplateSpec, spec: &k8s_openapi::api::apps::v1::StatefulSetSpec) {
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

/// batch/validation validateJobSpec (the parts that matter on one host).
fn validate_job(j: &k8s_openapi::api::batch::v1::Job, f: &mut Findings) {
    use crate::error::FieldError;
    let spec = j.spec.clone().unwrap_or_default();
    let p = FieldPath::new("spec");
    for (name, v) in [
        ("parallelism", spec.parallelism),
        ("completions", spec.completions),
        ("backoffLimit", spec.backoff_limit),
    ] {
        if let Some(v) = v {
            if v < 0 {
                f.errors.push(FieldError::invalid(
                    p.child(name),
                    v,
                    "must be greater than or equal to 0",
                ));
            }
        }
    }
    if let Some(a) = spec.active_deadline_seconds {
        if a <= 0 {
            f.errors.push(FieldError::invalid(
                p.child("activeDeadlineSeconds"),
                a,
                "must be greater than 0",
            ));
        }
    }
    match spec.completion_mode.as_deref().unwrap_or("NonIndexed") {
        "NonIndexed" => {}
        "Indexed" => {
            if spec.completions.is_none() {
                f.errors.push(FieldError::required(
                    p.child("completions"),
                    "when completion mode is Indexed",
                ));
            }
        }
        other => f.errors.push(FieldError::not_supported(
            p.child("completionMode"),
            other,
            &["NonIndexed", "Indexed"],
        )),
    }
    if let Some(sel) = spec.selector.as_ref() {
        if spec.manual_selector == Some(true) {
            let tl = spec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default();
            if !validate::selector_matches(sel, &tl) {
                f.errors.push(FieldError::invalid(
                    "spec.template.metadata.labels",
                    crate::error::BadValue::Plain(format!("{tl:?}")),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    if spec.pod_failure_policy.is_some() {
        f.errors.push(FieldError::forbidden(
            p.child("podFailurePolicy"),
            "not supported by minipod: pods fail by backoffLimit only",
        ));
    }
    if spec.success_policy.is_some() {
        f.errors.push(FieldError::forbidden(
            p.child("successPolicy"),
            "not supported by minipod: a Job succeeds when its completions succeed",
        ));
    }
    if spec.backoff_limit_per_index.is_some() {
        f.errors.push(FieldError::forbidden(
            p.child("backoffLimitPerIndex"),
            "not supported by minipod",
        ));
    }
    if spec
        .managed_by
        .as_deref()
        .is_some_and(|m| m != "kubernetes.io/job-controller")
    {
        f.warnings.push((
            WarningKind::IgnoredField,
            "spec.managedBy".to_string(),
            "ignored by minipod: minipod runs the Job itself".to_string(),
        ));
    }
    validate::pod_template(
        &spec.template,
        &p.child("template"),
        SpecContext::JobTemplate,
        f,
    );
}

struct Expanded {
    plan: WorkloadPlan,
    /// Sequence numbers of the pods to make now.
    initial: Vec<u32>,
}

fn template_json(t: &PodTemplateSpec) -> Vec<u8> {
    // Serializing k8s-openapi values cannot fail (no maps with non-string keys).
    serde_json::to_vec(t).unwrap_or_default()
}

/// Expands a workload into its plan: controller labels on the template and which pods to
/// make first (pkg/controller/{deployment,replicaset,statefulset,daemon,job}).
fn workload(file: &str, obj: Object, options: &LoadOptions) -> Expanded {
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
fn generated_name(base: &str, suffix: &str) -> String {
    let mut end = base.len().min(58);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &base[..end])
}

/// Pod number `seq` of a workload, named as its controller names it.
fn make_pod(w: &WorkloadPlan, seq: u32, seed: u64) -> (Pod, Option<ControllerRef>) {
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
    };
    (pod, Some(controller))
}

#[cfg(test)]
pub(crate) mod tests;
