//! Security contexts of the pod and of its containers (validation.go
//! validatePodSpecSecurityContext, ValidateSecurityContext, validateSeccompProfileField).

use k8s_openapi::api::core::v1::{PodSpec, SecurityContext};

use super::Findings;
use crate::error::FieldError;
use crate::path::FieldPath;

pub(super) fn pod_security_context(spec: &PodSpec, path: &FieldPath, out: &mut Findings) {
    let Some(sc) = spec.security_context.as_ref() else {
        return;
    };
    let p = path.child("securityContext");
    id_range(sc.run_as_user, &p.child("runAsUser"), out);
    id_range(sc.run_as_group, &p.child("runAsGroup"), out);
    id_range(sc.fs_group, &p.child("fsGroup"), out);
    for (i, g) in sc.supplemental_groups.iter().flatten().enumerate() {
        id_range(Some(*g), &p.child("supplementalGroups").index(i), out);
    }
    if let Some(policy) = sc.fs_group_change_policy.as_deref() {
        if policy != "OnRootMismatch" && policy != "Always" {
            out.err(FieldError::not_supported(
                p.child("fsGroupChangePolicy"),
                policy,
                &["Always", "OnRootMismatch"],
            ));
        }
    }
    if let Some(policy) = sc.supplemental_groups_policy.as_deref() {
        if policy != "Merge" && policy != "Strict" {
            out.err(FieldError::not_supported(
                p.child("supplementalGroupsPolicy"),
                policy,
                &["Merge", "Strict"],
            ));
        }
    }
    for (i, s) in sc.sysctls.iter().flatten().enumerate() {
        let sp = p.child("sysctls").index(i);
        if s.name.is_empty() {
            out.err(FieldError::required(sp.child("name"), ""));
        }
    }
    if sc.windows_options.is_some() {
        out.ignored(&p.child("windowsOptions"), "Linux only");
    }
    if let Some(sp) = sc.seccomp_profile.as_ref() {
        seccomp_profile(sp, &p.child("seccompProfile"), out);
    }
}

/// validation.go validateSeccompProfileField.
fn seccomp_profile(
    sp: &k8s_openapi::api::core::v1::SeccompProfile,
    path: &FieldPath,
    out: &mut Findings,
) {
    match sp.type_.as_str() {
        "Localhost" => {
            if sp.localhost_profile.as_deref().unwrap_or("").is_empty() {
                out.err(FieldError::required(
                    path.child("localhostProfile"),
                    "must be set when seccomp type is Localhost",
                ));
            }
        }
        "RuntimeDefault" | "Unconfined" => {
            if sp.localhost_profile.is_some() {
                out.err(FieldError::invalid(
                    path.child("localhostProfile"),
                    sp.localhost_profile.clone().unwrap_or_default(),
                    "can only be set when seccomp type is Localhost",
                ));
            }
        }
        other => out.err(FieldError::not_supported(
            path.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
}

/// ValidateNonnegativeField on user/group IDs, capped at int32 as validation.go does.
fn id_range(v: Option<i64>, path: &FieldPath, out: &mut Findings) {
    if let Some(v) = v {
        if !(0..=i64::from(i32::MAX)).contains(&v) {
            out.err(FieldError::invalid(
                path,
                v,
                "must be between 0 and 2147483647, inclusive",
            ));
        }
    }
}

/// ValidateSecurityContext
pub(super) fn security_context(sc: &SecurityContext, path: &FieldPath, out: &mut Findings) {
    id_range(sc.run_as_user, &path.child("runAsUser"), out);
    id_range(sc.run_as_group, &path.child("runAsGroup"), out);
    if let Some(pm) = sc.proc_mount.as_deref() {
        match pm {
            "Default" => {}
            "Unmasked" => {}
            other => out.err(FieldError::not_supported(
                path.child("procMount"),
                other,
                &["Default", "Unmasked"],
            )),
        }
    }
    if sc.allow_privilege_escalation == Some(false) && sc.privileged == Some(true) {
        out.err(FieldError::invalid(
            path,
            crate::error::BadValue::Plain("{...}".to_string()),
            "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
        ));
    }
    if let Some(caps) = &sc.capabilities {
        if sc.allow_privilege_escalation == Some(false)
            && caps
                .add
                .iter()
                .flatten()
                .any(|c| c == "CAP_SYS_ADMIN" || c == "SYS_ADMIN")
        {
            out.err(FieldError::invalid(
                path,
                crate::error::BadValue::Plain("{...}".to_string()),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    if let Some(sp) = &sc.seccomp_profile {
        seccomp_profile(sp, &path.child("seccompProfile"), out);
    }
    if sc.windows_options.is_some() {
        out.ignored(&path.child("windowsOptions"), "Linux only");
    }
}
