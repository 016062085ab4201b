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
mod tests;
