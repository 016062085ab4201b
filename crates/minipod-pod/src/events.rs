//! The kubelet's events for the steps of a pod's life, with its reasons and messages
//! (pkg/kubelet/events/event.go; messages from kuberuntime_container.go / kuberuntime_manager.go).
//! Pure constructors: the supervisor appends them to `events.jsonl`.

use k8s_openapi::api::core::v1::Pod;
use minipod_manifest::PodPlan;

use crate::action::{Action, WaitReason};
use crate::spec::{self, ContainerKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One event about the pod or one of its containers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodEvent {
    pub type_: EventType,
    pub reason: &'static str,
    pub message: String,
    /// `involvedObject.fieldPath`: `spec.containers{app}` / `spec.initContainers{init}`;
    /// `None` for the pod itself.
    pub field_path: Option<String>,
}

/// `involvedObject.fieldPath` of a container (kubecontainer.GenerateContainerRef).
pub fn field_path(kind: ContainerKind, name: &str) -> String {
    match kind {
        ContainerKind::Regular => format!("spec.containers{{{name}}}"),
        ContainerKind::Init | ContainerKind::Sidecar => format!("spec.initContainers{{{name}}}"),
    }
}

fn container_event(
    type_: EventType,
    reason: &'static str,
    kind: ContainerKind,
    name: &str,
    message: String,
) -> PodEvent {
    PodEvent {
        type_,
        reason,
        message,
        field_path: Some(field_path(kind, name)),
    }
}

/// `Scheduled`: "Successfully assigned ns/name to node".
pub fn scheduled(pod: &Pod, node: &str) -> PodEvent {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    PodEvent {
        type_: EventType::Normal,
        reason: "Scheduled",
        message: format!("Successfully assigned {ns}/{name} to {node}"),
        field_path: None,
    }
}

/// `Pulled` for an image already in the store.
pub fn image_present(kind: ContainerKind, name: &str, image: &str) -> PodEvent {
    container_event(
        EventType::Normal,
        "Pulled",
        kind,
        name,
        format!("Container image {image:?} already present on machine"),
    )
}

/// `Created`: "Created container: NAME".
pub fn created(kind: ContainerKind, name: &str) -> PodEvent {
    container_event(
        EventType::Normal,
        "Created",
        kind,
        name,
        format!("Created container: {name}"),
    )
}

/// `Started`: "Started container NAME".
pub fn started(kind: ContainerKind, name: &str) -> PodEvent {
    container_event(
        EventType::Normal,
        "Started",
        kind,
        name,
        format!("Started container {name}"),
    )
}

/// `Failed`: a start failed before the process ran ("Error: ...").
pub fn failed(kind: ContainerKind, name: &str, error: &str) -> PodEvent {
    container_event(
        EventType::Warning,
        "Failed",
        kind,
        name,
        format!("Error: {error}"),
    )
}

/// `FailedPostStartHook` (the hook's output is not recorded, so secrets do not leak).
pub fn failed_post_start_hook(kind: ContainerKind, name: &str) -> PodEvent {
    container_event(
        EventType::Warning,
        "FailedPostStartHook",
        kind,
        name,
        "PostStartHook failed".to_string(),
    )
}

/// `FailedPreStopHook`.
pub fn failed_pre_stop_hook(kind: ContainerKind, name: &str) -> PodEvent {
    container_event(
        EventType::Warning,
        "FailedPreStopHook",
        kind,
        name,
        "PreStopHook failed".to_string(),
    )
}

/// `Unhealthy`: "Liveness probe failed: OUTPUT" (prober.go recordContainerEvent).
pub fn unhealthy(
    kind: ContainerKind,
    name: &str,
    probe: crate::observed::ProbeKind,
    output: &str,
) -> PodEvent {
    let what = match probe {
        crate::observed::ProbeKind::Startup => "Startup",
        crate::observed::ProbeKind::Liveness => "Liveness",
        crate::observed::ProbeKind::Readiness => "Readiness",
    };
    container_event(
        EventType::Warning,
        "Unhealthy",
        kind,
        name,
        format!("{what} probe failed: {output}"),
    )
}

/// The event the kubelet records when it performs `action`, if any: `Killing` for kills,
/// `BackOff` for a crash-loop wait. (`Created`/`Started` depend on the outcome: use
/// [`created`] / [`started`].)
pub fn for_action(pod: &PodPlan, action: &Action) -> Option<PodEvent> {
    match action {
        Action::KillContainer {
            name,
            kind,
            message,
            ..
        } => Some(container_event(
            EventType::Normal,
            "Killing",
            *kind,
            name,
            message.clone(),
        )),
        Action::WaitUntil {
            reason: WaitReason::BackOff { name, .. },
            ..
        } => {
            let kind = if pod
                .init_containers
                .iter()
                .any(|c| &c.container.name == name)
            {
                ContainerKind::Init
            } else {
                ContainerKind::Regular
            };
            Some(container_event(
                EventType::Warning,
                "BackOff",
                kind,
                name,
                format!(
                    "Back-off restarting failed container {name} in pod {}",
                    spec::format_pod(&pod.pod)
                ),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::observed::{KillReason, ProbeKind};
    use crate::testutil::{pod, t};
    use serde_json::json;

    #[test]
    fn messages() {
        let p = pod(
            json!({"initContainers": [{"name": "init", "image": "busybox"}],
                           "containers": [{"name": "app", "image": "busybox"}]}),
        );
        assert_eq!(
            scheduled(&p.pod, "minipod").message,
            "Successfully assigned default/pod to minipod"
        );
        assert_eq!(
            created(ContainerKind::Regular, "app").message,
            "Created container: app"
        );
        assert_eq!(
            started(ContainerKind::Init, "init").field_path.as_deref(),
            Some("spec.initContainers{init}")
        );
        assert_eq!(
            started(ContainerKind::Regular, "app").message,
            "Started container app"
        );
        assert_eq!(
            image_present(ContainerKind::Regular, "app", "busybox").message,
            "Container image \"busybox\" already present on machine"
        );
        assert_eq!(
            failed_post_start_hook(ContainerKind::Regular, "app").message,
            "PostStartHook failed"
        );
        assert_eq!(
            failed_pre_stop_hook(ContainerKind::Regular, "app").reason,
            "FailedPreStopHook"
        );
        assert_eq!(
            unhealthy(ContainerKind::Regular, "app", ProbeKind::Liveness, "exit 1").message,
            "Liveness probe failed: exit 1"
        );
        assert_eq!(
            failed(ContainerKind::Regular, "app", "boom").type_,
            EventType::Warning
        );

        let backoff = Action::WaitUntil {
            at: t(10),
            reason: WaitReason::BackOff {
                name: "init".into(),
                delay: Duration::from_secs(10),
            },
        };
        let e = for_action(&p, &backoff).unwrap();
        assert_eq!(e.reason, "BackOff");
        assert_eq!(
            e.message,
            "Back-off restarting failed container init in pod pod_default(uid1)"
        );
        assert_eq!(e.field_path.as_deref(), Some("spec.initContainers{init}"));

        let kill = Action::KillContainer {
            name: "app".into(),
            kind: ContainerKind::Regular,
            reason: KillReason::LivenessProbe,
            message: "Container app failed liveness probe, will be restarted".into(),
            grace: Duration::from_secs(30),
            run_pre_stop: false,
            ordered: false,
        };
        let e = for_action(&p, &kill).unwrap();
        assert_eq!((e.type_.as_str(), e.reason), ("Normal", "Killing"));
        assert_eq!(
            e.message,
            "Container app failed liveness probe, will be restarted"
        );
        assert_eq!(for_action(&p, &Action::CreateSandbox), None);
    }
}
