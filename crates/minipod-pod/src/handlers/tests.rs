use super::*;
use crate::testutil;
use minipod_manifest::PodPlan;
use serde_json::{json, Value};

/// The plan of a pod whose one container `app` has port `http` (8080) and `extra` fields.
fn app(extra: Value) -> PodPlan {
    let mut c = json!({"name": "app", "image": "busybox",
                       "ports": [{"name": "http", "containerPort": 8080}]});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    testutil::pod(json!({"containers": [c]}))
}

fn post_start(hook: Value) -> Handler {
    app(json!({"lifecycle": {"postStart": hook}})).containers[0]
        .post_start
        .clone()
        .unwrap()
}

fn readiness(probe: Value) -> Handler {
    app(json!({"readinessProbe": probe})).containers[0]
        .readiness_probe
        .clone()
        .unwrap()
        .handler
}

#[test]
fn ports() {
    // Named ports are resolved when the plan is built (pkg/probe/util.go
    // ResolveContainerPort); a port that cannot be resolved refuses the pod, and so does a
    // number written as a string (validation: a port name has a letter).
    let ok: Vec<(Value, u16)> = vec![(json!(80), 80), (json!("http"), 8080)];
    for (port, want) in ok {
        assert_eq!(
            readiness(json!({"tcpSocket": {"port": port}})),
            Handler::TcpSocket {
                host: None,
                port: want
            },
            "{port}"
        );
    }
    for port in [json!("nope"), json!("9090"), json!(0), json!(70000)] {
        let c = json!({"name": "app", "image": "busybox",
                       "ports": [{"name": "http", "containerPort": 8080}],
                       "readinessProbe": {"tcpSocket": {"port": port}}});
        let input = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod"},
                           "spec": {"containers": [c]}});
        let refused = minipod_manifest::load(
            &[minipod_manifest::Input::new("pod.json", input.to_string())],
            &minipod_manifest::LoadOptions::default(),
        );
        assert!(refused.is_err(), "{port}");
    }
}

#[test]
fn http_hook_request() {
    let h = post_start(json!({"httpGet": {"path": "/start", "port": "http"}}));
    let r = http_get_request(&h, "10.88.0.5", Purpose::Lifecycle).expect("http");
    assert_eq!(
        (r.scheme.as_str(), r.host.as_str(), r.port, r.path.as_str()),
        ("http", "10.88.0.5", 8080, "/start")
    );
    assert_eq!(
        r.headers,
        vec![
            ("User-Agent".to_string(), "kube-lifecycle/1.35".to_string()),
            ("Accept".to_string(), "*/*".to_string())
        ]
    );
}

#[test]
fn http_probe_request_with_host_scheme_and_headers() {
    let p = readiness(json!({"httpGet": {
        "host": "::1", "scheme": "HTTPS", "path": "healthz", "port": 8443,
        "httpHeaders": [{"name": "Host", "value": "example.com"}, {"name": "Accept", "value": ""}]
    }}));
    let r = http_get_request(&p, "10.0.0.1", Purpose::Probe).expect("http");
    assert_eq!(
        (r.scheme.as_str(), r.host.as_str(), r.port, r.path.as_str()),
        ("https", "::1", 8443, "healthz")
    );
    assert!(r.headers.contains(&("Host".into(), "example.com".into())));
    assert!(!r.headers.iter().any(|(k, _)| k == "Accept"));
    assert!(r
        .headers
        .contains(&("User-Agent".into(), "kube-probe/1.35".into())));
}

#[test]
fn other_actions() {
    let exec = post_start(json!({"exec": {"command": ["sh", "-c", "echo hi"]}}));
    assert_eq!(
        exec,
        Handler::Exec {
            command: vec!["sh".into(), "-c".into(), "echo hi".into()]
        }
    );
    assert_eq!(check_lifecycle(&exec), Ok(()));
    let sleep = post_start(json!({"sleep": {"seconds": 5}}));
    assert_eq!(sleep_duration(&sleep), Some(Duration::from_secs(5)));
    let tcp = post_start(json!({"tcpSocket": {"port": 80}}));
    assert_eq!(check_lifecycle(&tcp), Err(HandlerError::TcpSocketHook));

    let p = readiness(json!({"tcpSocket": {"port": "http"}}));
    assert_eq!(
        tcp_socket_target(&p, "10.0.0.1"),
        Some(("10.0.0.1".into(), 8080))
    );
    let p = readiness(json!({"grpc": {"port": 9000}}));
    assert_eq!(
        p,
        Handler::Grpc {
            port: 9000,
            service: None
        }
    );
}

#[test]
fn verdicts_and_messages() {
    assert!(http_probe_success(200));
    assert!(http_probe_success(302));
    assert!(!http_probe_success(404));
    assert!(!http_probe_success(199));
    assert!(http_hook_success(true));
    let exec = Handler::Exec {
        command: vec!["false".into()],
    };
    assert_eq!(
        hook_failure_message(&exec, "app", "pod_default(uid1)", "command 'false' exited with 1", ""),
        "Exec lifecycle hook ([\"false\"]) for Container \"app\" in Pod \"pod_default(uid1)\" failed - error: command 'false' exited with 1, message: \"\""
    );
}
