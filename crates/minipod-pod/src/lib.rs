//! minipod-pod: the kubelet's pod start-up and shut-down semantics as pure functions.
//!
//! The decision and status modules perform no I/O and read no clock or environment: the
//! supervisor (built on top; it and `store` do the I/O) observes containers, keeps an
//! [`ObservedPod`] up to date, and asks [`plan::compute_pod_actions`] what to do next,
//! level-triggered like the kubelet's `SyncPod`:
//!
//! 1. observe: update [`ObservedPod`] / [`ProbeResults`] from process exits, hook exits,
//!    probe workers and signals;
//! 2. plan: `compute_pod_actions(&pod, &observed, &probes, now)`;
//! 3. execute the [`plan::Action`]s in order; stop at the first failure (the next pass retries);
//! 4. write [`status::build_pod_status`] atomically; sleep until an event or
//!    [`plan::PodActions::wake_at`].
//!
//! [`kubectl::print_pod`] renders the `kubectl get pods` row from a stored `v1::Pod`.
//!
//! Pure modules: [`plan`] (what to do next), [`observed`] (the supervisor's bookkeeping),
//! [`backoff`] (crash-loop back-off), [`status`] (`core/v1.PodStatus`, phase, conditions),
//! [`kubectl`] (STATUS / READY / RESTARTS / AGE), [`probe`] (when to probe, verdicts),
//! [`handlers`] (resolved exec / httpGet / tcpSocket / grpc / sleep actions), [`events`]
//! (the kubelet's event reasons and messages), [`spec`] and [`time`] (helpers).

pub mod admit;
pub mod backoff;
pub mod events;
pub mod handlers;
pub mod kubectl;
pub mod observed;
pub mod plan;
pub mod probe;
pub mod spec;
pub mod status;
pub mod store;
pub mod supervisor;
pub mod time;
pub mod workload;

#[cfg(test)]
mod testutil;

pub use backoff::{BackoffPolicy, RestartBackoff};
pub use observed::{
    ContainerState, HookState, KillReason, ObservedContainer, ObservedPod, PodTermination,
    ProbeKind, ProbeResult, ProbeResults, RunningState, SandboxState, StartFailure, Stopping,
    Termination,
};
pub use plan::{compute_pod_actions, Action, InitStep, PodActions};
pub use spec::{ContainerKind, PodPhase};
