//! Resource requirements of containers and pods: names, quantities, requests against
//! limits (validation.go ValidateResourceRequirements).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::ResourceRequirements;

use super::{Findings, NONNEGATIVE};
use crate::error::FieldError;
use crate::names;
use crate::path::FieldPath;
use crate::quantity::Quantity;

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
