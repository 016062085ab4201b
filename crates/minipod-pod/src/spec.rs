//! Read-only views of the (defaulted) `v1::PodSpec` that the plan and the status need.

use std::fmt;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use serde::{Deserialize, Serialize};

/// The kubelet's default `terminationGracePeriodSeconds` (pkg/apis/core/v1/defaults.go).
pub const DEFAULT_TERMINATION_GRACE_PERIOD: Duration = Duration::from_secs(30);

/// The kubelet's minimum stop window: `StopContainer` never gets less than this
/// (kuberuntime_manager.go `minimumGracePeriodInSeconds`).
pub const MINIMUM_GRACE_PERIOD: Duration = Duration::from_secs(2);

/// Which list a container comes from, and whether it is a native sidecar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ContainerKind {
    /// `spec.initContainers[i]` without `restartPolicy: Always`: runs to completion, in order.
    Init,
    /// `spec.initContainers[i]` with `restartPolicy: Always` (a native sidecar).
    Sidecar,
    /// `spec.containers[i]`.
    Regular,
}

impl ContainerKind {
    /// True for both kinds of `spec.initContainers` entries.
    pub fn is_init_list(self) -> bool {
        matches!(self, ContainerKind::Init | ContainerKind::Sidecar)
    }
}

/// `status.phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl PodPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
            PodPhase::Unknown => "Unknown",
        }
    }

    /// Succeeded and Failed never change again (kubelet_pods.go generateAPIPodStatus).
    pub fn is_terminal(self) -> bool {
        matches!(self, PodPhase::Succeeded | PodPhase::Failed)
    }

    pub fn parse(s: &str) -> Option<PodPhase> {
        Some(match s {
            "Pending" => PodPhase::Pending,
            "Running" => PodPhase::Running,
            "Succeeded" => PodPhase::Succeeded,
            "Failed" => PodPhase::Failed,
            "Unknown" => PodPhase::Unknown,
            _ => return None,
        })
    }
}

impl fmt::Display for PodPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pod-level `restartPolicy` (defaulted to Always).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

pub fn restart_policy(spec: &PodSpec) -> RestartPolicy {
    match spec.restart_policy.as_deref() {
        Some("Never") => RestartPolicy::Never,
        Some("OnFailure") => RestartPolicy::OnFailure,
        _ => RestartPolicy::Always,
    }
}

/// kubelet: kuberuntime_manager.go shouldRestartOnFailure.
pub fn restart_on_failure(spec: &PodSpec) -> bool {
    restart_policy(spec) != RestartPolicy::Never
}

/// api/v1/pod IsRestartableInitContainer.
pub fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

pub fn init_containers(spec: &PodSpec) -> &[Container] {
    spec.init_containers.as_deref().unwrap_or(&[])
}

pub fn init_kind(c: &Container) -> ContainerKind {
    if is_sidecar(c) {
        ContainerKind::Sidecar
    } else {
        ContainerKind::Init
    }
}

pub fn has_post_start(c: &Container) -> bool {
    c.lifecycle.as_ref().is_some_and(|l| l.post_start.is_some())
}

pub fn has_pre_stop(c: &Container) -> bool {
    c.lifecycle.as_ref().is_some_and(|l| l.pre_stop.is_some())
}

/// `lifecycle.stopSignal` if the spec sets one; otherwise the image's STOPSIGNAL or SIGTERM,
/// which only the supervisor knows.
pub fn stop_signal(c: &Container) -> Option<String> {
    c.lifecycle.as_ref().and_then(|l| l.stop_signal.clone())
}

/// The pod's `terminationGracePeriodSeconds`, defaulted to 30 s; negative values count as 0.
pub fn pod_grace_period(spec: &PodSpec) -> Duration {
    match spec.termination_grace_period_seconds {
        Some(s) => Duration::from_secs(s.max(0) as u64),
        None => DEFAULT_TERMINATION_GRACE_PERIOD,
    }
}

/// When `spec.activeDeadlineSeconds` runs out for a pod started at `start_time`
/// (kubelet active_deadline.go pastActiveDeadline: `now - startTime >= deadline`).
pub fn active_deadline(
    spec: &PodSpec,
    start_time: Option<crate::time::Timestamp>,
) -> Option<crate::time::Timestamp> {
    let secs = spec.active_deadline_seconds?;
    Some(crate::time::add(
        start_time?,
        Duration::from_secs(secs.max(0) as u64),
    ))
}

/// `metadata.name`, `metadata.namespace` (default "default"), `metadata.uid` as kubelet's
/// `format.Pod` prints them: `name_namespace(uid)`.
pub fn format_pod(pod: &Pod) -> String {
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let uid = pod.metadata.uid.as_deref().unwrap_or("");
    format!("{name}_{ns}({uid})")
}
