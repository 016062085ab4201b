//! `minipod describe pod`: kubectl's page, line for line.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, ObjectFieldSelector, Probe, ResourceRequirements, SecretKeySelector, Toleration,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::common::{stderr_of_exit, TestRoot};
use crate::get::fixture::*;

/// Go's time.RFC1123Z in the local zone, as kubectl prints times.
fn rfc1123z(t: &Option<Time>) -> String {
    let t = t.as_ref().unwrap().0;
    t.to_zoned(jiff::tz::TimeZone::system())
        .strftime("%a, %d %b %Y %H:%M:%S %z")
        .to_string()
}

#[test]
fn describe_pod_matches_kubectls_layout() {
    let root = TestRoot::new();
    let mut p = pod("web", &["app"]);
    p.metadata.labels = Some(BTreeMap::from([
        ("app".to_owned(), "web".to_owned()),
        ("tier".to_owned(), "front".to_owned()),
    ]));
    p.metadata.annotations = Some(BTreeMap::from([("note".to_owned(), "hello".to_owned())]));
    let spec = p.spec.as_mut().unwrap();
    spec.priority = Some(0);
    spec.service_account_name = Some("default".into());
    spec.init_containers = Some(vec![Container {
        name: "setup".into(),
        image: Some("busybox:1.36".into()),
        command: Some(vec!["sh".into(), "-c".into(), "echo init".into()]),
        ..Default::default()
    }]);
    let app = &mut spec.containers[0];
    app.image = Some("nginx:1.25".into());
    app.args = Some(vec!["--port".into(), "80".into()]);
    app.ports = Some(vec![ContainerPort {
        container_port: 80,
        name: Some("http".into()),
        protocol: Some("TCP".into()),
        ..Default::default()
    }]);
    app.env = Some(vec![
        EnvVar {
            name: "A".into(),
            value: Some("1".into()),
            ..Default::default()
        },
        EnvVar {
            name: "POD_NAME".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: Some("v1".into()),
                    field_path: "metadata.name".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        EnvVar {
            name: "PASS".into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    key: "pw".into(),
                    name: "creds".into(),
                    optional: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]);
    app.resources = Some(ResourceRequirements {
        limits: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity("500m".into())),
            ("memory".to_owned(), Quantity("128Mi".into())),
        ])),
        requests: Some(BTreeMap::from([(
            "cpu".to_owned(),
            Quantity("250m".into()),
        )])),
        ..Default::default()
    });
    app.readiness_probe = Some(Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".into()),
            port: IntOrString::Int(80),
            ..Default::default()
        }),
        ..Default::default()
    });
    app.volume_mounts = Some(vec![
        VolumeMount {
            name: "cfg".into(),
            mount_path: "/etc/cfg".into(),
            read_only: Some(true),
            ..Default::default()
        },
        VolumeMount {
            name: "data".into(),
            mount_path: "/data".into(),
            ..Default::default()
        },
    ]);
    spec.volumes = Some(vec![
        Volume {
            name: "data".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        },
        Volume {
            name: "cfg".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: "app-config".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]);
    spec.tolerations = Some(vec![Toleration {
        key: Some("node.kubernetes.io/not-ready".into()),
        operator: Some("Exists".into()),
        effect: Some("NoExecute".into()),
        toleration_seconds: Some(300),
        ..Default::default()
    }]);
    create(&root, &p);

    let mut status = running_status(&["app"], 1);
    status.qos_class = None;
    let mut init = terminated("setup", 0, 0);
    init.container_id = Some("minipod://setup".into());
    init.image_id = "sha256:abc".into();
    init.ready = true;
    status.init_container_statuses = Some(vec![init.clone()]);
    set_status(&root, &p, &status);

    let mut backoff = event(
        &p,
        "Warning",
        "BackOff",
        "Back-off restarting failed container",
        600,
    );
    backoff.first_timestamp = Some(ago(1200));
    backoff.count = Some(3);
    // Stored out of order: describe sorts by last timestamp.
    add_event(&root, &p, &backoff);
    add_event(
        &root,
        &p,
        &event(
            &p,
            "Normal",
            "Scheduled",
            "Successfully assigned default/web to minipod",
            2400,
        ),
    );
    add_event(
        &root,
        &p,
        &event(&p, "Normal", "Started", "Started container app", 1800),
    );

    let out = root.minipod(&["describe", "pod", "web"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let init_state = init.state.as_ref().unwrap().terminated.as_ref().unwrap();
    let app_status = &status.container_statuses.as_ref().unwrap()[0];
    let app_running = app_status.state.as_ref().unwrap().running.as_ref().unwrap();
    let app_last = app_status
        .last_state
        .as_ref()
        .unwrap()
        .terminated
        .as_ref()
        .unwrap();
    let expected = format!(
        "\
Name:             web
Namespace:        default
Priority:         0
Service Account:  default
Node:             <none>
Start Time:       {start}
Labels:           app=web
                  tier=front
Annotations:      note: hello
Status:           Running
IP:               10.88.0.7
IPs:
  IP:  10.88.0.7
Init Containers:
  setup:
    Container ID:  minipod://setup
    Image:         busybox:1.36
    Image ID:      sha256:abc
    Port:          <none>
    Host Port:     <none>
    Command:
      sh
      -c
      echo init
    State:          Terminated
      Reason:       Completed
      Exit Code:    0
      Started:      {init_started}
      Finished:     {init_finished}
    Ready:          True
    Restart Count:  0
    Environment:    <none>
    Mounts:         <none>
Containers:
  app:
    Container ID:  minipod://app-1
    Image:         nginx:1.25
    Image ID:      sha256:abc
    Port:          80/TCP (http)
    Host Port:     0/TCP (http)
    Args:
      --port
      80
    State:          Running
      Started:      {app_started}
    Last State:     Terminated
      Reason:       Error
      Exit Code:    1
      Started:      {last_started}
      Finished:     {last_finished}
    Ready:          True
    Restart Count:  1
    Limits:
      cpu:     500m
      memory:  128Mi
    Requests:
      cpu:      250m
    Readiness:  http-get http://:80/healthz delay=0s timeout=1s period=10s successThreshold=1 failureThreshold=3
    Environment:
      A:         1
      POD_NAME:  web (v1:metadata.name)
      PASS:      <set to the key 'pw' in secret 'creds'>  Optional: false
    Mounts:
      /data from data (rw)
      /etc/cfg from cfg (ro)
Conditions:
  Type              Status
  Initialized       True 
  Ready             True 
  ContainersReady   True 
  PodScheduled      True 
Volumes:
  data:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     
    SizeLimit:  <unset>
  cfg:
    Type:        ConfigMap (a volume populated by a ConfigMap)
    Name:        app-config
    Optional:    false
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
Events:
  Type     Reason     Age                From     Message
  ----     ------     ----               ----     -------
  Normal   Scheduled  40m                kubelet  Successfully assigned default/web to minipod
  Normal   Started    30m                kubelet  Started container app
  Warning  BackOff    10m (x3 over 20m)  kubelet  Back-off restarting failed container
",
        start = rfc1123z(&status.start_time),
        init_started = rfc1123z(&init_state.started_at),
        init_finished = rfc1123z(&init_state.finished_at),
        app_started = rfc1123z(&app_running.started_at),
        last_started = rfc1123z(&app_last.started_at),
        last_finished = rfc1123z(&app_last.finished_at),
    );
    let got = stdout(&out);
    for (i, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
        assert_eq!(g, e, "line {}", i + 1);
    }
    assert_eq!(got, expected);
}

#[test]
fn describe_without_status_or_events() {
    let root = TestRoot::new();
    create(&root, &pod("bare", &["c"]));
    let out = root.minipod(&["describe", "pod/bare"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("\nStatus:       \n"), "{text}");
    assert!(text.contains("\nIPs:          <none>\n"), "{text}");
    assert!(
        text.contains("\n  c:\n    Image:        busybox:1.36\n"),
        "{text}"
    );
    assert!(
        text.ends_with("Tolerations:      <none>\nEvents:           <none>\n"),
        "{text}"
    );
}

#[test]
fn describe_every_pod_of_the_namespace() {
    let root = TestRoot::new();
    two_pods(&root);
    let out = root.minipod(&["describe", "pods"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    // Pages are separated by a blank line, in name order.
    let pages: Vec<&str> = text.split("\n\n\nName:").collect();
    assert_eq!(pages.len(), 2, "{text}");
    assert!(pages[0].starts_with("Name:         db\n"), "{text}");
    assert!(pages[1].starts_with("         web\n"), "{text}");
    let out = root.minipod(&["describe", "pods", "-l", "app=web"]);
    assert_eq!(stdout(&out).matches("\nNamespace:").count(), 1);

    let empty = TestRoot::new();
    let out = empty.minipod(&["describe", "pods"]);
    assert_eq!(
        stderr_of_exit(&out, 0),
        "No resources found in default namespace.\n"
    );
}

#[test]
fn describe_missing_pod_is_not_found() {
    let root = TestRoot::new();
    let out = root.minipod(&["describe", "pod", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): pods \"nope\" not found\n"
    );
    let out = root.minipod(&["describe", "service", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn describe_terminating_and_waiting_states() {
    let root = TestRoot::new();
    let p = pod("stuck", &["app"]);
    create(&root, &p);
    let status = k8s_openapi::api::core::v1::PodStatus {
        phase: Some("Running".into()),
        container_statuses: Some(vec![waiting("app", "CrashLoopBackOff")]),
        ..Default::default()
    };
    store(&root)
        .write_status(
            "uid-stuck",
            &status,
            &minipod_pod::store::StatusMeta {
                deletion_timestamp: Some(ago(-30)),
                deletion_grace_period_seconds: Some(30),
            },
        )
        .unwrap();
    let out = root.minipod(&["describe", "pod", "stuck"]);
    let text = stdout(&out);
    assert!(text.contains("\nStatus:                    Terminating (lasts <invalid>)\nTermination Grace Period:  30s\n"), "{text}");
    assert!(text.contains("\n    State:          Waiting\n      Reason:       CrashLoopBackOff\n    Ready:          False\n"), "{text}");
}
