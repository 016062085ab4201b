//! How a hook or probe handler of the plan ([`Handler`]: built once with the pod's plan,
//! named ports resolved) goes on the wire, and how its outcome is judged
//! (pkg/kubelet/lifecycle/handlers.go, pkg/probe/http/request.go). Pure: the supervisor and
//! its backend perform the exec / HTTP / TCP call.

use std::time::Duration;

use minipod_manifest::{Handler, Scheme};

/// The Kubernetes minor version minipod's API types follow (User-Agent of probes and hooks).
pub const KUBE_VERSION: &str = "1.35";

/// An HTTP GET as the kubelet sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpGetRequest {
    /// `http` or `https` (lower-cased).
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// As given (default `/` from API defaulting).
    pub path: String,
    /// Spec headers first, then the kubelet's `User-Agent` and `Accept: */*` unless the spec
    /// set them (an empty `Accept` removes it).
    pub headers: Vec<(String, String)>,
}

/// Why a handler of the plan cannot be run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// handlers.go Run: tcpSocket passes validation but is no lifecycle action.
    #[error("invalid handler: tcpSocket is not supported as a lifecycle hook")]
    TcpSocketHook,
}

/// Which of the kubelet's user agents to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Probe,
    Lifecycle,
}

/// `kube-probe/1.35` / `kube-lifecycle/1.35`.
pub fn user_agent(purpose: Purpose) -> String {
    match purpose {
        Purpose::Probe => format!("kube-probe/{KUBE_VERSION}"),
        Purpose::Lifecycle => format!("kube-lifecycle/{KUBE_VERSION}"),
    }
}

/// The HTTP GET of an httpGet handler (pkg/probe/http/request.go): `default_host` (the pod
/// IP) when the handler names no host, the spec's headers, then the kubelet's `User-Agent`
/// and `Accept: */*` unless the spec set them (an empty `Accept` removes it). None for the
/// other actions.
pub fn http_get_request(
    handler: &Handler,
    default_host: &str,
    purpose: Purpose,
) -> Option<HttpGetRequest> {
    let Handler::HttpGet {
        host,
        port,
        path,
        scheme,
        headers,
    } = handler
    else {
        return None;
    };
    let mut headers = headers.clone();
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    if !has(&headers, "User-Agent") {
        headers.push(("User-Agent".into(), user_agent(purpose)));
    }
    if !has(&headers, "Accept") {
        headers.push(("Accept".into(), "*/*".into()));
    } else {
        headers.retain(|(k, v)| !(k.eq_ignore_ascii_case("Accept") && v.is_empty()));
    }
    Some(HttpGetRequest {
        scheme: match scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
        .to_string(),
        host: host.clone().unwrap_or_else(|| default_host.to_string()),
        port: *port,
        path: path.clone(),
        headers,
    })
}

/// Where a tcpSocket handler connects: its host, else `default_host` (the pod IP).
pub fn tcp_socket_target(handler: &Handler, default_host: &str) -> Option<(String, u16)> {
    match handler {
        Handler::TcpSocket { host, port } => Some((
            host.clone().unwrap_or_else(|| default_host.to_string()),
            *port,
        )),
        _ => None,
    }
}

/// A lifecycle hook (postStart / preStop). handlers.go Run: exec, httpGet and sleep; a
/// tcpSocket hook passes validation but fails here.
pub fn check_lifecycle(handler: &Handler) -> Result<(), HandlerError> {
    match handler {
        Handler::TcpSocket { .. } => Err(HandlerError::TcpSocketHook),
        _ => Ok(()),
    }
}

/// How long a `sleep` hook waits.
pub fn sleep_duration(handler: &Handler) -> Option<Duration> {
    match handler {
        Handler::Sleep { seconds } => Some(Duration::from_secs((*seconds).max(0) as u64)),
        _ => None,
    }
}

/// HTTP probe verdict by status code (pkg/probe/http/http.go: 200 ≤ code < 400).
pub fn http_probe_success(status: u16) -> bool {
    (200..400).contains(&status)
}

/// An HTTP lifecycle hook fails only when the request fails; any response, whatever its
/// status code, is a success (handlers.go runHTTPHandler returns the transport error only).
pub fn http_hook_success(response_received: bool) -> bool {
    response_received
}

/// The kubelet's message for a failed hook (handlers.go Run), for logs and the container's
/// `waiting.message` after `PostStartHookError`.
pub fn hook_failure_message(
    handler: &Handler,
    container: &str,
    pod: &str,
    error: &str,
    output: &str,
) -> String {
    match handler {
        Handler::Exec { command } => format!(
            "Exec lifecycle hook ({command:?}) for Container {container:?} in Pod {pod:?} failed - error: {error}, message: {output:?}"
        ),
        Handler::HttpGet { path, .. } => format!(
            "HTTP lifecycle hook ({path}) for Container {container:?} in Pod {pod:?} failed - error: {error}"
        ),
        Handler::Sleep { seconds } => format!(
            "Sleep lifecycle hook ({}) for Container {container:?} in Pod {pod:?} failed - error: {error}",
            (*seconds).max(0)
        ),
        Handler::TcpSocket { .. } | Handler::Grpc { .. } => {
            format!("Cannot run handler: {error}")
        }
    }
}

#[cfg(test)]
mod tests;
