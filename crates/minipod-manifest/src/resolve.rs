//! Resolution of references between objects of the same input: configMap/secret volumes and
//! env sources, and the downward API (kubelet_pods.go makeEnvironmentVariables,
//! pkg/volume/{configmap,secret,downwardapi,projected}).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, Volume};

use crate::env::{EnvValue, EnvVarPlan};
use crate::error::FieldError;
use crate::node::NodeInfo;
use crate::path::FieldPath;
use crate::quantity::Quantity;
use crate::volume::{HostPathType, StorageMedium, VolumeFile, VolumeSource};

/// ConfigMaps and Secrets of the input, looked up by namespace and name.
pub(crate) struct Resolver<'a> {
    pub config_maps: Vec<&'a ConfigMap>,
    pub secrets: Vec<&'a Secret>,
}

fn ns_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

/// A ConfigMap or Secret's entries as bytes.
fn cm_entries(c: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = c
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    for (k, v) in c.binary_data.iter().flatten() {
        out.insert(k.clone(), v.0.clone());
    }
    out
}

fn secret_entries(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    // Defaulting folds stringData into data; kept here for objects built by hand.
    for (k, v) in s.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

fn mode(m: Option<i32>, default: Option<i32>) -> u32 {
    u32::try_from(m.or(default).unwrap_or(crate::defaults::DEFAULT_FILE_MODE)).unwrap_or(0o644)
}

/// Items (or every key) of a ConfigMap/Secret as files.
fn project(
    entries: Option<&BTreeMap<String, Vec<u8>>>,
    items: Option<&[k8s_openapi::api::core::v1::KeyToPath]>,
    default_mode: Option<i32>,
    optional: bool,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
) -> Vec<VolumeFile> {
    let Some(entries) = entries else {
        return Vec::new();
    };
    match items {
        None | Some([]) => entries
            .iter()
            .map(|(k, v)| VolumeFile {
                path: k.clone(),
                data: v.clone(),
                mode: mode(None, default_mode),
            })
            .collect(),
        Some(items) => {
            let mut files = Vec::new();
            for (i, it) in items.iter().enumerate() {
                match entries.get(&it.key) {
                    Some(v) => files.push(VolumeFile {
                        path: it.path.clone(),
                        data: v.clone(),
                        mode: mode(it.mode, default_mode),
                    }),
                    // pkg/volume/configmap: "references non-existent config key" unless optional.
                    None if optional => {}
                    None => errors.push(FieldError::not_found(
                        path.child("items").index(i).child("key"),
                        it.key.as_str(),
                    )),
                }
            }
            files
        }
    }
}

/// fieldpath.FormatMap: `key="value"` lines, sorted by key.
fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    m.into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of a downward API `fieldRef` known at plan time (pkg/fieldpath ExtractFieldPathAsString).
fn pod_field(pod: &Pod, node: &NodeInfo, field_path: &str) -> Option<EnvValue> {
    let m = &pod.metadata;
    let spec = pod.spec.as_ref();
    let s = |v: Option<&String>| EnvValue::Resolved(v.cloned().unwrap_or_default());
    if let Some((base, key)) = crate::path::split_subscript(field_path) {
        let map = match base {
            "metadata.labels" => m.labels.as_ref(),
            "metadata.annotations" => m.annotations.as_ref(),
            _ => return None,
        };
        return Some(s(map.and_then(|m| m.get(key))));
    }
    Some(match field_path {
        "metadata.name" => s(m.name.as_ref()),
        "metadata.namespace" => s(m.namespace.as_ref()),
        "metadata.uid" => s(m.uid.as_ref()),
        "metadata.labels" => EnvValue::Resolved(format_map(m.labels.as_ref())),
        "metadata.annotations" => EnvValue::Resolved(format_map(m.annotations.as_ref())),
        "spec.nodeName" => EnvValue::Resolved(
            spec.and_then(|s| s.node_name.clone())
                .unwrap_or_else(|| node.name.clone()),
        ),
        "spec.serviceAccountName" => s(spec.and_then(|s| s.service_account_name.as_ref())),
        "status.podIP" => EnvValue::PodIp,
        "status.podIPs" => EnvValue::PodIps,
        "status.hostIP" => EnvValue::HostIp,
        "status.hostIPs" => EnvValue::HostIps,
        _ => return None,
    })
}

/// kubelet resource.ExtractContainerResourceValue with limits defaulted to node allocatable
/// (MergeContainerResourceLimits); divisor defaults to 1.
pub(crate) fn resource_value(
    c: &Container,
    resource: &str,
    divisor: Option<&str>,
    node: &NodeInfo,
) -> Option<String> {
    let r = c.resources.as_ref();
    let get = |kind: &str, name: &str| -> Option<Quantity> {
        let m = if kind == "limits" {
            r.and_then(|r| r.limits.as_ref())
        } else {
            r.and_then(|r| r.requests.as_ref())
        };
        m.and_then(|m| m.get(name))
            .and_then(|q| Quantity::parse(&q.0).ok())
    };
    let (kind, name) = resource.split_once('.')?;
    let div = divisor
        .and_then(|d| Quantity::parse(d).ok())
        .filter(|q| !q.is_zero());
    let ceil_div = |a: i64, b: i64| -> i64 {
        if b <= 0 {
            return a;
        }
        a / b + i64::from(a % b != 0)
    };
    match name {
        "cpu" => {
            let milli = match get(kind, "cpu") {
                Some(q) => q.milli_value(),
                None if kind == "limits" => node.cpu_millis,
                None => 0,
            };
            let d = div.map(|d| d.milli_value()).unwrap_or(1000);
            Some(ceil_div(milli, d).to_string())
        }
        "memory" | "ephemeral-storage" => {
            let alloc = if name == "memory" {
                node.memory_bytes
            } else {
                node.ephemeral_storage_bytes
            };
            let v = match get(kind, name) {
                Some(q) => q.value(),
                None if kind == "limits" => alloc,
                None => 0,
            };
            let d = div.map(|d| d.value()).unwrap_or(1);
            Some(ceil_div(v, d).to_string())
        }
        n if n.starts_with("hugepages-") => {
            let v = get(kind, n).map(|q| q.value()).unwrap_or(0);
            let d = div.map(|d| d.value()).unwrap_or(1);
            Some(ceil_div(v, d).to_string())
        }
        _ => None,
    }
}

impl Resolver<'_> {
    fn config_map(&self, ns: &str, name: &str) -> Option<&ConfigMap> {
        self.config_maps
            .iter()
            .copied()
            .find(|c| c.metadata.name.as_deref() == Some(name) && ns_of(&c.metadata) == ns)
    }

    fn secret(&self, ns: &str, name: &str) -> Option<&Secret> {
        self.secrets
            .iter()
            .copied()
            .find(|s| s.metadata.name.as_deref() == Some(name) && ns_of(&s.metadata) == ns)
    }

    /// One volume of an accepted pod, typed, with file contents for configMap, secret,
    /// downwardAPI and projected volumes.
    pub fn volume(
        &self,
        v: &Volume,
        pod: &Pod,
        node: &NodeInfo,
        path: &FieldPath,
    ) -> Result<VolumeSource, Vec<FieldError>> {
        let ns = ns_of(&pod.metadata);
        let mut errors = Vec::new();
        let source = if let Some(e) = &v.empty_dir {
            let medium = match e.medium.as_deref() {
                Some("Memory") => StorageMedium::Memory,
                Some(m) if m.starts_with("HugePages") => {
                    StorageMedium::HugePages(m.strip_prefix("HugePages-").map(str::to_string))
                }
                _ => StorageMedium::Default,
            };
            VolumeSource::EmptyDir {
                medium,
                size_limit: e
                    .size_limit
                    .as_ref()
                    .and_then(|q| Quantity::parse(&q.0).ok())
                    .map(|q| q.value()),
            }
        } else if let Some(h) = &v.host_path {
            VolumeSource::HostPath {
                path: h.path.clone(),
                type_: match h.type_.as_deref().unwrap_or("") {
                    "DirectoryOrCreate" => HostPathType::DirectoryOrCreate,
                    "Directory" => HostPathType::Directory,
                    "FileOrCreate" => HostPathType::FileOrCreate,
                    "File" => HostPathType::File,
                    "Socket" => HostPathType::Socket,
                    "CharDevice" => HostPathType::CharDevice,
                    "BlockDevice" => HostPathType::BlockDevice,
                    _ => HostPathType::Unset,
                },
            }
        } else if let Some(c) = &v.config_map {
            let cp = path.child("configMap");
            let optional = c.optional == Some(true);
            let entries = self.config_map(ns, &c.name).map(cm_entries);
            if entries.is_none() && !optional {
                errors.push(FieldError::not_found(cp.child("name"), c.name.as_str()));
            }
            let files = project(
                entries.as_ref(),
                c.items.as_deref(),
                c.default_mode,
                optional,
                &cp,
                &mut errors,
            );
            VolumeSource::ConfigMap {
                name: c.name.clone(),
                optional,
                files,
            }
        } else if let Some(s) = &v.secret {
            let sp = path.child("secret");
            let name = s.secret_name.clone().unwrap_or_default();
            let optional = s.optional == Some(true);
            let entries = self.secret(ns, &name).map(secret_entries);
            if entries.is_none() && !optional {
                errors.push(FieldError::not_found(sp.child("secretName"), name.as_str()));
            }
            let files = project(
                entries.as_ref(),
                s.items.as_deref(),
                s.default_mode,
                optional,
                &sp,
                &mut errors,
            );
            VolumeSource::Secret {
                name,
                optional,
                files,
            }
        } else if let Some(d) = &v.downward_api {
            let files = self.downward_files(
                d.items.as_deref().unwrap_or(&[]),
                d.default_mode,
                pod,
                node,
                &path.child("downwardAPI").child("items"),
                &mut errors,
            );
            VolumeSource::DownwardApi { files }
        } else if let Some(p) = &v.projected {
            let mut files = Vec::new();
            for (i, src) in p.sources.iter().flatten().enumerate() {
                let sp = path.child("projected").child("sources").index(i);
                if let Some(c) = &src.config_map {
                    let optional = c.optional == Some(true);
                    let entries = self.config_map(ns, &c.name).map(cm_entries);
                    if entries.is_none() && !optional {
                        errors.push(FieldError::not_found(
                            sp.child("configMap").child("name"),
                            c.name.as_str(),
                        ));
                    }
                    files.extend(project(
                        entries.as_ref(),
                        c.items.as_deref(),
                        p.default_mode,
                        optional,
                        &sp.child("configMap"),
                        &mut errors,
                    ));
                }
                if let Some(s) = &src.secret {
                    let optional = s.optional == Some(true);
                    let entries = self.secret(ns, &s.name).map(secret_entries);
                    if entries.is_none() && !optional {
                        errors.push(FieldError::not_found(
                            sp.child("secret").child("name"),
                            s.name.as_str(),
                        ));
                    }
                    files.extend(project(
                        entries.as_ref(),
                        s.items.as_deref(),
                        p.default_mode,
                        optional,
                        &sp.child("secret"),
                        &mut errors,
                    ));
                }
                if let Some(d) = &src.downward_api {
                    files.extend(self.downward_files(
                        d.items.as_deref().unwrap_or(&[]),
                        p.default_mode,
                        pod,
                        node,
                        &sp.child("downwardAPI").child("items"),
                        &mut errors,
                    ));
                }
            }
            VolumeSource::Projected { files }
        } else {
            // Validation refused every other volume type already.
            errors.push(FieldError::forbidden(
                path,
                "not supported by minipod: volume type",
            ));
            VolumeSource::EmptyDir {
                medium: StorageMedium::Default,
                size_limit: None,
            }
        };
        if errors.is_empty() {
            Ok(source)
        } else {
            Err(errors)
        }
    }

    fn downward_files(
        &self,
        items: &[k8s_openapi::api::core::v1::DownwardAPIVolumeFile],
        default_mode: Option<i32>,
        pod: &Pod,
        node: &NodeInfo,
        path: &FieldPath,
        errors: &mut Vec<FieldError>,
    ) -> Vec<VolumeFile> {
        let mut files = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let value = if let Some(f) = &it.field_ref {
                match pod_field(pod, node, &f.field_path) {
                    Some(EnvValue::Resolved(v)) => v,
                    _ => {
                        errors.push(FieldError::not_supported(
                            path.index(i).child("fieldRef").child("fieldPath"),
                            f.field_path.as_str(),
                            &[],
                        ));
                        continue;
                    }
                }
            } else if let Some(r) = &it.resource_field_ref {
                let cname = r.container_name.as_deref().unwrap_or("");
                let spec = pod.spec.as_ref();
                let c = spec.and_then(|s| {
                    s.containers
                        .iter()
                        .chain(s.init_containers.iter().flatten())
                        .find(|c| c.name == cname)
                });
                match c.and_then(|c| {
                    resource_value(
                        c,
                        &r.resource,
                        r.divisor.as_ref().map(|d| d.0.as_str()),
                        node,
                    )
                }) {
                    Some(v) => v,
                    None => {
                        errors.push(FieldError::not_found(
                            path.index(i)
                                .child("resourceFieldRef")
                                .child("containerName"),
                            cname,
                        ));
                        continue;
                    }
                }
            } else {
                continue;
            };
            files.push(VolumeFile {
                path: it.path.clone(),
                data: value.into_bytes(),
                mode: mode(it.mode, default_mode),
            });
        }
        files
    }

    /// kubelet makeEnvironmentVariables, up to the values only known at run time.
    pub fn env(
        &self,
        c: &Container,
        pod: &Pod,
        node: &NodeInfo,
        path: &FieldPath,
    ) -> Result<Vec<EnvVarPlan>, Vec<FieldError>> {
        let ns = ns_of(&pod.metadata);
        let mut errors = Vec::new();
        let mut out = Vec::new();
        for (i, ef) in c.env_from.iter().flatten().enumerate() {
            let ep = path.child("envFrom").index(i);
            let prefix = ef.prefix.as_deref().unwrap_or("");
            let entries: Option<BTreeMap<String, String>> = if let Some(r) = &ef.config_map_ref {
                match self.config_map(ns, &r.name) {
                    Some(cm) => Some(cm.data.clone().unwrap_or_default()),
                    None if r.optional == Some(true) => None,
                    None => {
                        errors.push(FieldError::not_found(
                            ep.child("configMapRef").child("name"),
                            r.name.as_str(),
                        ));
                        None
                    }
                }
            } else if let Some(r) = &ef.secret_ref {
                match self.secret(ns, &r.name) {
                    Some(s) => Some(
                        secret_entries(s)
                            .into_iter()
                            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                            .collect(),
                    ),
                    None if r.optional == Some(true) => None,
                    None => {
                        errors.push(FieldError::not_found(
                            ep.child("secretRef").child("name"),
                            r.name.as_str(),
                        ));
                        None
                    }
                }
            } else {
                None
            };
            for (k, v) in entries.into_iter().flatten() {
                let name = format!("{prefix}{k}");
                // The kubelet skips keys that are not valid variable names.
                if !crate::names::env_var_name(&name).is_empty() {
                    continue;
                }
                out.push(EnvVarPlan {
                    name,
                    value: EnvValue::Resolved(v),
                });
            }
        }
        for (i, e) in c.env.iter().flatten().enumerate() {
            let vp = path.child("env").index(i).child("valueFrom");
            let value = e.value.as_deref().unwrap_or("");
            let resolved = if !value.is_empty() || e.value_from.is_none() {
                Some(EnvValue::Template(value.to_string()))
            } else if let Some(vf) = &e.value_from {
                if let Some(f) = &vf.field_ref {
                    pod_field(pod, node, &f.field_path)
                } else if let Some(r) = &vf.resource_field_ref {
                    let target = match r.container_name.as_deref().filter(|n| !n.is_empty()) {
                        None => Some(c),
                        Some(n) => pod.spec.as_ref().and_then(|s| {
                            s.containers
                                .iter()
                                .chain(s.init_containers.iter().flatten())
                                .find(|c| c.name == n)
                        }),
                    };
                    match target.and_then(|t| {
                        resource_value(
                            t,
                            &r.resource,
                            r.divisor.as_ref().map(|d| d.0.as_str()),
                            node,
                        )
                    }) {
                        Some(v) => Some(EnvValue::Resolved(v)),
                        None => {
                            errors.push(FieldError::not_found(
                                vp.child("resourceFieldRef").child("containerName"),
                                r.container_name.clone().unwrap_or_default(),
                            ));
                            None
                        }
                    }
                } else if let Some(k) = &vf.config_map_key_ref {
                    let optional = k.optional == Some(true);
                    match self.config_map(ns, &k.name) {
                        Some(cm) => match cm.data.as_ref().and_then(|d| d.get(&k.key)) {
                            Some(v) => Some(EnvValue::Resolved(v.clone())),
                            None if optional => None,
                            None => {
                                errors.push(FieldError::not_found(
                                    vp.child("configMapKeyRef").child("key"),
                                    k.key.as_str(),
                                ));
                                None
                            }
                        },
                        None if optional => None,
                        None => {
                            errors.push(FieldError::not_found(
                                vp.child("configMapKeyRef").child("name"),
                                k.name.as_str(),
                            ));
                            None
                        }
                    }
                } else if let Some(k) = &vf.secret_key_ref {
                    let optional = k.optional == Some(true);
                    match self.secret(ns, &k.name) {
                        Some(s) => match secret_entries(s).get(&k.key) {
                            Some(v) => {
                                Some(EnvValue::Resolved(String::from_utf8_lossy(v).into_owned()))
                            }
                            None if optional => None,
                            None => {
                                errors.push(FieldError::not_found(
                                    vp.child("secretKeyRef").child("key"),
                                    k.key.as_str(),
                                ));
                                None
                            }
                        },
                        None if optional => None,
                        None => {
                            errors.push(FieldError::not_found(
                                vp.child("secretKeyRef").child("name"),
                                k.name.as_str(),
                            ));
                            None
                        }
                    }
                } else {
                    None
                }
            } else {
                None
            };
            // An optional reference that is absent leaves the variable unset (kubelet `continue`).
            if let Some(value) = resolved {
                out.push(EnvVarPlan {
                    name: e.name.clone(),
                    value,
                });
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}
