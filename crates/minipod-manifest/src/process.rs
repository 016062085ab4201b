//! The process a container runs: command/args against the image's ENTRYPOINT/CMD, `$(VAR)`
//! expansion against the pod-built environment, and the final environment with the image's
//! ENV underneath (kubelet kuberuntime_container.go + containerd CRI WithProcessArgs/WithEnv).

use crate::env::{build_env, RuntimeFacts};
use crate::expand::expand_with;
use crate::plan::ContainerPlan;

/// What the image config says about the process (OCI image config `config`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageProcessDefaults {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    /// `user[:group]`, names or numbers, resolved in the rootfs by the runtime.
    pub user: Option<String>,
}

/// Who the process runs as: securityContext ids win over the image's USER.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessUser {
    pub uid: Option<i64>,
    pub gid: Option<i64>,
    /// The image's USER when no runAsUser is set (to resolve in the container's /etc/passwd).
    pub image_user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub args: Vec<String>,
    /// `KEY=value` entries in order.
    pub env: Vec<String>,
    pub cwd: String,
    pub user: ProcessUser,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// containerd: "no command specified".
    #[error("container {container:?}: no command specified (neither command/args nor image ENTRYPOINT/CMD)")]
    NoCommand { container: String },
}

/// The default PATH containerd's spec carries before the image's ENV is applied.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// kubelet ExpandContainerCommandAndArgs + containerd WithProcessArgs:
///
/// | command | args  | runs                |
/// |---------|-------|---------------------|
/// | unset   | unset | ENTRYPOINT + CMD    |
/// | set     | unset | command             |
/// | unset   | set   | ENTRYPOINT + args   |
/// | set     | set   | command + args      |
///
/// command/args are `$(VAR)`-expanded against `env` (the pod-built variables only); the
/// image's ENTRYPOINT/CMD are not expanded. An empty list counts as unset.
pub fn resolve_args(
    command: Option<&[String]>,
    args: Option<&[String]>,
    env: &[(String, String)],
    image: &ImageProcessDefaults,
) -> Vec<String> {
    let command: Vec<String> = command
        .unwrap_or(&[])
        .iter()
        .map(|c| expand_with(c, env))
        .collect();
    let args: Vec<String> = args
        .unwrap_or(&[])
        .iter()
        .map(|a| expand_with(a, env))
        .collect();
    let mut argv = command;
    let mut tail = args;
    if argv.is_empty() {
        if tail.is_empty() {
            tail = image.cmd.clone();
        }
        // An ENTRYPOINT of [""] means "reset" (docker semantics).
        if !(image.entrypoint.len() == 1 && image.entrypoint[0].is_empty()) {
            argv = image.entrypoint.clone();
        }
    }
    argv.extend(tail);
    argv
}

/// containerd: the spec's default PATH, then HOSTNAME, then the image ENV, then the
/// container's variables; a later entry for a name replaces the earlier one in place.
pub fn merge_env(
    hostname: Option<&str>,
    image_env: &[String],
    container_env: &[(String, String)],
) -> Vec<String> {
    let mut out: Vec<(String, String)> = vec![("PATH".to_string(), DEFAULT_PATH.to_string())];
    let mut put = |k: &str, v: &str| match out.iter_mut().find(|(n, _)| n == k) {
        Some(slot) => slot.1 = v.to_string(),
        None => out.push((k.to_string(), v.to_string())),
    };
    if let Some(h) = hostname {
        put("HOSTNAME", h);
    }
    for e in image_env {
        match e.split_once('=') {
            Some((k, v)) => put(k, v),
            None => put(e, ""),
        }
    }
    for (k, v) in container_env {
        put(k, v);
    }
    out.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// The whole process of `container`: arguments, environment, working directory and user.
/// `hostname` is the pod's (None with hostNetwork, where the runtime keeps the host's).
pub fn resolve_process(
    container: &ContainerPlan,
    facts: &RuntimeFacts,
    hostname: Option<&str>,
    image: &ImageProcessDefaults,
) -> Result<Process, ProcessError> {
    let env = build_env(&container.env, facts);
    let args = resolve_args(
        container.command.as_deref(),
        container.args.as_deref(),
        &env,
        image,
    );
    if args.is_empty() {
        return Err(ProcessError::NoCommand {
            container: container.name.clone(),
        });
    }
    let cwd = container
        .working_dir
        .clone()
        .or_else(|| image.working_dir.clone().filter(|w| !w.is_empty()))
        .unwrap_or_else(|| "/".to_string());
    let sc = &container.security_context;
    let user = ProcessUser {
        uid: sc.run_as_user,
        gid: sc.run_as_group,
        image_user: if sc.run_as_user.is_some() {
            None
        } else {
            image.user.clone().filter(|u| !u.is_empty())
        },
    };
    Ok(Process {
        args,
        env: merge_env(hostname, &image.env, &env),
        cwd,
        user,
    })
}

#[cfg(test)]
mod tests;
