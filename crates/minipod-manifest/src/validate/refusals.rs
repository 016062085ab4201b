//! minipod's own refusals: pod fields the API server accepts but minipod cannot honour on
//! one host. These are not Kubernetes rules; the messages say "ignored by minipod" (a
//! warning) or "not supported by minipod" (an error).

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Findings;
use crate::path::FieldPath;

/// Pod fields minipod cannot honour: a warning when ignoring them is harmless on one host,
/// an error when ignoring them would change what the pod does.
pub(super) fn support(
    spec: &PodSpec,
    meta: Option<&ObjectMeta>,
    path: &FieldPath,
    out: &mut Findings,
) {
    let _ = meta;
    let sched = "there is one node and no scheduler";
    if spec.node_selector.as_ref().is_some_and(|m| !m.is_empty()) {
        out.ignored(&path.child("nodeSelector"), sched);
    }
    if spec.affinity.is_some() {
        out.ignored(&path.child("affinity"), sched);
    }
    if spec.tolerations.as_ref().is_some_and(|t| !t.is_empty()) {
        out.ignored(&path.child("tolerations"), sched);
    }
    if spec
        .topology_spread_constraints
        .as_ref()
        .is_some_and(|t| !t.is_empty())
    {
        out.ignored(&path.child("topologySpreadConstraints"), sched);
    }
    if spec
        .priority_class_name
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        out.ignored(
            &path.child("priorityClassName"),
            "no preemption on one host",
        );
    }
    if spec
        .scheduler_name
        .as_deref()
        .is_some_and(|s| s != "default-scheduler")
    {
        out.ignored(&path.child("schedulerName"), sched);
    }
    if spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        out.ignored(&path.child("schedulingGates"), "pods start at once");
    }
    if spec
        .runtime_class_name
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        out.ignored(&path.child("runtimeClassName"), "there is one runtime");
    }
    if spec
        .image_pull_secrets
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        out.ignored(
            &path.child("imagePullSecrets"),
            "images are pulled with the host's credentials",
        );
    }
    if spec.overhead.as_ref().is_some_and(|o| !o.is_empty()) {
        out.ignored(&path.child("overhead"), "no RuntimeClass overhead");
    }
    if spec.readiness_gates.as_ref().is_some_and(|g| !g.is_empty()) {
        out.ignored(
            &path.child("readinessGates"),
            "no controller sets these conditions; readiness uses the containers only",
        );
    }
    if spec.resource_claims.as_ref().is_some_and(|c| !c.is_empty()) {
        out.unsupported(
            &path.child("resourceClaims"),
            "no dynamic resource allocation",
        );
    }
    if spec.host_users == Some(false) {
        out.unsupported(
            &path.child("hostUsers"),
            "user namespaces are not implemented",
        );
    }
    if spec
        .hostname_override
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        out.unsupported(&path.child("hostnameOverride"), "alpha field");
    }
    if spec.workload_ref.is_some() {
        out.ignored(&path.child("workloadRef"), "no gang scheduling");
    }
    for (kind, list) in [
        ("containers", Some(&spec.containers)),
        ("initContainers", spec.init_containers.as_ref()),
    ] {
        for (i, c) in list.into_iter().flatten().enumerate() {
            let cp = path.child(kind).index(i);
            if c.volume_devices.as_ref().is_some_and(|d| !d.is_empty()) {
                out.unsupported(&cp.child("volumeDevices"), "no block volumes");
            }
            if c.restart_policy_rules
                .as_ref()
                .is_some_and(|r| !r.is_empty())
            {
                out.unsupported(&cp.child("restartPolicyRules"), "alpha field");
            }
            if c.resize_policy.as_ref().is_some_and(|r| !r.is_empty()) {
                out.ignored(&cp.child("resizePolicy"), "pods are not resized in place");
            }
            if spec.host_network != Some(true) {
                for (pi, p) in c.ports.iter().flatten().enumerate() {
                    if p.host_port.unwrap_or(0) != 0 {
                        out.ignored(
                            &cp.child("ports").index(pi).child("hostPort"),
                            "host ports are not published (use `minipod port-forward` or hostNetwork)",
                        );
                    }
                }
            }
        }
    }
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let vp = path.child("volumes").index(i);
        let unsupported: &[(&str, bool)] = &[
            ("persistentVolumeClaim", v.persistent_volume_claim.is_some()),
            ("ephemeral", v.ephemeral.is_some()),
            ("image", v.image.is_some()),
            ("nfs", v.nfs.is_some()),
            ("iscsi", v.iscsi.is_some()),
            ("csi", v.csi.is_some()),
            ("gitRepo", v.git_repo.is_some()),
            ("awsElasticBlockStore", v.aws_elastic_block_store.is_some()),
            ("azureDisk", v.azure_disk.is_some()),
            ("azureFile", v.azure_file.is_some()),
            ("cephfs", v.cephfs.is_some()),
            ("cinder", v.cinder.is_some()),
            ("fc", v.fc.is_some()),
            ("flexVolume", v.flex_volume.is_some()),
            ("flocker", v.flocker.is_some()),
            ("gcePersistentDisk", v.gce_persistent_disk.is_some()),
            ("glusterfs", v.glusterfs.is_some()),
            ("photonPersistentDisk", v.photon_persistent_disk.is_some()),
            ("portworxVolume", v.portworx_volume.is_some()),
            ("quobyte", v.quobyte.is_some()),
            ("rbd", v.rbd.is_some()),
            ("scaleIO", v.scale_io.is_some()),
            ("storageos", v.storageos.is_some()),
            ("vsphereVolume", v.vsphere_volume.is_some()),
        ];
        for (name, set) in unsupported {
            if *set {
                out.unsupported(
                    &vp.child(name),
                    "volume type; supported: emptyDir, hostPath, configMap, secret, downwardAPI, projected",
                );
            }
        }
        if let Some(p) = v.projected.as_ref() {
            for (j, s) in p.sources.iter().flatten().enumerate() {
                let sp = vp.child("projected").child("sources").index(j);
                if s.service_account_token.is_some() {
                    out.unsupported(
                        &sp.child("serviceAccountToken"),
                        "there is no API server to issue tokens",
                    );
                }
                if s.cluster_trust_bundle.is_some() {
                    out.unsupported(&sp.child("clusterTrustBundle"), "there is no API server");
                }
                if s.pod_certificate.is_some() {
                    out.unsupported(&sp.child("podCertificate"), "there is no API server");
                }
            }
        }
    }
}
