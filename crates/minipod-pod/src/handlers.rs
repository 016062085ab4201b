//! What a lifecycle hook or probe handler asks the supervisor to do, resolved from the spec
//! (pkg/kubelet/lifecycle/handlers.go, pkg/probe/http/request.go, pkg/probe/util.go), and
//! how its outcome is judged. Pure: the supervisor performs the exec / HTTP / TCP / gRPC call.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, HTTPGetAction, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The Kubernetes minor version minipod's API types follow (User-Agent of probes and hooks).
pub const KUBE_VERSION: &str = "1.35";

/// A resolved handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerAction {
    /// Run `command` inside the container (no shell, no `$(VAR)` expansion; no timeout for
    /// hooks, `timeoutSeconds` for probes).
    Exec {
        command: Vec<String>,
    },
    HttpGet(HttpGetRequest),
    /// Probes only: connect, then close.
    TcpSocket {
        host: String,
        port: u16,
    },
    /// Probes only: grpc.health.v1 Check on the pod IP.
    Grpc {
        host: String,
        port: u16,
        service: String,
    },
    /// Hooks only: wait, in the supervisor (not in the container).
    Sleep(Duration),
}

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

impl HttpGetRequest {
    /// `scheme://host:port/path` (IPv6 hosts bracketed, as net.JoinHostPort).
    pub fn url(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let slash = if self.path.starts_with('/') || self.path.is_empty() {
            ""
        } else {
            "/"
        };
        format!("{}://{host}:{}{slash}{}", self.scheme, self.port, self.path)
    }

    /// The `Host` header the spec overrides, if any.
    pub fn host_header(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a handler cannot be run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid handler: no action set")]
    NoAction,
    #[error("invalid handler: tcpSocket is not supported as a lifecycle hook")]
    TcpSocketHook,
    #[error("couldn't find port: {port} in container {container:?}")]
    PortNotFound { port: String, container: String },
    #[error("invalid port number: {0}")]
    InvalidPort(i64),
    #[error("exec handler without a command")]
    NoCommand,
    #[error("failed to find networking container: the pod has no IP")]
    NoPodIp,
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

/// pkg/probe/util.go ResolveContainerPort: a number, or the name of a container port, or a
/// number written as a string; 1..=65535.
pub fn resolve_container_port(port: &IntOrString, c: &Container) -> Result<u16, HandlerError> {
    let n: i64 = match port {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(name) => {
            let by_name = c
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| i64::from(p.container_port));
            match by_name.or_else(|| name.parse::<i64>().ok()) {
                Some(n) => n,
                None => {
                    return Err(HandlerError::PortNotFound {
                        port: name.clone(),
                        container: c.name.clone(),
                    })
                }
            }
        }
    };
    if (1..65536).contains(&n) {
        Ok(n as u16)
    } else {
        Err(HandlerError::InvalidPort(n))
    }
}

fn http_request(
    h: &HTTPGetAction,
    c: &Container,
    pod_ip: Option<&str>,
    purpose: Purpose,
) -> Result<HttpGetRequest, HandlerError> {
    let scheme = h
        .scheme
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("HTTP")
        .to_ascii_lowercase();
    let host = match h.host.as_deref().filter(|s| !s.is_empty()) {
        Some(host) => host.to_string(),
        None => pod_ip.ok_or(HandlerError::NoPodIp)?.to_string(),
    };
    let port = resolve_container_port(&h.port, c)?;
    let mut headers: Vec<(String, String)> = h
        .http_headers
        .iter()
        .flatten()
        .map(|hh| (hh.name.clone(), hh.value.clone()))
        .collect();
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
    Ok(HttpGetRequest {
        scheme,
        host,
        port,
        path: h.path.clone().unwrap_or_else(|| "/".into()),
        headers,
    })
}

/// A lifecycle hook (postStart / preStop). handlers.go Run: exec, httpGet, sleep; anything
/// else is an invalid handler at run time (tcpSocket passes validation but fails here).
pub fn lifecycle_action(
    handler: &LifecycleHandler,
    c: &Container,
    pod_ip: Option<&str>,
) -> Result<HandlerAction, HandlerError> {
    if let Some(e) = &handler.exec {
        let command = e.command.clone().unwrap_or_default();
        if command.is_empty() {
            return Err(HandlerError::NoCommand);
        }
        return Ok(HandlerAction::Exec { command });
    }
    if let Some(h) = &handler.http_get {
        return http_request(h, c, pod_ip, Purpose::Lifecycle).map(HandlerAction::HttpGet);
    }
    if let Some(s) = &handler.sleep {
        return Ok(HandlerAction::Sleep(Duration::from_secs(
            s.seconds.max(0) as u64
        )));
    }
    if handler.tcp_socket.is_some() {
        return Err(HandlerError::TcpSocketHook);
    }
    Err(HandlerError::NoAction)
}

/// A probe's action (prober.go runProbe).
pub fn probe_action(
    probe: &Probe,
    c: &Container,
    pod_ip: Option<&str>,
) -> Result<HandlerAction, HandlerError> {
    if let Some(e) = &probe.exec {
        let command = e.command.clone().unwrap_or_default();
        if command.is_empty() {
            return Err(HandlerError::NoCommand);
        }
        return Ok(HandlerAction::Exec { command });
    }
    if let Some(h) = &probe.http_get {
        return http_request(h, c, pod_ip, Purpose::Probe).map(HandlerAction::HttpGet);
    }
    if let Some(t) = &probe.tcp_socket {
        let host = match t.host.as_deref().filter(|s| !s.is_empty()) {
            Some(h) => h.to_string(),
            None => pod_ip.ok_or(HandlerError::NoPodIp)?.to_string(),
        };
        return Ok(HandlerAction::TcpSocket {
            host,
            port: resolve_container_port(&t.port, c)?,
        });
    }
    if let Some(g) = &probe.grpc {
        let port = i64::from(g.port);
        if !(1..65536).contains(&port) {
            return Err(HandlerError::InvalidPort(port));
        }
        return Ok(HandlerAction::Grpc {
            host: pod_ip.ok_or(HandlerError::NoPodIp)?.to_string(),
            port: port as u16,
            service: g.service.clone().unwrap_or_default(),
        });
    }
    Err(HandlerError::NoAction)
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
    action: &HandlerAction,
    container: &str,
    pod: &str,
    error: &str,
    output: &str,
) -> String {
    match action {
        HandlerAction::Exec { command } => format!(
            "Exec lifecycle hook ({command:?}) for Container {container:?} in Pod {pod:?} failed - error: {error}, message: {output:?}"
        ),
        HandlerAction::HttpGet(r) => format!(
            "HTTP lifecycle hook ({}) for Container {container:?} in Pod {pod:?} failed - error: {error}",
            r.path
        ),
        HandlerAction::Sleep(d) => format!(
            "Sleep lifecycle hook ({}) for Container {container:?} in Pod {pod:?} failed - error: {error}",
            d.as_secs()
        ),
        HandlerAction::TcpSocket { .. } | HandlerAction::Grpc { .. } => {
            format!("Cannot run handler: {error}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container(v: serde_json::Value) -> Container {
        serde_json::from_value(v).unwrap()
    }

    fn app() -> Container {
        container(json!({"name": "app", "image": "busybox",
                         "ports": [{"name": "http", "containerPort": 8080}]}))
    }

    fn hook(v: serde_json::Value) -> LifecycleHandler {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn ports() {
        let c = app();
        let cases: Vec<(IntOrString, Result<u16, HandlerError>)> = vec![
            (IntOrString::Int(80), Ok(80)),
            (IntOrString::String("http".into()), Ok(8080)),
            (IntOrString::String("9090".into()), Ok(9090)),
            (
                IntOrString::String("nope".into()),
                Err(HandlerError::PortNotFound {
                    port: "nope".into(),
                    container: "app".into(),
                }),
            ),
            (IntOrString::Int(0), Err(HandlerError::InvalidPort(0))),
            (
                IntOrString::Int(70000),
                Err(HandlerError::InvalidPort(70000)),
            ),
        ];
        for (port, want) in cases {
            assert_eq!(resolve_container_port(&port, &c), want, "{port:?}");
        }
    }

    #[test]
    fn http_hook_request() {
        let h = hook(json!({"httpGet": {"path": "/start", "port": "http"}}));
        let Ok(HandlerAction::HttpGet(r)) = lifecycle_action(&h, &app(), Some("10.88.0.5")) else {
            panic!("not http");
        };
        assert_eq!(r.url(), "http://10.88.0.5:8080/start");
        assert_eq!(
            r.headers,
            vec![
                ("User-Agent".to_string(), "kube-lifecycle/1.35".to_string()),
                ("Accept".to_string(), "*/*".to_string())
            ]
        );
        assert_eq!(
            lifecycle_action(&h, &app(), None),
            Err(HandlerError::NoPodIp)
        );
    }

    #[test]
    fn http_probe_request_with_host_scheme_and_headers() {
        let p: Probe = serde_json::from_value(json!({"httpGet": {
            "host": "::1", "scheme": "HTTPS", "path": "healthz", "port": 8443,
            "httpHeaders": [{"name": "Host", "value": "example.com"}, {"name": "Accept", "value": ""}]
        }}))
        .unwrap();
        let Ok(HandlerAction::HttpGet(r)) = probe_action(&p, &app(), None) else {
            panic!("not http");
        };
        assert_eq!(r.url(), "https://[::1]:8443/healthz");
        assert_eq!(r.host_header(), Some("example.com"));
        assert!(!r.headers.iter().any(|(k, _)| k == "Accept"));
        assert!(r
            .headers
            .contains(&("User-Agent".into(), "kube-probe/1.35".into())));
    }

    #[test]
    fn other_actions() {
        let exec = hook(json!({"exec": {"command": ["sh", "-c", "echo hi"]}}));
        assert_eq!(
            lifecycle_action(&exec, &app(), None),
            Ok(HandlerAction::Exec {
                command: vec!["sh".into(), "-c".into(), "echo hi".into()]
            })
        );
        let sleep = hook(json!({"sleep": {"seconds": 5}}));
        assert_eq!(
            lifecycle_action(&sleep, &app(), None),
            Ok(HandlerAction::Sleep(Duration::from_secs(5)))
        );
        let tcp = hook(json!({"tcpSocket": {"port": 80}}));
        assert_eq!(
            lifecycle_action(&tcp, &app(), Some("10.0.0.1")),
            Err(HandlerError::TcpSocketHook)
        );
        assert_eq!(
            lifecycle_action(&hook(json!({})), &app(), None),
            Err(HandlerError::NoAction)
        );

        let p: Probe = serde_json::from_value(json!({"tcpSocket": {"port": "http"}})).unwrap();
        assert_eq!(
            probe_action(&p, &app(), Some("10.0.0.1")),
            Ok(HandlerAction::TcpSocket {
                host: "10.0.0.1".into(),
                port: 8080
            })
        );
        let p: Probe = serde_json::from_value(json!({"grpc": {"port": 9000}})).unwrap();
        assert_eq!(
            probe_action(&p, &app(), Some("10.0.0.1")),
            Ok(HandlerAction::Grpc {
                host: "10.0.0.1".into(),
                port: 9000,
                service: String::new()
            })
        );
    }

    #[test]
    fn verdicts_and_messages() {
        assert!(http_probe_success(200));
        assert!(http_probe_success(302));
        assert!(!http_probe_success(404));
        assert!(!http_probe_success(199));
        assert!(http_hook_success(true));
        let exec = HandlerAction::Exec {
            command: vec!["false".into()],
        };
        assert_eq!(
            hook_failure_message(&exec, "app", "pod_default(uid1)", "command 'false' exited with 1", ""),
            "Exec lifecycle hook ([\"false\"]) for Container \"app\" in Pod \"pod_default(uid1)\" failed - error: command 'false' exited with 1, message: \"\""
        );
    }
}
