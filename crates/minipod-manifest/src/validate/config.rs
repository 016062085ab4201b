//! ConfigMaps and Secrets (validation.go ValidateConfigMap, ValidateSecret).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::metadata::object_meta;
use super::Findings;
use crate::error::FieldError;
use crate::names;
use crate::path::FieldPath;

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
