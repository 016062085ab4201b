use crate::load::tests::run;

fn pod(spec: &str) -> k8s_openapi::api::core::v1::Pod {
    let m = run(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec: {spec}\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    m.pods[0].pod.clone()
}

/// Checks the fields a spec gets by default or keeps when set: `want` holds, separated by
/// spaces, restartPolicy, terminationGracePeriodSeconds, dnsPolicy, serviceAccountName, and
/// the first container's imagePullPolicy and terminationMessagePolicy.
fn check_spec(s: &k8s_openapi::api::core::v1::PodSpec, want: &str) {
    let c = &s.containers[0];
    let got = [
        s.restart_policy.clone(),
        s.termination_grace_period_seconds.map(|g| g.to_string()),
        s.dns_policy.clone(),
        s.service_account_name.clone(),
        c.image_pull_policy.clone(),
        c.termination_message_policy.clone(),
    ];
    let want: Vec<Option<String>> = want.split(' ').map(|w| Some(w.to_string())).collect();
    assert_eq!(got.to_vec(), want);
}

#[test]
fn pod_spec_defaults() {
    let p = pod("{containers: [{name: c, image: x:1}]}");
    let s = p.spec.unwrap();
    check_spec(&s, "Always 30 ClusterFirst default IfNotPresent File");
    assert_eq!(s.scheduler_name.as_deref(), Some("default-scheduler"));
    assert_eq!(s.enable_service_links, Some(true));
    assert!(s.security_context.is_some());
    assert_eq!(s.node_name.as_deref(), Some("localhost"));
    assert_eq!(
        s.containers[0].termination_message_path.as_deref(),
        Some("/dev/termination-log")
    );
    assert_eq!(p.metadata.namespace.as_deref(), Some("default"));
    assert!(p.metadata.uid.is_some());
}

#[test]
fn explicit_values_are_kept() {
    let p = pod("{restartPolicy: Never, terminationGracePeriodSeconds: 5, dnsPolicy: Default, serviceAccountName: sa, containers: [{name: c, image: x, imagePullPolicy: Always, terminationMessagePolicy: FallbackToLogsOnError}]}");
    let s = p.spec.unwrap();
    check_spec(&s, "Never 5 Default sa Always FallbackToLogsOnError");
    assert_eq!(s.service_account.as_deref(), Some("sa"));
}

#[test]
fn latest_images_default_to_if_not_present() {
    // DEVIATION (docs/manifests.md): a cluster would pick Always.
    for image in ["busybox", "busybox:latest", "busybox:1.36"] {
        let p = pod(&format!("{{containers: [{{name: c, image: '{image}'}}]}}"));
        assert_eq!(
            p.spec.unwrap().containers[0].image_pull_policy.as_deref(),
            Some("IfNotPresent"),
            "{image}"
        );
    }
}

#[test]
fn probe_and_handler_defaults() {
    let p = pod("{containers: [{name: c, image: x, livenessProbe: {httpGet: {port: 80}}, readinessProbe: {exec: {command: [a]}, periodSeconds: 3}, lifecycle: {preStop: {httpGet: {port: 80}}}}]}");
    let c = &p.spec.unwrap().containers[0];
    let l = c.liveness_probe.as_ref().unwrap();
    assert_eq!(
        (
            l.timeout_seconds,
            l.period_seconds,
            l.success_threshold,
            l.failure_threshold
        ),
        (Some(1), Some(10), Some(1), Some(3))
    );
    let g = l.http_get.as_ref().unwrap();
    assert_eq!(
        (g.path.as_deref(), g.scheme.as_deref()),
        (Some("/"), Some("HTTP"))
    );
    assert_eq!(c.readiness_probe.as_ref().unwrap().period_seconds, Some(3));
    let h = c
        .lifecycle
        .as_ref()
        .unwrap()
        .pre_stop
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap();
    assert_eq!(
        (h.path.as_deref(), h.scheme.as_deref()),
        (Some("/"), Some("HTTP"))
    );
}

#[test]
fn port_and_env_defaults() {
    let p = pod("{containers: [{name: c, image: x, ports: [{containerPort: 80}], env: [{name: N, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]}]}");
    let c = &p.spec.unwrap().containers[0];
    assert_eq!(
        c.ports.as_ref().unwrap()[0].protocol.as_deref(),
        Some("TCP")
    );
    assert_eq!(
        c.env.as_ref().unwrap()[0]
            .value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap()
            .api_version
            .as_deref(),
        Some("v1")
    );
}

#[test]
fn host_network_copies_container_ports_to_host_ports() {
    let p = pod("{hostNetwork: true, containers: [{name: c, image: x, ports: [{containerPort: 8080}]}], initContainers: [{name: i, image: x, ports: [{containerPort: 9090}]}]}");
    let s = p.spec.unwrap();
    assert_eq!(
        s.containers[0].ports.as_ref().unwrap()[0].host_port,
        Some(8080)
    );
    assert_eq!(
        s.init_containers.as_ref().unwrap()[0]
            .ports
            .as_ref()
            .unwrap()[0]
            .host_port,
        Some(9090)
    );
}

#[test]
fn requests_default_to_limits() {
    let p = pod("{containers: [{name: c, image: x, resources: {limits: {cpu: 500m, memory: 64Mi}, requests: {cpu: 100m}}}]}");
    let r = p.spec.unwrap().containers[0].resources.clone().unwrap();
    let req = r.requests.unwrap();
    assert_eq!(req["cpu"].0, "100m");
    assert_eq!(req["memory"].0, "64Mi");
}

#[test]
fn volume_defaults() {
    let p = pod("{containers: [{name: c, image: x}], volumes: [{name: a}, {name: b, secret: {secretName: s, optional: true}}, {name: c, configMap: {name: m, optional: true, defaultMode: 256}}, {name: d, hostPath: {path: /x}}, {name: e, downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name}}]}}, {name: f, projected: {sources: []}}]}");
    let v = p.spec.unwrap().volumes.unwrap();
    assert!(v[0].empty_dir.is_some());
    assert_eq!(v[1].secret.as_ref().unwrap().default_mode, Some(0o644));
    assert_eq!(v[2].config_map.as_ref().unwrap().default_mode, Some(256));
    assert_eq!(v[3].host_path.as_ref().unwrap().type_.as_deref(), Some(""));
    let d = v[4].downward_api.as_ref().unwrap();
    assert_eq!(d.default_mode, Some(0o644));
    assert_eq!(
        d.items.as_ref().unwrap()[0]
            .field_ref
            .as_ref()
            .unwrap()
            .api_version
            .as_deref(),
        Some("v1")
    );
    assert_eq!(v[5].projected.as_ref().unwrap().default_mode, Some(0o644));
}

#[test]
fn secret_string_data_is_folded_into_data() {
    let m = run("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: eA==, b: eQ==}\nstringData: {b: override, c: new}\n").unwrap();
    let s = &m.secrets[0];
    assert_eq!(s.type_.as_deref(), Some("Opaque"));
    assert!(s.string_data.is_none());
    let d = s.data.as_ref().unwrap();
    assert_eq!(d["a"].0, b"x");
    assert_eq!(d["b"].0, b"override");
    assert_eq!(d["c"].0, b"new");
    let m = run("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n").unwrap();
    assert!(m.config_maps[0].data.as_ref().unwrap().is_empty());
}

#[test]
fn workload_defaults() {
    let mut d: k8s_openapi::api::apps::v1::Deployment = Default::default();
    super::deployment(&mut d);
    let s = d.spec.unwrap();
    assert_eq!(s.replicas, Some(1));
    assert_eq!(s.revision_history_limit, Some(10));
    assert_eq!(s.progress_deadline_seconds, Some(600));
    let st = s.strategy.unwrap();
    assert_eq!(st.type_.as_deref(), Some("RollingUpdate"));
    let ru = st.rolling_update.unwrap();
    assert_eq!(
        ru.max_surge,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("25%".into()))
    );
    assert_eq!(
        s.template.spec.unwrap().restart_policy.as_deref(),
        Some("Always")
    );

    let mut ss: k8s_openapi::api::apps::v1::StatefulSet = Default::default();
    super::stateful_set(&mut ss);
    let s = ss.spec.unwrap();
    assert_eq!(s.pod_management_policy.as_deref(), Some("OrderedReady"));
    assert_eq!(
        s.update_strategy.unwrap().rolling_update.unwrap().partition,
        Some(0)
    );
    assert_eq!(
        s.persistent_volume_claim_retention_policy
            .unwrap()
            .when_deleted
            .as_deref(),
        Some("Retain")
    );

    let mut ds: k8s_openapi::api::apps::v1::DaemonSet = Default::default();
    super::daemon_set(&mut ds);
    let ru = ds
        .spec
        .unwrap()
        .update_strategy
        .unwrap()
        .rolling_update
        .unwrap();
    assert_eq!(
        ru.max_unavailable,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1))
    );

    let mut j: k8s_openapi::api::batch::v1::Job = Default::default();
    super::job(&mut j);
    let s = j.spec.unwrap();
    assert_eq!(
        (s.completions, s.parallelism, s.backoff_limit),
        (Some(1), Some(1), Some(6))
    );
    assert_eq!(s.completion_mode.as_deref(), Some("NonIndexed"));
    assert_eq!(s.suspend, Some(false));
    assert_eq!(
        s.pod_replacement_policy.as_deref(),
        Some("TerminatingOrFailed")
    );

    let mut j = k8s_openapi::api::batch::v1::Job {
        spec: Some(k8s_openapi::api::batch::v1::JobSpec {
            parallelism: Some(4),
            ..Default::default()
        }),
        ..Default::default()
    };
    super::job(&mut j);
    let s = j.spec.unwrap();
    assert_eq!((s.completions, s.parallelism), (None, Some(4)));
}

#[test]
fn defaults_are_idempotent() {
    let mut p = pod("{containers: [{name: c, image: x, livenessProbe: {httpGet: {port: 80}}}], volumes: [{name: v}]}");
    let before = p.clone();
    super::pod(&mut p);
    assert_eq!(p, before);
}
