//! Lifecycle hooks in the supervisor: postStart and preStop run from the plan's typed
//! [`Handler`] (kubelet lifecycle/handlers.go Run), `sleep` as the supervisor's own timer,
//! exec/httpGet through the backend; their outcome recorded in the observed pod, failures
//! reported as the kubelet reports them.

use std::time::Instant;

use minipod_manifest::Handler;

use super::reactor::Token;
use super::{Hook, HookLaunch, PodBackend, Supervisor, Watched};
use crate::events;
use crate::handlers;
use crate::observed::HookState;
use crate::spec::{self, ContainerKind};
use crate::time::Timestamp;

/// The most of a hook's output kept for its failure message.
pub(super) const MAX_HOOK_OUTPUT: usize = 4096;

/// A hook in flight, with the start of its output for the failure message.
pub(super) struct HookRun {
    pub(super) handler: Handler,
    pub(super) output: Vec<u8>,
    /// For the `sleep` action: when it is done.
    pub(super) sleep_until: Option<Instant>,
}

impl<B: PodBackend> Supervisor<B> {
    pub(super) fn launch_hook(&mut self, name: &str, hook: Hook, now: Timestamp) {
        let Some(container) = self.container_spec(name) else {
            return;
        };
        let handler = match hook {
            Hook::PostStart => container.post_start.clone(),
            Hook::PreStop => container.pre_stop.clone(),
            Hook::Probe(_) => None,
        };
        let Some(handler) = handler else {
            // The plan only asks for hooks the spec has; nothing to run is a success.
            self.record_hook(name, hook, HookState::Succeeded);
            return;
        };
        if let Err(e) = handlers::check_lifecycle(&handler) {
            log::warn!("{} of container {name:?}: {e}", hook.as_str());
            self.hook_failed_event(name, hook, now);
            if hook == Hook::PostStart {
                // handlers.go Run: the message of an action it cannot run.
                let message = format!("Cannot run handler: {e}");
                self.observed.record_post_start_failure(name, &message);
            } else {
                self.record_hook(name, hook, HookState::Failed);
            }
            return;
        }
        let key = (name.to_owned(), hook);
        if let Some(d) = handlers::sleep_duration(&handler) {
            self.hooks.insert(
                key,
                HookRun {
                    handler,
                    output: Vec::new(),
                    sleep_until: Some(crate::time::deadline_after(Instant::now(), d)),
                },
            );
            self.record_hook(name, hook, HookState::Running);
            return;
        }
        let host = self.handler_host();
        let launch = self.backend.run_handler(name, hook, &handler, &host);
        self.hooks.insert(
            key,
            HookRun {
                handler,
                output: Vec::new(),
                sleep_until: None,
            },
        );
        match launch {
            HookLaunch::Process(p) => {
                let token = self.token(Watched::Hook(name.to_owned(), hook));
                self.watch_process(token, p);
                self.record_hook(name, hook, HookState::Running);
            }
            HookLaunch::Finished(result) => self.hook_finished(name, hook, result, now),
        }
    }

    pub(super) fn kind_of(&self, name: &str) -> ContainerKind {
        self.observed
            .container(name)
            .map(|c| c.kind)
            .unwrap_or(ContainerKind::Regular)
    }

    pub(super) fn hook_failed_event(&self, name: &str, hook: Hook, now: Timestamp) {
        let kind = self.kind_of(name);
        let ev = match hook {
            Hook::PostStart => events::failed_post_start_hook(kind, name),
            Hook::PreStop => events::failed_pre_stop_hook(kind, name),
            Hook::Probe(_) => return,
        };
        self.report(ev, now);
    }

    pub(super) fn record_hook(&mut self, name: &str, hook: Hook, state: HookState) {
        match hook {
            Hook::PostStart => self.observed.record_post_start(name, state),
            Hook::PreStop => self.observed.record_pre_stop(name, state),
            Hook::Probe(_) => false,
        };
    }

    pub(super) fn hook_finished(
        &mut self,
        name: &str,
        hook: Hook,
        result: Result<(), String>,
        now: Timestamp,
    ) {
        let run = self.hooks.remove(&(name.to_owned(), hook));
        match result {
            Ok(()) => self.record_hook(name, hook, HookState::Succeeded),
            Err(error) => {
                // The details go to the log and, for postStart, the container's
                // waiting.message, never to events: the kubelet keeps hook output out of
                // events so that secrets do not leak (kuberuntime_container.go).
                let message = run.as_ref().map(|run| {
                    let output = String::from_utf8_lossy(&run.output);
                    let pod = spec::format_pod(&self.pod.pod);
                    handlers::hook_failure_message(&run.handler, name, &pod, &error, output.trim())
                });
                if let Some(m) = &message {
                    log::warn!("{m}");
                }
                self.hook_failed_event(name, hook, now);
                match (hook, message) {
                    (Hook::PostStart, Some(m)) => {
                        self.observed.record_post_start_failure(name, &m);
                    }
                    _ => self.record_hook(name, hook, HookState::Failed),
                }
            }
        }
    }

    pub(super) fn expire_sleep_hooks(&mut self) {
        let now = Instant::now();
        let due: Vec<(String, Hook)> = self
            .hooks
            .iter()
            .filter(|(_, h)| h.sleep_until.is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for (name, hook) in due {
            self.hook_finished(&name, hook, Ok(()), Timestamp::now());
        }
    }

    /// An httpGet or sleep hook runs outside the container, so the container's exit is not
    /// its failure (the kubelet would even wait for it). Its instance is gone, so minipod
    /// stops it without a verdict: no FailedPostStartHook for a hook that never failed,
    /// and no late result that could be taken for the next instance's hook.
    pub(super) fn abandon_hook(&mut self, name: &str, hook: Hook) {
        self.hooks.remove(&(name.to_owned(), hook));
        let watched = Watched::Hook(name.to_owned(), hook);
        let tokens: Vec<Token> = self
            .tokens
            .iter()
            .filter(|(_, (w, _))| *w == watched)
            .map(|(t, _)| *t)
            .collect();
        for t in tokens {
            self.reactor.unwatch_pid(t);
            self.tokens.remove(&t);
        }
        self.backend.kill_handler(name, hook);
        self.backend.handler_exited(name, hook);
    }
}
