//! Volumes (ValidateVolumes, validateVolumeSource) and the downward API's field and
//! resource selectors, which env vars use too.

use std::collections::HashSet;

use k8s_openapi::api::core::v1::{KeyToPath, Volume};

use super::Findings;
use crate::error::FieldError;
use crate::names;
use crate::path::{split_subscript, FieldPath};
use crate::quantity::Quantity;

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// Valid volumes by name → whether they are... (just the names here).
pub(super) fn volumes(vols: &[Volume], path: &FieldPath, out: &mut Findings) -> HashSet<String> {
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
pub(super) fn local_descending(p: &str, path: &FieldPath, out: &mut Findings) {
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
pub(super) fn object_field_selector(
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

const RESOURCE_FIELDS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// validateContainerResourceFieldSelector + validateContainerResourceDivisor
pub(super) fn resource_field_selector(
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
