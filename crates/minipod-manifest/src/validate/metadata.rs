//! Object metadata: name, namespace, labels and annotations (apimachinery
//! api/validation/objectmeta.go ValidateObjectMeta).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Findings;
use crate::error::FieldError;
use crate::names;
use crate::path::FieldPath;

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
