//! The pod phase, the grace-period constants, and the few values the plan and the status
//! compute from a [`PodPlan`] (the typed view of the accepted pod).

use std::fmt;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use minipod_manifest::PodPlan;
use serde::{Deserialize, Serialize};

/// The kubelet's minimum stop window: `StopContainer` never gets less than this
/// (kuberuntime_manager.go `minimumGracePeriodInSeconds`).
pub const MINIMUM_GRACE_PERIOD: Duration = Duration::from_secs(2);

/// One container-kind enum for the workspace: the plan's.
pub use minipod_manifest::ContainerKind;

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

/// The pod's `terminationGracePeriodSeconds` (defaulted to 30 s when the plan was built);
/// negative values count as 0.
pub fn pod_grace_period(plan: &PodPlan) -> Duration {
    Duration::from_secs(plan.termination_grace_period_seconds.max(0) as u64)
}

/// When `spec.activeDeadlineSeconds` runs out for a pod started at `start_time`
/// (kubelet active_deadline.go pastActiveDeadline: `now - startTime >= deadline`).
pub fn active_deadline(
    plan: &PodPlan,
    start_time: Option<crate::time::Timestamp>,
) -> Option<crate::time::Timestamp> {
    let secs = plan.active_deadline_seconds?;
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
