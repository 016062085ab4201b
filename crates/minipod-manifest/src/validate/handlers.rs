//! Probes and lifecycle hooks, and the handler action both carry (validation.go
//! validateProbe, validateLifecycle, validateHandler).

use k8s_openapi::api::core::v1::{Container, Lifecycle, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Findings, NONNEGATIVE};
use crate::error::FieldError;
use crate::names;
use crate::path::FieldPath;

pub(super) fn probes(c: &Container, grace: Option<i64>, path: &FieldPath, out: &mut Findings) {
    // validateLivenessProbe / validateReadinessProbe / validateStartupProbe, in that order.
    for (name, p) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        let Some(p) = p else { continue };
        let pp = path.child(name);
        probe(p, grace, &pp, out);
        if name == "readinessProbe" {
            if let Some(t) = p.termination_grace_period_seconds {
                out.err(FieldError::invalid(
                    pp.child("terminationGracePeriodSeconds"),
                    t,
                    "must not be set for readinessProbes",
                ));
            }
        } else if p.success_threshold.unwrap_or(0) != 1 {
            out.err(FieldError::invalid(
                pp.child("successThreshold"),
                p.success_threshold.unwrap_or(0),
                "must be 1",
            ));
        }
    }
}

/// validateProbe
fn probe(p: &Probe, grace: Option<i64>, path: &FieldPath, out: &mut Findings) {
    handler(
        Handler {
            exec: p.exec.as_ref().map(|e| e.command.as_deref().unwrap_or(&[])),
            http_get: p.http_get.as_ref(),
            tcp_socket: p.tcp_socket.as_ref().map(|t| &t.port),
            grpc: p.grpc.as_ref().map(|g| g.port),
            sleep: None,
        },
        grace,
        path,
        out,
    );
    for (name, v) in [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("periodSeconds", p.period_seconds),
        ("successThreshold", p.success_threshold),
        ("failureThreshold", p.failure_threshold),
    ] {
        if let Some(v) = v {
            if v < 0 {
                out.err(FieldError::invalid(path.child(name), v, NONNEGATIVE));
            }
        }
    }
    if let Some(t) = p.termination_grace_period_seconds {
        if t <= 0 {
            out.err(FieldError::invalid(
                path.child("terminationGracePeriodSeconds"),
                t,
                "must be greater than 0",
            ));
        }
    }
}

/// SetDefaults_PodSpec's terminationGracePeriodSeconds.
const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;

/// validation.go commonHandler.
struct Handler<'a> {
    exec: Option<&'a [String]>,
    http_get: Option<&'a k8s_openapi::api::core::v1::HTTPGetAction>,
    tcp_socket: Option<&'a IntOrString>,
    grpc: Option<i32>,
    sleep: Option<i64>,
}

/// validateHandler: exactly one action.
fn handler(h: Handler<'_>, grace: Option<i64>, path: &FieldPath, out: &mut Findings) {
    let mut n = 0;
    let mut one = |name: &str, out: &mut Findings| -> bool {
        if n > 0 {
            out.err(FieldError::forbidden(
                path.child(name),
                "may not specify more than 1 handler type",
            ));
            false
        } else {
            n += 1;
            true
        }
    };
    if let Some(cmd) = h.exec {
        if one("exec", out) && cmd.is_empty() {
            out.err(FieldError::required(
                path.child("exec").child("command"),
                "",
            ));
        }
    }
    if let Some(g) = h.http_get {
        if one("httpGet", out) {
            let gp = path.child("httpGet");
            if g.path.as_deref().unwrap_or("").is_empty() {
                out.err(FieldError::required(gp.child("path"), ""));
            }
            port_num_or_name(&g.port, &gp.child("port"), out);
            let scheme = g.scheme.as_deref().unwrap_or("");
            if scheme != "HTTP" && scheme != "HTTPS" {
                out.err(FieldError::not_supported(
                    gp.child("scheme"),
                    scheme,
                    &["HTTP", "HTTPS"],
                ));
            }
            for hdr in g.http_headers.iter().flatten() {
                let valid = !hdr.name.is_empty()
                    && hdr
                        .name
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c));
                if !valid {
                    out.err(FieldError::invalid(
                        gp.child("httpHeaders"),
                        &hdr.name,
                        "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')",
                    ));
                }
            }
        }
    }
    if let Some(port) = h.tcp_socket {
        if one("tcpSocket", out) {
            port_num_or_name(port, &path.child("tcpSocket").child("port"), out);
        }
    }
    if let Some(port) = h.grpc {
        if one("grpc", out) {
            port_num_or_name(
                &IntOrString::Int(port),
                &path.child("grpc").child("port"),
                out,
            );
        }
    }
    if let Some(secs) = h.sleep {
        if one("sleep", out) {
            // validateSleepAction (AllowPodLifecycleSleepActionZeroValue, GA in 1.34). The
            // API server validates after defaulting: an unset terminationGracePeriodSeconds
            // is 30 by then (SetDefaults_PodSpec), which bounds the sleep too.
            let g = grace.unwrap_or(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
            if secs < 0 || secs > g {
                out.err(FieldError::invalid(
                    path.child("sleep"),
                    secs,
                    format!(
                        "must be non-negative and less than terminationGracePeriodSeconds ({g})"
                    ),
                ));
            }
        }
    }
    if n == 0 {
        out.err(FieldError::required(path, "must specify a handler type"));
    }
}

/// ValidatePortNumOrName
fn port_num_or_name(port: &IntOrString, path: &FieldPath, out: &mut Findings) {
    match port {
        IntOrString::Int(p) => {
            if !(1..=65535).contains(p) {
                out.err(FieldError::invalid(
                    path,
                    *p,
                    "must be between 1 and 65535, inclusive",
                ));
            }
        }
        IntOrString::String(s) => out.invalid_msgs(path, s, names::port_name(s)),
    }
}

/// validateLifecycle
pub(super) fn lifecycle(l: &Lifecycle, grace: Option<i64>, path: &FieldPath, out: &mut Findings) {
    for (name, h) in [("postStart", &l.post_start), ("preStop", &l.pre_stop)] {
        if let Some(h) = h {
            lifecycle_handler(h, grace, &path.child(name), out);
        }
    }
    if let Some(sig) = l.stop_signal.as_deref() {
        if !names::is_known_signal(sig) {
            out.err(FieldError::not_supported(
                path.child("stopSignal"),
                sig,
                &[],
            ));
        }
    }
}

fn lifecycle_handler(
    h: &LifecycleHandler,
    grace: Option<i64>,
    path: &FieldPath,
    out: &mut Findings,
) {
    handler(
        Handler {
            exec: h.exec.as_ref().map(|e| e.command.as_deref().unwrap_or(&[])),
            http_get: h.http_get.as_ref(),
            tcp_socket: h.tcp_socket.as_ref().map(|t| &t.port),
            grpc: None,
            sleep: h.sleep.as_ref().map(|s| s.seconds),
        },
        grace,
        path,
        out,
    );
}
