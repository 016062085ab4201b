//! The volumes section of `describe pod` (kubectl describe.go describeVolumes).

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::Volume;

use super::Page;

/// describe.go describeVolumes and the print*VolumeSource helpers for the volume types a
/// pod on one host can use.
pub(super) fn describe_volumes(w: &mut Page, volumes: &[Volume]) {
    if volumes.is_empty() {
        w.line(0, "Volumes:\t<none>\n");
        return;
    }
    w.line(0, "Volumes:\n");
    for v in volumes {
        w.line(1, &format!("{}:\n", v.name));
        let mut text = String::new();
        if let Some(host) = &v.host_path {
            let _ = write!(
                text,
                "Type:\tHostPath (bare host directory volume)\n    Path:\t{}\n    HostPathType:\t{}\n",
                host.path,
                host.type_.as_deref().unwrap_or("<none>")
            );
        } else if let Some(empty) = &v.empty_dir {
            let size = empty
                .size_limit
                .as_ref()
                .map(|q| q.0.clone())
                .filter(|q| {
                    !q.is_empty()
                        && q.trim_start_matches(['0', '.'])
                            .chars()
                            .any(|c| c.is_ascii_digit())
                })
                .unwrap_or_else(|| "<unset>".to_owned());
            let _ = write!(
                text,
                "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t{}\n    SizeLimit:\t{size}\n",
                empty.medium.as_deref().unwrap_or_default()
            );
        } else if let Some(secret) = &v.secret {
            let _ = write!(
                text,
                "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t{}\n    Optional:\t{}\n",
                secret.secret_name.as_deref().unwrap_or_default(),
                secret.optional.unwrap_or(false)
            );
        } else if let Some(cm) = &v.config_map {
            let _ = write!(
                text,
                "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t{}\n    Optional:\t{}\n",
                cm.name,
                cm.optional.unwrap_or(false)
            );
        } else if let Some(claim) = &v.persistent_volume_claim {
            let _ = write!(
                text,
                "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t{}\n    ReadOnly:\t{}\n",
                claim.claim_name,
                claim.read_only.unwrap_or(false)
            );
        } else if let Some(d) = &v.downward_api {
            text.push_str("Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n");
            for item in d.items.as_deref().unwrap_or_default() {
                if let Some(f) = &item.field_ref {
                    let _ = writeln!(text, "      {} -> {}", f.field_path, item.path);
                }
                if let Some(r) = &item.resource_field_ref {
                    let _ = writeln!(text, "      {} -> {}", r.resource, item.path);
                }
            }
        } else if let Some(projected) = &v.projected {
            text.push_str(
                "Type:\tProjected (a volume that contains injected data from multiple sources)\n",
            );
            for source in projected.sources.as_deref().unwrap_or_default() {
                if let Some(s) = &source.secret {
                    let _ = write!(
                        text,
                        "    SecretName:\t{}\n    Optional:\t{}\n",
                        s.name,
                        s.optional.unwrap_or(false)
                    );
                } else if source.downward_api.is_some() {
                    text.push_str("    DownwardAPI:\ttrue\n");
                } else if let Some(cm) = &source.config_map {
                    let _ = write!(
                        text,
                        "    ConfigMapName:\t{}\n    Optional:\t{}\n",
                        cm.name,
                        cm.optional.unwrap_or(false)
                    );
                } else if let Some(token) = &source.service_account_token {
                    let _ = writeln!(
                        text,
                        "    TokenExpirationSeconds:\t{}",
                        token.expiration_seconds.unwrap_or(3600)
                    );
                }
            }
        } else if let Some(image) = &v.image {
            let _ = write!(
                text,
                "Type:\tImage (a container image or OCI artifact)\n    Reference:\t{}\n    PullPolicy:\t{}\n",
                image.reference.as_deref().unwrap_or_default(),
                image.pull_policy.as_deref().unwrap_or_default()
            );
        } else {
            w.line(1, "<unknown>\n");
            continue;
        }
        // The first line is at level 2; the continuation lines carry their own indent.
        w.line(2, &text);
    }
}
