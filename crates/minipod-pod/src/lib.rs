//! minipod-pod: the kubelet's pod start-up and shut-down semantics as pure functions.
//!
//! The decision and status modules perform no I/O and read no clock or environment: the
//! supervisor (built on top; it and `store` do the I/O) observes containers, keeps an
//! [`ObservedPod`] up to date, and asks [`plan::compute_pod_actions`] what to do next,
//! level-triggered like the kubelet's `SyncPod`. Everything reads one typed view of the pod:
//! the [`minipod_manifest::PodPlan`] built when the pod was accepted.
//!
//! 1. observe: update [`ObservedPod`] / [`ProbeResults`] from process exits, hook exits,
//!    probe workers and signals;
//! 2. plan: `compute_pod_actions(&plan, &observed, &probes, now)`;
//! 3. execute the [`action::Action`]s in order; stop at the first failure (the next pass
//!    retries);
//! 4. write [`status::build_pod_status`] atomically; sleep until an event or
//!    [`action::PodActions::wake_at`].
//!
//! [`kubectl::print_pod`] renders the `kubectl get pods` row from a stored `v1::Pod`.
//!
//! Pure modules, each importing only those before it: [`spec`] (phase, grace periods) →
//! [`observed`] (the supervisor's bookkeeping) → [`action`] (what a pass asks for) →
//! [`container_status`] → [`phase`] → [`plan`] (what to do next) / [`status`]
//! (`core/v1.PodStatus`, conditions); beside them [`backoff`] (crash-loop back-off),
//! [`kubectl`] (STATUS / READY / RESTARTS / AGE), [`probe`] (when to probe, verdicts),
//! [`handlers`] (a plan handler on the wire, verdicts), [`events`] (the kubelet's event
//! reasons and messages) and [`time`].

#![forbid(unsafe_code)]

pub mod action;
pub mod admit;
pub mod backoff;
pub mod container_status;
pub mod events;
pub mod handlers;
pub mod kubectl;
pub mod observed;
pub mod phase;
pub mod plan;
pub mod probe;
pub mod selector;
pub mod spec;
pub mod status;
pub mod store;
pub mod supervisor;
pub mod time;
pub mod workload;

#[cfg(test)]
mod testutil;

pub use action::{Action, InitStep, PodActions};
pub use backoff::{BackoffPolicy, RestartBackoff};
pub use observed::{
    ContainerState, HookState, KillReason, ObservedContainer, ObservedPod, PodTermination,
    ProbeKind, ProbeResult, ProbeResults, RunningState, SandboxState, StartFailure, Stopping,
    Termination,
};
pub use plan::compute_pod_actions;
pub use spec::{ContainerKind, PodPhase};
