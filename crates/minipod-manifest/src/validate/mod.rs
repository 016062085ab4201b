//! Validation rules ported from pkg/apis/core/validation/validation.go (and the apps/batch
//! validation of workload templates), with Kubernetes' messages and field paths, plus
//! minipod's own refusals of fields it cannot honour. Every rule appends to a list: all
//! problems are reported, never just the first.
//!
//! One file per part of an object, in the order a pod is checked:
//! - `metadata`: ObjectMeta, labels, annotations;
//! - `pod`: ValidatePodCreate / ValidatePodSpec's pod-level fields;
//! - `volumes`: volume sources and the downward API's selectors;
//! - `containers`: containers, ports, env, envFrom, volume mounts;
//! - `handlers`: probes and lifecycle hooks;
//! - `resources`: resource requirements and quantities;
//! - `security`: pod and container security contexts;
//! - `refusals`: fields minipod cannot honour (minipod's rules, not the API server's);
//! - `workloads`: Deployment, ReplicaSet, StatefulSet, DaemonSet and Job specs;
//! - `config`: ConfigMaps and Secrets.
//!
//! This module holds the entry points (re-exported below), the list of findings every rule
//! appends to, and what the files share.

mod config;
mod containers;
mod handlers;
mod metadata;
mod pod;
mod refusals;
mod resources;
mod security;
mod volumes;
mod workloads;

pub use config::{config_map, secret};
pub use metadata::{annotations, labels, object_meta};
pub use pod::{pod, pod_spec};
pub use resources::resource_requirements;
pub use workloads::{apps_workload, job, pod_template, selector_matches, stateful_set};

use crate::error::{FieldError, WarningKind};
use crate::path::FieldPath;

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

#[cfg(test)]
mod tests;
