//! The containers section of `describe pod` (kubectl describe.go describeContainers and its
//! helpers): state, resources, probes, environment, mounts.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStatus, Pod, Probe, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{non_empty, rfc1123z, Page};

/// describe.go describeContainers and the describeContainer* helpers it calls.
pub(super) fn describe_containers(
    w: &mut Page,
    label: &str,
    containers: &[Container],
    statuses: &[ContainerStatus],
    pod: &Pod,
) {
    let none = if containers.is_empty() { " <none>" } else { "" };
    w.line(0, &format!("{label}:{none}\n"));
    for container in containers {
        let status = statuses.iter().find(|s| s.name == container.name);
        w.line(1, &format!("{}:\n", container.name));
        if let Some(s) = status {
            w.line(
                2,
                &format!(
                    "Container ID:\t{}\n",
                    s.container_id.as_deref().unwrap_or_default()
                ),
            );
        }
        w.line(
            2,
            &format!(
                "Image:\t{}\n",
                container.image.as_deref().unwrap_or_default()
            ),
        );
        if let Some(s) = status {
            w.line(2, &format!("Image ID:\t{}\n", s.image_id));
        }
        let ports = container.ports.as_deref().unwrap_or_default();
        let port_list = |host: bool| -> String {
            ports
                .iter()
                .map(|p| {
                    let number = if host {
                        p.host_port.unwrap_or_default()
                    } else {
                        p.container_port
                    };
                    let protocol = p.protocol.as_deref().unwrap_or("TCP");
                    match non_empty(&p.name) {
                        Some(name) => format!("{number}/{protocol} ({name})"),
                        None => format!("{number}/{protocol}"),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (singular, plural, text) in [
            ("Port", "Ports", port_list(false)),
            ("Host Port", "Host Ports", port_list(true)),
        ] {
            if text.contains(',') {
                w.line(2, &format!("{plural}:\t{text}\n"));
            } else if text.is_empty() {
                w.line(2, &format!("{singular}:\t<none>\n"));
            } else {
                w.line(2, &format!("{singular}:\t{text}\n"));
            }
        }
        if let Some(profile) = container
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref())
        {
            w.line(2, &format!("SeccompProfile:\t{}\n", profile.type_));
        }
        for (title, items) in [("Command", &container.command), ("Args", &container.args)] {
            let items = items.as_deref().unwrap_or_default();
            if !items.is_empty() {
                w.line(2, &format!("{title}:\n"));
                for item in items {
                    for part in item.split('\n') {
                        w.line(3, &format!("{part}\n"));
                    }
                }
            }
        }
        if let Some(s) = status {
            describe_state(w, "State", s.state.as_ref());
            if let Some(last) = s.last_state.as_ref().filter(|l| l.terminated.is_some()) {
                describe_state(w, "Last State", Some(last));
            }
            w.line(
                2,
                &format!("Ready:\t{}\n", if s.ready { "True" } else { "False" }),
            );
            w.line(2, &format!("Restart Count:\t{}\n", s.restart_count));
        }
        if let Some(resources) = &container.resources {
            describe_resources(w, resources, 2);
        }
        for (title, probe) in [
            ("Liveness", &container.liveness_probe),
            ("Readiness", &container.readiness_probe),
            ("Startup", &container.startup_probe),
        ] {
            if let Some(probe) = probe {
                w.line(2, &format!("{title}:\t{}\n", describe_probe(probe)));
            }
        }
        describe_env_from(w, container);
        describe_env(w, container, pod);
        describe_mounts(w, container);
    }
}

/// describe.go describeStatus.
fn describe_state(w: &mut Page, title: &str, state: Option<&ContainerState>) {
    let state = state.cloned().unwrap_or_default();
    if let Some(running) = &state.running {
        w.line(2, &format!("{title}:\tRunning\n"));
        w.line(
            3,
            &format!("Started:\t{}\n", go_time(running.started_at.as_ref())),
        );
    } else if let Some(waiting) = &state.waiting {
        w.line(2, &format!("{title}:\tWaiting\n"));
        if let Some(reason) = non_empty(&waiting.reason) {
            w.line(3, &format!("Reason:\t{reason}\n"));
        }
    } else if let Some(t) = &state.terminated {
        w.line(2, &format!("{title}:\tTerminated\n"));
        if let Some(reason) = non_empty(&t.reason) {
            w.line(3, &format!("Reason:\t{reason}\n"));
        }
        if let Some(message) = non_empty(&t.message) {
            w.line(3, &format!("Message:\t{message}\n"));
        }
        w.line(3, &format!("Exit Code:\t{}\n", t.exit_code));
        if let Some(signal) = t.signal.filter(|s| *s > 0) {
            w.line(3, &format!("Signal:\t{signal}\n"));
        }
        w.line(
            3,
            &format!("Started:\t{}\n", go_time(t.started_at.as_ref())),
        );
        w.line(
            3,
            &format!("Finished:\t{}\n", go_time(t.finished_at.as_ref())),
        );
    } else {
        w.line(2, &format!("{title}:\tWaiting\n"));
    }
}

/// A missing time formats as Go's zero time does.
fn go_time(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
    match t {
        Some(t) => rfc1123z(t.0),
        None => "Mon, 01 Jan 0001 00:00:00 +0000".to_owned(),
    }
}

/// describe.go describeResources: resource names sorted.
pub(super) fn describe_resources(w: &mut Page, resources: &ResourceRequirements, level: usize) {
    for (title, list) in [
        ("Limits", &resources.limits),
        ("Requests", &resources.requests),
    ] {
        if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
            w.line(level, &format!("{title}:\n"));
            for (name, quantity) in list {
                w.line(level + 1, &format!("{name}:\t{}\n", quantity.0));
            }
        }
    }
}

/// describe.go DescribeProbe; unset fields take the API server's defaults.
fn describe_probe(probe: &Probe) -> String {
    let attrs = format!(
        "delay={}s timeout={}s period={}s successThreshold={} failureThreshold={}",
        probe.initial_delay_seconds.unwrap_or(0),
        probe.timeout_seconds.unwrap_or(1),
        probe.period_seconds.unwrap_or(10),
        probe.success_threshold.unwrap_or(1),
        probe.failure_threshold.unwrap_or(3),
    );
    let port = |p: &IntOrString| match p {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    };
    if let Some(exec) = &probe.exec {
        format!(
            "exec [{}] {attrs}",
            exec.command.as_deref().unwrap_or_default().join(" ")
        )
    } else if let Some(http) = &probe.http_get {
        let scheme = http
            .scheme
            .as_deref()
            .unwrap_or("HTTP")
            .to_ascii_lowercase();
        let host = http.host.as_deref().unwrap_or_default();
        let port = port(&http.port);
        // Go's net.JoinHostPort brackets IPv6 literals.
        let host_port = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        format!(
            "http-get {scheme}://{host_port}{} {attrs}",
            http.path.as_deref().unwrap_or_default()
        )
    } else if let Some(tcp) = &probe.tcp_socket {
        format!(
            "tcp-socket {}:{} {attrs}",
            tcp.host.as_deref().unwrap_or_default(),
            port(&tcp.port)
        )
    } else if let Some(grpc) = &probe.grpc {
        format!(
            "grpc <pod>:{} {} {attrs}",
            grpc.port,
            grpc.service.as_deref().unwrap_or_default()
        )
    } else {
        format!("unknown {attrs}")
    }
}

/// describe.go describeContainerEnvFrom.
fn describe_env_from(w: &mut Page, container: &Container) {
    let env_from = container.env_from.as_deref().unwrap_or_default();
    if env_from.is_empty() {
        return;
    }
    w.line(2, "Environment Variables from:\n");
    for source in env_from {
        let (name, from, optional) = if let Some(cm) = &source.config_map_ref {
            (cm.name.as_str(), "ConfigMap", cm.optional.unwrap_or(false))
        } else if let Some(secret) = &source.secret_ref {
            (
                secret.name.as_str(),
                "Secret",
                secret.optional.unwrap_or(false),
            )
        } else {
            ("", "", false)
        };
        match non_empty(&source.prefix) {
            None => w.line(3, &format!("{name}\t{from}\tOptional: {optional}\n")),
            Some(prefix) => w.line(
                3,
                &format!("{name}\t{from} with prefix '{prefix}'\tOptional: {optional}\n"),
            ),
        }
    }
}

/// describe.go describeContainerEnvVars.
fn describe_env(w: &mut Page, container: &Container, pod: &Pod) {
    let env = container.env.as_deref().unwrap_or_default();
    let none = if env.is_empty() { "\t<none>" } else { "" };
    w.line(2, &format!("Environment:{none}\n"));
    for var in env {
        let Some(from) = &var.value_from else {
            let value = var.value.as_deref().unwrap_or_default();
            for (i, part) in value.split('\n').enumerate() {
                if i == 0 {
                    w.line(3, &format!("{}:\t{part}\n", var.name));
                } else {
                    w.line(3, &format!("\t{part}\n"));
                }
            }
            continue;
        };
        if let Some(field) = &from.field_ref {
            let api_version = field.api_version.as_deref().unwrap_or("v1");
            w.line(
                3,
                &format!(
                    "{}:\t{} ({api_version}:{})\n",
                    var.name,
                    resolve_field_ref(pod, &field.field_path),
                    field.field_path
                ),
            );
        } else if let Some(resource) = &from.resource_field_ref {
            w.line(
                3,
                &format!(
                    "{}:\t{} ({})\n",
                    var.name,
                    resource_field_value(container, &resource.resource),
                    resource.resource
                ),
            );
        } else if let Some(secret) = &from.secret_key_ref {
            w.line(
                3,
                &format!(
                    "{}:\t<set to the key '{}' in secret '{}'>\tOptional: {}\n",
                    var.name,
                    secret.key,
                    secret.name,
                    secret.optional.unwrap_or(false)
                ),
            );
        } else if let Some(cm) = &from.config_map_key_ref {
            w.line(
                3,
                &format!(
                    "{}:\t<set to the key '{}' of config map '{}'>\tOptional: {}\n",
                    var.name,
                    cm.key,
                    cm.name,
                    cm.optional.unwrap_or(false)
                ),
            );
        }
    }
}

/// The downward-API field paths a pod can name (fieldpath.ExtractFieldPathAsString).
fn resolve_field_ref(pod: &Pod, path: &str) -> String {
    let meta = &pod.metadata;
    let status = pod.status.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let subscript = |prefix: &str, map: Option<&BTreeMap<String, String>>| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("']"))
            .and_then(|key| map.and_then(|m| m.get(key)).cloned())
    };
    if let Some(v) = subscript("metadata.labels['", meta.labels.as_ref()) {
        return v;
    }
    if let Some(v) = subscript("metadata.annotations['", meta.annotations.as_ref()) {
        return v;
    }
    match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => spec.node_name,
        "spec.serviceAccountName" => spec.service_account_name,
        "status.podIP" => status.pod_ip,
        "status.hostIP" => status.host_ip,
        _ => None,
    }
    .unwrap_or_default()
}

/// kubectl resource helper ExtractContainerResourceValue, for the values minipod stores as
/// written (no unit conversion): the container's own request or limit.
fn resource_field_value(container: &Container, resource: &str) -> String {
    let resources = container.resources.clone().unwrap_or_default();
    let (list, name) = match resource.split_once('.') {
        Some(("limits", name)) => (resources.limits, name),
        Some(("requests", name)) => (resources.requests, name),
        _ => return String::new(),
    };
    match list.as_ref().and_then(|l| l.get(name)) {
        Some(q) => q.0.clone(),
        None if resource == "limits.cpu" || resource == "limits.memory" => {
            "node allocatable".to_owned()
        }
        None => "0".to_owned(),
    }
}

/// describe.go describeContainerVolumes: mounts sorted by path.
fn describe_mounts(w: &mut Page, container: &Container) {
    let mut mounts: Vec<_> = container
        .volume_mounts
        .as_deref()
        .unwrap_or_default()
        .iter()
        .collect();
    let none = if mounts.is_empty() { "\t<none>" } else { "" };
    w.line(2, &format!("Mounts:{none}\n"));
    mounts.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));
    for m in mounts {
        let mut flags = vec![if m.read_only == Some(true) {
            "ro"
        } else {
            "rw"
        }
        .to_owned()];
        if let Some(sub) = non_empty(&m.sub_path) {
            flags.push(format!("path={sub:?}"));
        }
        w.line(
            3,
            &format!("{} from {} ({})\n", m.mount_path, m.name, flags.join(",")),
        );
    }
    let devices = container.volume_devices.as_deref().unwrap_or_default();
    if !devices.is_empty() {
        w.line(2, "Devices:\n");
        let mut devices: Vec<_> = devices.iter().collect();
        devices.sort_by(|a, b| a.device_path.cmp(&b.device_path));
        for d in devices {
            w.line(3, &format!("{} from {}\n", d.device_path, d.name));
        }
    }
}
