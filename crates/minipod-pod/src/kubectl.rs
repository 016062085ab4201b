//! The `kubectl get pods` row, exactly as kubectl's printPod computes it
//! (pkg/printers/internalversion/printers.go printPod, translateTimestampSince;
//! k8s.io/apimachinery/pkg/util/duration HumanDuration).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod, PodCondition};
use k8s_openapi::jiff::SignedDuration;

use crate::time::Timestamp;

/// `NAME READY STATUS RESTARTS AGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRow {
    pub name: String,
    /// `ready/total`, sidecars counted in both.
    pub ready: String,
    pub status: String,
    /// `N` or `N (AGE ago)`.
    pub restarts: String,
    pub age: String,
}

impl PodRow {
    /// The cells in column order.
    pub fn cells(&self) -> [&str; 5] {
        [
            &self.name,
            &self.ready,
            &self.status,
            &self.restarts,
            &self.age,
        ]
    }
}

/// The column headers of [`PodRow`].
pub const POD_COLUMNS: [&str; 5] = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"];

/// printers.go printPod, for `now`.
pub fn print_pod(pod: &Pod, now: Timestamp) -> PodRow {
    let empty_spec = Default::default();
    let pod_spec = pod.spec.as_ref().unwrap_or(&empty_spec);
    let empty_status = Default::default();
    let status = pod.status.as_ref().unwrap_or(&empty_status);
    let conditions: &[PodCondition] = status.conditions.as_deref().unwrap_or(&[]);

    let mut restarts: i64 = 0;
    let mut sidecar_restarts: i64 = 0;
    let mut total = pod_spec.containers.len();
    let mut ready = 0usize;
    // Go's zero time: `None`.
    let mut last_restart: Option<Timestamp> = None;
    let mut last_sidecar_restart: Option<Timestamp> = None;

    let phase = status.phase.clone().unwrap_or_default();
    let mut reason = match status.reason.as_deref() {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => phase.clone(),
    };
    for c in conditions {
        if c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated") {
            reason = "SchedulingGated".to_string();
        }
    }

    let init_specs: HashMap<&str, &Container> = pod_spec
        .init_containers
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    for c in pod_spec.init_containers.as_deref().unwrap_or(&[]) {
        if is_restartable_init(c) {
            total += 1;
        }
    }
    let is_sidecar = |name: &str| init_specs.get(name).is_some_and(|c| is_restartable_init(c));

    let mut initializing = false;
    let init_statuses: &[ContainerStatus] =
        status.init_container_statuses.as_deref().unwrap_or(&[]);
    for (i, cs) in init_statuses.iter().enumerate() {
        restarts += i64::from(cs.restart_count);
        if let Some(t) = last_finished(cs) {
            if last_restart < Some(t) {
                last_restart = Some(t);
            }
        }
        if is_sidecar(&cs.name) {
            sidecar_restarts += i64::from(cs.restart_count);
            if let Some(t) = last_finished(cs) {
                if last_sidecar_restart < Some(t) {
                    last_sidecar_restart = Some(t);
                }
            }
        }
        let state = cs.state.clone().unwrap_or_default();
        if state.terminated.as_ref().is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if is_sidecar(&cs.name) && cs.started == Some(true) {
            if cs.ready {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = &state.terminated {
            // Initialization failed.
            reason = match t.reason.as_deref() {
                None | Some("") => match t.signal {
                    Some(sig) if sig != 0 => format!("Init:Signal:{sig}"),
                    _ => format!("Init:ExitCode:{}", t.exit_code),
                },
                Some(r) => format!("Init:{r}"),
            };
        } else if let Some(w) = state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{w}");
        } else {
            reason = format!(
                "Init:{i}/{}",
                pod_spec.init_containers.as_deref().unwrap_or(&[]).len()
            );
        }
        initializing = true;
        break;
    }

    if !initializing || initialized_condition_true(conditions) {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        let statuses: &[ContainerStatus] = status.container_statuses.as_deref().unwrap_or(&[]);
        for cs in statuses.iter().rev() {
            restarts += i64::from(cs.restart_count);
            if let Some(t) = last_finished(cs) {
                if last_restart < Some(t) {
                    last_restart = Some(t);
                }
            }
            let state = cs.state.clone().unwrap_or_default();
            let waiting_reason = state
                .waiting
                .as_ref()
                .and_then(|w| w.reason.as_deref())
                .filter(|r| !r.is_empty());
            let terminated_reason = state
                .terminated
                .as_ref()
                .and_then(|t| t.reason.as_deref())
                .filter(|r| !r.is_empty());
            if let Some(r) = waiting_reason {
                reason = r.to_string();
            } else if let Some(r) = terminated_reason {
                reason = r.to_string();
            } else if let Some(t) = &state.terminated {
                reason = match t.signal {
                    Some(sig) if sig != 0 => format!("Signal:{sig}"),
                    _ => format!("ExitCode:{}", t.exit_code),
                };
            } else if cs.ready && state.running.is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // Back to "Running" if a container is still running.
        if reason == "Completed" && has_running {
            reason = if ready_condition_true(conditions) {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    if pod.metadata.deletion_timestamp.is_some() {
        if status.reason.as_deref() == Some("NodeLost") {
            reason = "Unknown".to_string();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_string();
        }
    }

    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => format!(
            "{restarts} ({} ago)",
            translate_timestamp_since(Some(t), now)
        ),
        _ => restarts.to_string(),
    };

    PodRow {
        name: pod.metadata.name.clone().unwrap_or_default(),
        ready: format!("{ready}/{total}"),
        status: reason,
        restarts: restarts_str,
        age: translate_timestamp_since(pod.metadata.creation_timestamp.as_ref().map(|t| t.0), now),
    }
}

/// printers.go printPod, `options.Wide`: IP, NODE, NOMINATED NODE, READINESS GATES.
/// (kubectl.rs renders the five standard columns; these four are plain field reads.)
pub fn wide_cells(pod: &Pod) -> [String; 4] {
    let status = pod.status.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let none = |s: Option<String>| s.filter(|s| !s.is_empty()).unwrap_or("<none>".to_owned());
    let ip = status
        .pod_ips
        .as_ref()
        .and_then(|ips| ips.first())
        .map(|ip| ip.ip.clone())
        .or(status.pod_ip.clone());
    let gates = match spec.readiness_gates.as_deref() {
        None | Some([]) => "<none>".to_owned(),
        Some(gates) => {
            let conditions = status.conditions.as_deref().unwrap_or(&[]);
            let true_count = gates
                .iter()
                .filter(|g| {
                    conditions
                        .iter()
                        .find(|c| c.type_ == g.condition_type)
                        .is_some_and(|c| c.status == "True")
                })
                .count();
            format!("{true_count}/{}", gates.len())
        }
    };
    [
        none(ip),
        none(spec.node_name),
        none(status.nominated_node_name),
        gates,
    ]
}

fn last_finished(cs: &ContainerStatus) -> Option<Timestamp> {
    cs.last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .and_then(|t| t.finished_at.as_ref())
        .map(|t| t.0)
}

fn initialized_condition_true(conditions: &[PodCondition]) -> bool {
    conditions
        .iter()
        .find(|c| c.type_ == "Initialized")
        .is_some_and(|c| c.status == "True")
}

fn ready_condition_true(conditions: &[PodCondition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// printers.go translateTimestampSince: `<unknown>` for a zero time.
pub fn translate_timestamp_since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        None => "<unknown>".to_string(),
        Some(t) => human_duration(now.duration_since(t)),
    }
}

/// apimachinery duration.HumanDuration: about two significant figures.
pub fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{h}h", hours / 24);
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{dy}d", hours / 24 / 365);
    }
    format!("{}y", hours / 24 / 365)
}

/// api/v1/pod IsRestartableInitContainer: an init container with `restartPolicy: Always`
/// (a native sidecar), read from the stored pod.
fn is_restartable_init(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

#[cfg(test)]
mod tests;
