//! Workloads: the rules of Deployment, ReplicaSet, StatefulSet, DaemonSet and Job specs
//! and of their pod templates (pkg/apis/apps/validation, pkg/apis/batch/validation).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSetSpec;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::metadata::{annotations, labels};
use super::pod::pod_spec;
use super::{Findings, SpecContext, NONNEGATIVE};
use crate::error::{FieldError, WarningKind};
use crate::names;
use crate::path::FieldPath;

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

/// The StatefulSet rules beyond the apps/v1 ones: `template` is the spec's template with a
/// volume per claim template, as the controller adds them (see `load::workload`), so that
/// mounts of claim names are valid.
pub fn stateful_set(spec: &StatefulSetSpec, template: &PodTemplateSpec, f: &mut Findings) {
    apps_workload("StatefulSet", &spec.selector, spec.replicas, template, f);
    if let Some(p) = spec.pod_management_policy.as_deref() {
        if p != "OrderedReady" && p != "Parallel" {
            f.errors.push(FieldError::not_supported(
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
            "each claim becomes an emptyDir volume of the pod: its data does not outlive the pod"
                .to_string(),
        ));
    }
}

/// batch/validation validateJobSpec (the parts that matter on one host).
pub fn job(j: &Job, f: &mut Findings) {
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
            if !selector_matches(sel, &tl) {
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
    pod_template(
        &spec.template,
        &p.child("template"),
        SpecContext::JobTemplate,
        f,
    );
}
