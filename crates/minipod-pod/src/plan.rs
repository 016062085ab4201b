//! The pure decision step: `(pod spec, observed state, probe results, now) → actions`.
//!
//! This is the kubelet's `computePodActions` / `computeInitContainerActions`
//! (pkg/kubelet/kuberuntime/kuberuntime_manager.go, kuberuntime_container.go) together with
//! the parts of `SyncPod` / `killContainer` that decide *when* (back-off, postStart blocking,
//! grace periods, sidecar termination order), rewritten for a supervisor that performs each
//! step asynchronously and calls the plan again after every event.
//!
//! # Driving it (the supervisor's loop)
//!
//! 1. Call [`compute_pod_actions`] with the current [`ObservedPod`], probe verdicts and `now`.
//! 2. Execute [`PodActions::actions`] in order, recording each effect in the `ObservedPod`
//!    through its `record_*` method:
//!    - [`Action::CreateSandbox`] → set `observed.sandbox = Ready`;
//!    - [`Action::StartContainer`] → create + start, then `record_started` (or
//!      `record_start_failure` / `record_exit` with `StartError` on failure);
//!    - [`Action::RunPostStart`] → spawn the hook process, `record_post_start(Running)`; on its
//!      exit `record_post_start(Succeeded | Failed)` (event `FailedPostStartHook`);
//!    - [`Action::KillContainer`] → event `Killing`, spawn preStop if `run_pre_stop`, then
//!      `record_kill`; on the hook's exit `record_pre_stop` (event `FailedPreStopHook`);
//!    - [`Action::StopContainer`] → send the stop signal, `record_stop_signal`;
//!    - [`Action::ForceKill`] → SIGKILL, `record_force_kill`;
//!    - [`Action::TerminatePod`] → set `observed.termination`;
//!    - [`Action::PodDone`] → set `observed.final_phase`, write the final status, exit;
//!    - [`Action::WaitUntil`] → nothing; [`PodActions::wake_at`] is the earliest of them
//!      (event `BackOff` when the reason is [`WaitReason::BackOff`]).
//!
//!    If an action fails, stop executing this list: the next pass retries (level-triggered).
//! 3. Sleep until a process exits, a hook or probe reports, a signal arrives, or `wake_at`;
//!    then go to 1. A pass that returns only `WaitUntil`s (or nothing) is idle.
//!
//! Each action is idempotent with respect to the recorded state: once recorded, the next pass
//! does not ask for it again.
//!
//! # Where minipod differs from the kubelet (on purpose)
//!
//! - An *exited* regular container also proves initialization happened (the kubelet counts
//!   only created/running ones, to survive node reboots; a new minipod sandbox starts from a
//!   fresh `ObservedPod`). Effect: an exited app and a crashed last sidecar restart together.
//! - Grace budgets are kept in milliseconds; the kubelet truncates elapsed time to seconds.
//! - A start that fails before the process runs (image, config, create errors) is retried
//!   after [`crate::observed::START_RETRY_INTERVAL`]; image pull back-off is not modelled.
//! - While a postStart hook runs the container is reported `running` with `started=false`
//!   (the kubelet's API status lags until the hook returns). When a container exits while its
//!   httpGet or sleep hook is in flight, the supervisor drops the hook without a verdict
//!   (the kubelet would wait for it and report only a real failure). Starts wait for hooks and
//!   kills in progress; kills do not wait for hooks.
//! - Not modelled: container spec changes (the spec is immutable here), in-place resize,
//!   ephemeral containers, the alpha ContainerRestartRules and RestartAllContainers gates.
//!
//! # Example: a `restartPolicy: Never` pod from start to end
//!
//! ```
//! use minipod_pod::observed::{ObservedPod, ProbeResults, Termination};
//! use minipod_pod::action::Action;
//! use minipod_pod::plan::compute_pod_actions;
//! use minipod_pod::{BackoffPolicy, PodPhase};
//! use k8s_openapi::jiff::Timestamp;
//!
//! // The pod's plan, as `run` accepts it.
//! let input = minipod_manifest::Input::new("hello.yaml", "apiVersion: v1
//! kind: Pod
//! metadata: {name: hello}
//! spec:
//!   restartPolicy: Never
//!   containers: [{name: app, image: busybox}]
//! ");
//! let options = minipod_manifest::LoadOptions::default();
//! let pod = minipod_manifest::load(&[input], &options).unwrap().pods.remove(0);
//! let mut observed = ObservedPod::new(&pod, BackoffPolicy::KUBELET);
//! let probes = ProbeResults::new();
//! let mut now = Timestamp::from_second(1_700_000_000).unwrap();
//! loop {
//!     let plan = compute_pod_actions(&pod, &observed, &probes, now);
//!     if let Some(phase) = plan.done() {
//!         assert_eq!(phase, PodPhase::Succeeded);
//!         break;
//!     }
//!     for action in &plan.actions {
//!         match action {
//!             // Step: create + start through the runtime, then record the instance.
//!             Action::StartContainer { name, .. } => {
//!                 observed.record_started(name, Some("minipod://1".into()), None, now);
//!             }
//!             other => {
//!                 observed.record_action(other, now);
//!             }
//!         }
//!     }
//!     // ...the event loop waits; here the container exits 0 a second later.
//!     now = now + std::time::Duration::from_secs(1);
//!     if observed.container("app").is_some_and(|c| c.is_running()) {
//!         observed.record_exit("app", Termination::exited(0, false, now));
//!     }
//! }
//! ```

use std::time::Duration;

use minipod_manifest::{ContainerPlan, PodPlan, RestartPolicy};

use crate::action::{Action, InitStep, PodActions, WaitReason};
use crate::observed::{
    ContainerState, HookState, KillReason, ObservedContainer, ObservedPod, PodTermination,
    PodTerminationReason, ProbeKind, ProbeResult, ProbeResults, SandboxState, Stopping,
    START_RETRY_INTERVAL,
};
use crate::spec::{self, ContainerKind, MINIMUM_GRACE_PERIOD};
use crate::time::{add, since, Timestamp};

/// Compute the next steps for `pod` (the plan of the accepted pod). Pure: no I/O, no clock.
pub fn compute_pod_actions(
    pod: &PodPlan,
    observed: &ObservedPod,
    probes: &ProbeResults,
    now: Timestamp,
) -> PodActions {
    let mut p = Planner {
        pod,
        observed,
        probes,
        now,
        actions: Vec::new(),
    };

    if observed.final_phase.is_some() {
        return PodActions {
            init: InitStep::Done,
            actions: Vec::new(),
        };
    }

    // Termination (deletion, or the pod finished) takes over everything: nothing starts,
    // nothing restarts (kubelet: ShouldContainerBeRestarted is false once deleted).
    if let Some(term) = &observed.termination {
        let init = p.plan_init().step;
        p.plan_termination(term);
        return PodActions {
            init,
            actions: p.actions,
        };
    }

    // kubelet: active_deadline.go — past spec.activeDeadlineSeconds the pod is failed
    // (DeadlineExceeded) and killed.
    if let Some(deadline) = spec::active_deadline(pod, observed.start_time) {
        if now >= deadline {
            p.actions.push(Action::TerminatePod {
                reason: PodTerminationReason::DeadlineExceeded,
                grace: spec::pod_grace_period(pod),
            });
            return PodActions {
                init: p.plan_init().step,
                actions: p.actions,
            };
        }
        p.actions.push(Action::WaitUntil {
            at: deadline,
            reason: WaitReason::ActiveDeadline,
        });
    }

    // kubelet: computePodActions → PodSandboxChanged → CreateSandbox.
    if observed.sandbox == SandboxState::NotCreated {
        let init = p.plan_init().step;
        p.actions.push(Action::CreateSandbox);
        return PodActions {
            init,
            actions: p.actions,
        };
    }

    // Kills already under way (probe or postStart failures): keep them moving.
    p.continue_stops();
    // A container started but its postStart not launched yet (e.g. the supervisor
    // restarted between the two steps).
    p.pending_post_starts();

    // kubelet: kuberuntime_container.go computeInitContainerActions.
    let init = p.plan_init();
    for &(i, reason) in &init.kills {
        let c = &pod.init_containers[i];
        p.kill(&c.container, c.kind, reason);
    }
    if let InitStep::Failed(_) = init.step {
        // kubelet: KillPod when an init container failed under restartPolicy Never.
        p.actions.push(Action::TerminatePod {
            reason: PodTerminationReason::InitFailed,
            grace: spec::pod_grace_period(pod),
        });
        return PodActions {
            init: init.step,
            actions: p.actions,
        };
    }

    let mut app_to_start = Vec::new();
    if init.step == InitStep::Done {
        // kubelet: computePodActions, the loop over pod.Spec.Containers.
        let mut keep = 0usize;
        for (idx, c) in pod.containers.iter().enumerate() {
            let o = p.regular(idx, c);
            match o.map(|o| &o.state) {
                None | Some(ContainerState::Waiting) | Some(ContainerState::Terminated(_)) => {
                    if p.should_restart(c, o) {
                        app_to_start.push(idx);
                    }
                }
                Some(ContainerState::Running(r)) => {
                    let Some(o) = o else { continue };
                    if r.stopping.is_some() {
                        // Being killed: it will restart (or not) once it has exited.
                        keep += 1;
                    } else if let Some(reason) = p.kill_reason_for(c, o, r) {
                        p.kill(c, ContainerKind::Regular, reason);
                        // kubelet: the container is restarted after the kill unless
                        // restartPolicy is Never; postStart failures follow the exit code.
                        if pod.restart_on_failure() || reason == KillReason::FailedPostStartHook {
                            keep += 1;
                        }
                    } else {
                        keep += 1;
                    }
                }
            }
        }
        if keep == 0 && app_to_start.is_empty() {
            // kubelet: keepCount == 0 && no ContainersToStart → KillPod; sidecars do not
            // keep the pod alive and are not restarted.
            p.actions.push(Action::TerminatePod {
                reason: PodTerminationReason::Completed,
                grace: spec::pod_grace_period(pod),
            });
            return PodActions {
                init: init.step,
                actions: p.actions,
            };
        }
    }

    // SyncPod steps 6 and 8: start init containers, then regular containers, in order.
    // Nothing starts while a postStart hook or a kill is in progress: the kubelet's pod
    // sync is blocked in startContainer / killContainer meanwhile.
    if !p.sync_blocked() {
        let mut starts: Vec<(ContainerKind, usize)> = init
            .to_start
            .iter()
            .map(|&i| (pod.init_containers[i].kind, i))
            .collect();
        starts.extend(app_to_start.iter().map(|&i| (ContainerKind::Regular, i)));
        for (kind, idx) in starts {
            let c = if kind.is_init_list() {
                &pod.init_containers[idx].container
            } else {
                &pod.containers[idx]
            };
            match p.start(c, kind, idx) {
                Start::Started { post_start: true } => break,
                Start::Started { post_start: false } => {}
                // kubelet: a failed regular init container start aborts the pass; sidecars
                // and regular containers are independent.
                Start::Held if kind == ContainerKind::Init => break,
                Start::Held => {}
            }
        }
    }

    PodActions {
        init: init.step,
        actions: p.actions,
    }
}

/// The result of the init-container pass.
struct InitPlan {
    step: InitStep,
    /// Init containers to start now, in spec order (kubelet InitContainersToStart).
    to_start: Vec<usize>,
    kills: Vec<(usize, KillReason)>,
}

enum Start {
    Started { post_start: bool },
    Held,
}

struct Planner<'a> {
    pod: &'a PodPlan,
    observed: &'a ObservedPod,
    probes: &'a ProbeResults,
    now: Timestamp,
    actions: Vec<Action>,
}

impl<'a> Planner<'a> {
    fn init_obs(&self, i: usize, c: &ContainerPlan) -> Option<&'a ObservedContainer> {
        self.observed
            .init_containers
            .get(i)
            .filter(|o| o.name == c.name)
            .or_else(|| {
                self.observed
                    .init_containers
                    .iter()
                    .find(|o| o.name == c.name)
            })
    }

    fn regular(&self, i: usize, c: &ContainerPlan) -> Option<&'a ObservedContainer> {
        self.observed
            .containers
            .get(i)
            .filter(|o| o.name == c.name)
            .or_else(|| self.observed.containers.iter().find(|o| o.name == c.name))
    }

    fn probe(&self, o: &ObservedContainer, kind: ProbeKind) -> Option<ProbeResult> {
        self.probes.get(&o.name, o.restart_count, kind)
    }

    /// postStart finished successfully, or the spec has none.
    fn post_start_done(c: &ContainerPlan, r: &crate::observed::RunningState) -> bool {
        c.post_start.is_none() || r.post_start == HookState::Succeeded
    }

    /// kubelet: computeInitContainerActions, ported to the observed states (Waiting ≙ no
    /// status, Running, Terminated ≙ Exited). It walks the init containers backwards from the
    /// last one that has a status, because that one tells how far initialization got.
    fn plan_init(&self) -> InitPlan {
        let init = &self.pod.init_containers;
        let n = init.len();
        let mut plan = InitPlan {
            step: InitStep::Done,
            to_start: Vec::new(),
            kills: Vec::new(),
        };
        if n == 0 {
            return plan;
        }
        // If a regular container has an instance, initialization happened before: only
        // sidecars are kept running, regular init containers never re-run. (The kubelet
        // counts only created/running ones, because after a node reboot it cannot tell the
        // old sandbox's exited containers from the new one's; minipod starts a new sandbox
        // with a fresh ObservedPod, so an exited regular container counts too.)
        let mut pod_has_initialized = self
            .observed
            .containers
            .iter()
            .any(|o| !matches!(o.state, ContainerState::Waiting));
        let mut previously_initialized = pod_has_initialized;
        let restart_on_failure = self.pod.restart_on_failure();
        let mut waiting_for: Option<usize> = None;

        for i in (0..n).rev() {
            let c = &init[i].container;
            let sidecar = init[i].kind == ContainerKind::Sidecar;
            let o = self.init_obs(i, c);
            let state = o.map(|o| &o.state).unwrap_or(&ContainerState::Waiting);
            if let ContainerState::Waiting = state {
                // Its status is gone or it never ran: a sidecar of an initialized pod is
                // (re)started, anything else waits for its turn.
                if previously_initialized && sidecar {
                    plan.to_start.push(i);
                }
                continue;
            }
            if previously_initialized && !sidecar {
                continue;
            }
            match state {
                ContainerState::Waiting => {}
                ContainerState::Running(r) => {
                    if !sidecar {
                        // Nothing to do but wait for it to finish.
                        waiting_for = waiting_for.max(Some(i));
                    } else if r.stopping.is_some() {
                        waiting_for = waiting_for.max(Some(i));
                    } else if !Self::post_start_done(c, r) {
                        // The kubelet's startContainer returns only after postStart; a failed
                        // hook kills the container (then it restarts as any exited sidecar).
                        if r.post_start == HookState::Failed {
                            plan.kills.push((i, KillReason::FailedPostStartHook));
                        }
                        waiting_for = waiting_for.max(Some(i));
                    } else if c.startup_probe.is_some()
                        && o.and_then(|o| self.probe(o, ProbeKind::Startup))
                            != Some(ProbeResult::Success)
                    {
                        // Not started until the startup probe succeeds; a failure restarts it.
                        if o.and_then(|o| self.probe(o, ProbeKind::Startup))
                            == Some(ProbeResult::Failure)
                        {
                            plan.kills.push((i, KillReason::StartupProbe));
                        }
                        waiting_for = waiting_for.max(Some(i));
                    } else {
                        // Started: the next init container may start.
                        if i == n - 1 {
                            pod_has_initialized = true;
                        } else if !previously_initialized {
                            plan.to_start.push(i + 1);
                        }
                        // A liveness failure restarts the sidecar but never blocks the next
                        // init container.
                        if c.liveness_probe.is_some()
                            && o.and_then(|o| self.probe(o, ProbeKind::Liveness))
                                == Some(ProbeResult::Failure)
                        {
                            plan.kills.push((i, KillReason::LivenessProbe));
                        }
                    }
                }
                ContainerState::Terminated(t) => {
                    if sidecar {
                        // Sidecars restart on any exit, whatever the pod's restartPolicy.
                        plan.to_start.push(i);
                    } else if t.exit_code != 0 {
                        if !restart_on_failure {
                            plan.step = InitStep::Failed(i);
                            plan.to_start.clear();
                            return plan;
                        }
                        // OnFailure and Always both restart the same init container.
                        plan.to_start.push(i);
                    } else if i == n - 1 {
                        pod_has_initialized = true;
                    } else {
                        plan.to_start.push(i + 1);
                    }
                }
            }
            previously_initialized = true;
        }
        if !previously_initialized {
            // No init container has run yet.
            plan.to_start.push(0);
        }
        plan.to_start.reverse();
        plan.to_start.dedup();

        plan.step = if pod_has_initialized {
            InitStep::Done
        } else {
            let frontier = plan
                .to_start
                .iter()
                .copied()
                .max()
                .max(waiting_for)
                .unwrap_or(0);
            if plan.to_start.contains(&frontier) {
                let c = &init[frontier].container;
                match self.start_held_until(self.init_obs(frontier, c)) {
                    Some((until, _)) => InitStep::BackOff {
                        index: frontier,
                        until,
                    },
                    None => InitStep::Start(frontier),
                }
            } else {
                InitStep::WaitFor(frontier)
            }
        };
        plan
    }

    /// kubelet: container/helpers.go ShouldContainerBeRestarted (for regular containers),
    /// plus the restart the kubelet schedules right after a probe kill.
    fn should_restart(&self, _c: &ContainerPlan, o: Option<&ObservedContainer>) -> bool {
        let Some(o) = o else { return true };
        match &o.state {
            ContainerState::Waiting => true,
            ContainerState::Running(_) => false,
            ContainerState::Terminated(t) => {
                let policy = self.pod.restart_policy;
                if matches!(
                    t.kill_reason,
                    Some(KillReason::LivenessProbe | KillReason::StartupProbe)
                ) && policy != RestartPolicy::Never
                {
                    return true;
                }
                match policy {
                    RestartPolicy::Never => false,
                    RestartPolicy::OnFailure => t.exit_code != 0,
                    RestartPolicy::Always => true,
                }
            }
        }
    }

    /// kubelet: computePodActions, "the container is running, but kill the container if...".
    fn kill_reason_for(
        &self,
        c: &ContainerPlan,
        o: &ObservedContainer,
        r: &crate::observed::RunningState,
    ) -> Option<KillReason> {
        if c.post_start.is_some() && r.post_start == HookState::Failed {
            return Some(KillReason::FailedPostStartHook);
        }
        if self.probe(o, ProbeKind::Liveness) == Some(ProbeResult::Failure) {
            return Some(KillReason::LivenessProbe);
        }
        if self.probe(o, ProbeKind::Startup) == Some(ProbeResult::Failure) {
            return Some(KillReason::StartupProbe);
        }
        None
    }

    /// Emit `KillContainer` for a single-container kill (probe or postStart failure).
    /// kubelet: kuberuntime_container.go killContainer + setTerminationGracePeriod.
    fn kill(&mut self, c: &ContainerPlan, kind: ContainerKind, reason: KillReason) {
        let Some(o) = self.observed.container(&c.name) else {
            return;
        };
        match o.running() {
            Some(r) if r.stopping.is_none() => {}
            _ => return,
        }
        let grace = kill_grace_period(self.pod, c, reason);
        let restart = match reason {
            KillReason::PodTermination => false,
            KillReason::FailedPostStartHook => false,
            _ => kind == ContainerKind::Sidecar || self.pod.restart_on_failure(),
        };
        let what = match kind {
            ContainerKind::Regular => "Container",
            _ => "Init container",
        };
        let mut message = match reason {
            KillReason::LivenessProbe => format!("{what} {} failed liveness probe", c.name),
            KillReason::StartupProbe => format!("{what} {} failed startup probe", c.name),
            KillReason::FailedPostStartHook => "FailedPostStartHook".to_string(),
            KillReason::PodTermination => format!("Stopping container {}", c.name),
        };
        if restart && kind == ContainerKind::Regular {
            message.push_str(", will be restarted");
        }
        self.actions.push(Action::KillContainer {
            name: c.name.clone(),
            kind,
            reason,
            message,
            grace,
            run_pre_stop: c.pre_stop.is_some() && !grace.is_zero(),
            ordered: false,
        });
    }

    /// Containers with a stop in progress that is not part of a pod termination.
    fn continue_stops(&mut self) {
        for o in self.observed.all() {
            if let Some(s) = o.running().and_then(|r| r.stopping.as_ref()) {
                let c = self.spec_container(&o.name);
                self.stop_progress(o, c, s);
            }
        }
    }

    fn spec_container(&self, name: &str) -> Option<&'a ContainerPlan> {
        self.pod.container(name)
    }

    /// `RunPostStart` for running instances whose hook was never launched.
    fn pending_post_starts(&mut self) {
        for o in self.observed.all() {
            let Some(r) = o.running() else { continue };
            let Some(c) = self.spec_container(&o.name) else {
                continue;
            };
            if r.stopping.is_none() && c.post_start.is_some() && r.post_start == HookState::Pending
            {
                self.actions.push(Action::RunPostStart {
                    name: o.name.clone(),
                });
            }
        }
    }

    /// The kubelet's pod sync is single-threaded: while a postStart hook runs, or a
    /// container is being killed, no container starts.
    fn sync_blocked(&self) -> bool {
        let emitted = self.actions.iter().any(|a| {
            matches!(
                a,
                Action::KillContainer { .. } | Action::RunPostStart { .. }
            )
        });
        emitted
            || self.observed.all().any(|o| {
                let Some(r) = o.running() else { return false };
                if r.stopping.is_some() {
                    return true;
                }
                self.spec_container(&o.name)
                    .is_some_and(|c| c.post_start.is_some() && !r.post_start.finished())
            })
    }

    /// When the next start of `o` is held back, and why.
    fn start_held_until(&self, o: Option<&ObservedContainer>) -> Option<(Timestamp, WaitReason)> {
        let o = o?;
        if let Some(f) = &o.start_failure {
            let at = add(f.at, START_RETRY_INTERVAL);
            if self.now < at {
                return Some((
                    at,
                    WaitReason::StartRetry {
                        name: o.name.clone(),
                    },
                ));
            }
        }
        if let ContainerState::Terminated(t) = &o.state {
            // kubelet: doBackOff keys on the exited instance's finishedAt.
            if o.backoff.is_in_backoff(t.finished_at, self.now) {
                let delay = o.backoff.current_delay(t.finished_at).unwrap_or_default();
                let at = add(t.finished_at, delay);
                return Some((
                    at,
                    WaitReason::BackOff {
                        name: o.name.clone(),
                        delay,
                    },
                ));
            }
        }
        None
    }

    fn start(&mut self, c: &ContainerPlan, kind: ContainerKind, index: usize) -> Start {
        let o = self.observed.container(&c.name);
        if let Some((at, reason)) = self.start_held_until(o) {
            self.actions.push(Action::WaitUntil { at, reason });
            return Start::Held;
        }
        let attempt = o.map(|o| o.next_attempt()).unwrap_or(0);
        self.actions.push(Action::StartContainer {
            name: c.name.clone(),
            kind,
            index,
            attempt,
        });
        let post_start = c.post_start.is_some();
        if post_start {
            self.actions.push(Action::RunPostStart {
                name: c.name.clone(),
            });
        }
        Start::Started { post_start }
    }

    /// Pod termination: kill every running container at once (preStop for all), sidecars
    /// signalled after the regular containers in reverse order, one grace budget for all.
    /// kubelet: killContainersWithSyncResult + kuberuntime_termination_order.go.
    fn plan_termination(&mut self, term: &PodTermination) {
        let deadline = add(term.requested_at, term.grace);
        let remaining = since(deadline, self.now);
        let running: Vec<&ObservedContainer> =
            self.observed.all().filter(|o| o.is_running()).collect();
        for o in &running {
            let c = self.spec_container(&o.name);
            let Some(r) = o.running() else { continue };
            match &r.stopping {
                None => {
                    let has_pre_stop = c.is_some_and(|c| c.pre_stop.is_some());
                    self.actions.push(Action::KillContainer {
                        name: o.name.clone(),
                        kind: o.kind,
                        reason: KillReason::PodTermination,
                        message: format!("Stopping container {}", o.name),
                        grace: remaining,
                        run_pre_stop: has_pre_stop && !remaining.is_zero(),
                        ordered: true,
                    });
                }
                Some(s) => self.stop_progress(o, c, s),
            }
        }
        if running.is_empty() {
            let phase = crate::phase::final_phase(self.pod, self.observed);
            self.actions.push(Action::PodDone { phase });
        }
    }

    /// The steps of one kill after `KillContainer`: wait for preStop (at most the grace
    /// budget), wait for the turn (sidecars in a pod termination), send the stop signal with
    /// the rest of the budget (at least 2 s), SIGKILL when that runs out.
    fn stop_progress(&mut self, o: &ObservedContainer, c: Option<&ContainerPlan>, s: &Stopping) {
        if s.force_killed {
            return;
        }
        if let Some(kill_at) = s.kill_at {
            if self.now >= kill_at {
                self.actions.push(Action::ForceKill {
                    name: o.name.clone(),
                });
            } else {
                self.actions.push(Action::WaitUntil {
                    at: kill_at,
                    reason: WaitReason::KillDeadline {
                        name: o.name.clone(),
                    },
                });
            }
            return;
        }
        let budget_end = add(s.requested_at, s.grace);
        let expired = self.now >= budget_end;
        // kubelet: executePreStopHook waits for the hook at most the grace period.
        let pre_stop_done = s.pre_stop.is_none_or(|h| h.finished()) || expired;
        if !pre_stop_done {
            self.actions.push(Action::WaitUntil {
                at: budget_end,
                reason: WaitReason::PreStop {
                    name: o.name.clone(),
                },
            });
            return;
        }
        // kubelet: terminationOrdering.waitForTurn — a sidecar waits for every regular
        // container and every later sidecar that was running, until the budget ends.
        if s.ordered && o.kind == ContainerKind::Sidecar && !expired && !self.sidecar_turn(o) {
            self.actions.push(Action::WaitUntil {
                at: budget_end,
                reason: WaitReason::TerminationOrder {
                    name: o.name.clone(),
                },
            });
            return;
        }
        // kubelet: "always give containers a minimal shutdown window".
        let timeout = since(budget_end, self.now).max(MINIMUM_GRACE_PERIOD);
        self.actions.push(Action::StopContainer {
            name: o.name.clone(),
            signal: c.and_then(|c| c.stop_signal.clone()),
            timeout,
        });
    }

    fn sidecar_turn(&self, sidecar: &ObservedContainer) -> bool {
        if self.observed.containers.iter().any(|o| o.is_running()) {
            return false;
        }
        let pos = self
            .observed
            .init_containers
            .iter()
            .position(|o| o.name == sidecar.name)
            .unwrap_or(0);
        !self.observed.init_containers[pos + 1..]
            .iter()
            .any(|o| o.kind == ContainerKind::Sidecar && o.is_running())
    }
}

/// Grace budget of a single-container kill. kubelet: setTerminationGracePeriod — probe
/// kills use the probe's `terminationGracePeriodSeconds` when set, else the pod's.
pub fn kill_grace_period(pod: &PodPlan, c: &ContainerPlan, reason: KillReason) -> Duration {
    let probe = match reason {
        KillReason::LivenessProbe => c.liveness_probe.as_ref(),
        KillReason::StartupProbe => c.startup_probe.as_ref(),
        _ => None,
    };
    match probe.and_then(|p| p.termination_grace_period_seconds) {
        Some(s) => Duration::from_secs(s.max(0) as u64),
        None => spec::pod_grace_period(pod),
    }
}

#[cfg(test)]
mod tests;
