//! The seam between the supervisor's loop and what it acts on: the [`PodBackend`] trait (the
//! kubelet's container runtime interface, as minipod needs it) and the values that cross it.
//! The real backend is [`super::containers::ContainerBackend`]; the loop's tests use host
//! processes.

use std::os::fd::OwnedFd;

use minipod_manifest::Handler;
use nix::sys::signal::Signal;

use crate::observed::ProbeKind;
use crate::spec::ContainerKind;

/// A process the backend started for the supervisor to watch.
#[derive(Debug)]
pub struct StartedProcess {
    pub pid: i32,
    /// The backend waits for the process itself (in `container_exited`/`handler_exited`);
    /// otherwise the supervisor's loop reaps it.
    pub backend_reaps: bool,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// A container instance the backend started.
#[derive(Debug)]
pub struct StartedContainer {
    pub process: StartedProcess,
    /// `<runtime>://<id>`.
    pub container_id: String,
    pub image_id: Option<String>,
    /// The image's STOPSIGNAL (`SIGQUIT`, `3`...), used when the spec sets none.
    pub stop_signal: Option<String>,
}

/// Why a container could not be started, by the kubelet's `waiting.reason`
/// (kuberuntime_container.go startContainer, images.go EnsureImageExists).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The image is not in the store (`imagePullPolicy` other than Never).
    #[error("{0}")]
    ErrImagePull(String),
    /// The image is not in the store and `imagePullPolicy` is Never.
    #[error("{0}")]
    ErrImageNeverPull(String),
    /// The container's config cannot be made (subPath, env, the runtime spec).
    #[error("{0}")]
    CreateContainerConfigError(String),
    /// The runtime could not create the container (root filesystem, stdio, mounts).
    #[error("{0}")]
    CreateContainerError(String),
    /// The runtime had created the container (`<runtime>://<id>`) but its process could not
    /// run: containerd's StartContainer failing (runc create or start: a missing executable,
    /// a failed mount). That instance exists and exited with 128 `StartError`; for the other
    /// variants nothing was created and the start is simply retried.
    #[error("{message}")]
    RunContainerError {
        container_id: String,
        message: String,
    },
}

impl StartError {
    /// The container's `waiting.reason` while it is not running.
    pub fn reason(&self) -> &'static str {
        match self {
            StartError::ErrImagePull(_) => "ErrImagePull",
            StartError::ErrImageNeverPull(_) => "ErrImageNeverPull",
            StartError::CreateContainerConfigError(_) => "CreateContainerConfigError",
            StartError::CreateContainerError(_) => "CreateContainerError",
            StartError::RunContainerError { .. } => "RunContainerError",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            StartError::ErrImagePull(m)
            | StartError::ErrImageNeverPull(m)
            | StartError::CreateContainerConfigError(m)
            | StartError::CreateContainerError(m)
            | StartError::RunContainerError { message: m, .. } => m,
        }
    }

    /// The instance that exists although its process never ran, if any.
    pub fn container_id(&self) -> Option<&str> {
        match self {
            StartError::RunContainerError { container_id, .. } => Some(container_id),
            _ => None,
        }
    }
}

/// Why another backend call failed; each keeps the kubelet step it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// RunPodSandbox or the pod's volumes (event `FailedCreatePodSandBox`).
    #[error("{0}")]
    CreatePodSandbox(String),
    /// StopContainer: the stop signal or SIGKILL could not be sent.
    #[error("{0}")]
    KillContainer(String),
    /// KillPodSandbox and the clean-up of the pod's volumes and mounts.
    #[error("{0}")]
    KillPodSandbox(String),
}

/// Which lifecycle hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hook {
    PostStart,
    PreStop,
    Probe(ProbeKind),
}

impl Hook {
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::PostStart => "PostStartHook",
            Hook::PreStop => "PreStopHook",
            Hook::Probe(ProbeKind::Startup) => "startup probe",
            Hook::Probe(ProbeKind::Liveness) => "liveness probe",
            Hook::Probe(ProbeKind::Readiness) => "readiness probe",
        }
    }
}

/// How the backend runs a hook: a process to watch, or already finished.
#[derive(Debug)]
pub enum HookLaunch {
    Process(StartedProcess),
    Finished(Result<(), String>),
}

/// What the backend knows about an instance that exited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExitDetails {
    pub oom_killed: bool,
    /// A message for `terminated.message` (e.g. the termination-log contents).
    pub message: Option<String>,
}

/// Side effects the supervisor asks for. Every call happens on the supervisor's one thread.
pub trait PodBackend {
    /// Creates the pod sandbox (namespaces, volumes); returns the pod IP if it has one.
    fn create_sandbox(&mut self) -> Result<Option<String>, BackendError>;
    /// The node's address for `status.hostIP` (the kubelet reports it from the node's
    /// addresses for every pod); `None` when it has none.
    fn host_ip(&self) -> Option<String> {
        None
    }
    /// Creates and starts instance `attempt` of a container.
    fn start_container(
        &mut self,
        name: &str,
        kind: ContainerKind,
        index: usize,
        attempt: i32,
    ) -> Result<StartedContainer, StartError>;
    /// Runs a handler of the plan (exec, httpGet, tcpSocket) for the running instance of
    /// `name`; httpGet and tcpSocket connect to `host` when the handler names none (`sleep`
    /// is the supervisor's own timer and never reaches the backend).
    fn run_handler(&mut self, name: &str, hook: Hook, handler: &Handler, host: &str) -> HookLaunch;
    /// Stops a handler process that ran out of time.
    fn kill_handler(&mut self, name: &str, hook: Hook);
    /// A handler process reported by [`HookLaunch::Process`] exited: reap it if the backend
    /// owns it.
    fn handler_exited(&mut self, name: &str, hook: Hook);
    /// Sends `signal` to the container's init process.
    fn signal(&mut self, name: &str, signal: Signal) -> Result<(), BackendError>;
    /// The instance of `name` exited: collect what is known and release its resources
    /// (the rootfs mount, the runtime state). Logs and volumes stay.
    fn container_exited(&mut self, name: &str) -> ExitDetails;
    /// The pod is done: remove everything the backend made for it.
    fn teardown(&mut self) -> Result<(), BackendError>;
}
