//! `minipod describe pod NAME`: kubectl's describe page for a pod.
//!
//! The layout (labels, order, `<none>`/`<unset>` conventions, the tabwriter alignment that
//! spans consecutive tabbed lines) follows kubectl's pkg/describe/describe.go describePod
//! and its helpers; each function names the kubectl function it follows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStatus, Event, Pod, PodSpec, PodStatus, Probe,
    ResourceRequirements, Toleration, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use minipod_pod::kubectl::translate_timestamp_since;
use minipod_pod::store::{PodRecord, PodStore};
use minipod_pod::time::Timestamp;

use crate::get::{finish_listing, pod_names};
use crate::global::GlobalArgs;
use crate::printers::TabWriter;

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The resource type (`pod`, `pods` or `po`), or TYPE/NAME.
    #[arg(value_name = "TYPE[/NAME]")]
    pub resource: String,
    /// Pod names (all pods of the namespace when none).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// The namespace.
    #[arg(short, long, value_name = "NS", default_value = "default")]
    pub namespace: String,
    /// Describe pods of every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Show the pod's events (default true).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub show_events: bool,
}

pub fn run(args: DescribeArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    crate::printers::ignore_broken_pipe(run_verb(args, global))
}

fn run_verb(args: DescribeArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let names = pod_names(&args.resource, &args.names)?;
    let selector = crate::get::parse_selector(args.selector.as_deref())?;
    let namespace = (!args.all_namespaces).then(|| args.namespace.clone());
    let store = PodStore::open(&global.root_dir()).context("open pod store")?;
    let records = store.list().context("list pods")?;
    let in_scope = |r: &PodRecord| namespace.as_deref().is_none_or(|ns| r.namespace() == ns);

    let mut found = Vec::new();
    let mut missing = Vec::new();
    if names.is_empty() {
        found.extend(
            records
                .iter()
                .filter(|r| in_scope(r) && selector.matches(r.pod.metadata.labels.as_ref())),
        );
    } else {
        for name in &names {
            match records.iter().find(|r| in_scope(r) && r.name() == name) {
                Some(r) => found.push(r),
                None => missing.push(name),
            }
        }
    }

    let now = Timestamp::now();
    let mut stdout = std::io::stdout().lock();
    let mut first = true;
    for record in &found {
        let events = if args.show_events {
            Some(store.events(record.uid()).context("read events")?)
        } else {
            None
        };
        let text = describe_pod(&record.pod, events.as_deref(), now);
        // kubectl separates descriptions by a blank line.
        if !first {
            stdout.write_all(b"\n\n")?;
        }
        first = false;
        stdout.write_all(text.as_bytes())?;
    }
    stdout.flush()?;
    Ok(finish_listing(
        &missing,
        found.is_empty(),
        namespace.as_deref(),
    ))
}

/// describe.go's PrefixWriter over a tabwriter: `level` indents by two spaces per level.
struct Page {
    writer: TabWriter,
    out: String,
}

impl Page {
    fn line(&mut self, level: usize, text: &str) {
        for _ in 0..level {
            self.writer.write_str("  ");
        }
        self.writer.write_str(text);
    }

    fn flush(&mut self) {
        let text = self.writer.flush();
        self.out.push_str(&text);
    }
}

/// describe.go describePod.
pub fn describe_pod(pod: &Pod, events: Option<&[Event]>, now: Timestamp) -> String {
    let mut w = Page {
        writer: TabWriter::for_describe(),
        out: String::new(),
    };
    let meta = &pod.metadata;
    let default_spec = PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&default_spec);
    let default_status = PodStatus::default();
    let status = pod.status.as_ref().unwrap_or(&default_status);

    w.line(
        0,
        &format!("Name:\t{}\n", meta.name.as_deref().unwrap_or_default()),
    );
    w.line(
        0,
        &format!(
            "Namespace:\t{}\n",
            meta.namespace.as_deref().unwrap_or("default")
        ),
    );
    if let Some(priority) = spec.priority {
        w.line(0, &format!("Priority:\t{priority}\n"));
    }
    if let Some(class) = non_empty(&spec.priority_class_name) {
        w.line(0, &format!("Priority Class Name:\t{class}\n"));
    }
    if let Some(class) = non_empty(&spec.runtime_class_name) {
        w.line(0, &format!("Runtime Class Name:\t{class}\n"));
    }
    if let Some(sa) = non_empty(&spec.service_account_name) {
        w.line(0, &format!("Service Account:\t{sa}\n"));
    }
    match non_empty(&spec.node_name) {
        None => w.line(0, "Node:\t<none>\n"),
        Some(node) => w.line(
            0,
            &format!(
                "Node:\t{node}/{}\n",
                status.host_ip.as_deref().unwrap_or_default()
            ),
        ),
    }
    if let Some(start) = &status.start_time {
        w.line(0, &format!("Start Time:\t{}\n", rfc1123z(start.0)));
    }
    labels_multiline(&mut w, "Labels", meta.labels.as_ref());
    annotations_multiline(&mut w, "Annotations", meta.annotations.as_ref());
    let phase = status.phase.as_deref().unwrap_or_default();
    match &meta.deletion_timestamp {
        Some(deleted) if phase != "Failed" && phase != "Succeeded" => {
            w.line(
                0,
                &format!(
                    "Status:\tTerminating (lasts {})\n",
                    translate_timestamp_since(Some(deleted.0), now)
                ),
            );
            w.line(
                0,
                &format!(
                    "Termination Grace Period:\t{}s\n",
                    meta.deletion_grace_period_seconds.unwrap_or_default()
                ),
            );
        }
        _ => w.line(0, &format!("Status:\t{phase}\n")),
    }
    if let Some(reason) = non_empty(&status.reason) {
        w.line(0, &format!("Reason:\t{reason}\n"));
    }
    if let Some(message) = non_empty(&status.message) {
        w.line(0, &format!("Message:\t{message}\n"));
    }
    if let Some(profile) = spec
        .security_context
        .as_ref()
        .and_then(|s| s.seccomp_profile.as_ref())
    {
        w.line(0, &format!("SeccompProfile:\t{}\n", profile.type_));
        if profile.type_ == "Localhost" {
            w.line(
                0,
                &format!(
                    "LocalhostProfile:\t{}\n",
                    profile.localhost_profile.as_deref().unwrap_or_default()
                ),
            );
        }
    }
    w.line(
        0,
        &format!("IP:\t{}\n", status.pod_ip.as_deref().unwrap_or_default()),
    );
    match status.pod_ips.as_deref() {
        None | Some([]) => w.line(0, "IPs:\t<none>\n"),
        Some(ips) => {
            w.line(0, "IPs:\n");
            for ip in ips {
                w.line(1, &format!("IP:\t{}\n", ip.ip));
            }
        }
    }
    if let Some(owner) = meta
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|o| o.controller == Some(true))
    {
        w.line(
            0,
            &format!("Controlled By:\t{}/{}\n", owner.kind, owner.name),
        );
    }
    if let Some(nominated) = non_empty(&status.nominated_node_name) {
        w.line(0, &format!("NominatedNodeName:\t{nominated}\n"));
    }
    if let Some(resources) = &spec.resources {
        w.line(0, "Resources:\n");
        describe_resources(&mut w, resources, 1);
    }

    let init_containers = spec.init_containers.as_deref().unwrap_or_default();
    if !init_containers.is_empty() {
        describe_containers(
            &mut w,
            "Init Containers",
            init_containers,
            status
                .init_container_statuses
                .as_deref()
                .unwrap_or_default(),
            pod,
        );
    }
    describe_containers(
        &mut w,
        "Containers",
        &spec.containers,
        status.container_statuses.as_deref().unwrap_or_default(),
        pod,
    );
    let ephemeral: Vec<Container> = spec
        .ephemeral_containers
        .as_deref()
        .unwrap_or_default()
        .iter()
        // The same fields as a Container (EphemeralContainerCommon) plus a target.
        .filter_map(|e| serde_json::to_value(e).ok())
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    if !ephemeral.is_empty() {
        describe_containers(
            &mut w,
            "Ephemeral Containers",
            &ephemeral,
            status
                .ephemeral_container_statuses
                .as_deref()
                .unwrap_or_default(),
            pod,
        );
    }
    let conditions = status.conditions.as_deref().unwrap_or_default();
    if let Some(gates) = spec.readiness_gates.as_deref().filter(|g| !g.is_empty()) {
        w.line(0, "Readiness Gates:\n  Type\tStatus\n");
        for gate in gates {
            let state = conditions
                .iter()
                .find(|c| c.type_ == gate.condition_type)
                .map_or("<none>", |c| c.status.as_str());
            w.line(1, &format!("{} \t{state} \n", gate.condition_type));
        }
    }
    if !conditions.is_empty() {
        w.line(0, "Conditions:\n  Type\tStatus\n");
        for c in conditions {
            w.line(1, &format!("{} \t{} \n", c.type_, c.status));
        }
    }
    describe_volumes(&mut w, spec.volumes.as_deref().unwrap_or_default());
    w.line(0, &format!("QoS Class:\t{}\n", qos_class(pod)));
    labels_multiline(&mut w, "Node-Selectors", spec.node_selector.as_ref());
    tolerations_multiline(&mut w, spec.tolerations.as_deref().unwrap_or_default());
    if let Some(events) = events {
        describe_events(&mut w, events, now);
    }
    w.flush();
    w.out
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Go's `time.RFC1123Z` in the local zone (metav1.Time decodes to local time).
fn rfc1123z(t: Timestamp) -> String {
    let zoned = t.to_zoned(jiff::tz::TimeZone::system());
    zoned.strftime("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// describe.go printLabelsMultilineWithIndent: sorted `k=v`, continuation lines start at
/// the value column.
fn labels_multiline(w: &mut Page, title: &str, labels: Option<&BTreeMap<String, String>>) {
    w.line(0, &format!("{title}:\t"));
    match labels {
        Some(labels) if !labels.is_empty() => {
            for (i, (k, v)) in labels.iter().enumerate() {
                if i != 0 {
                    w.line(0, "\t");
                }
                w.line(0, &format!("{k}={v}\n"));
            }
        }
        _ => w.line(0, "<none>\n"),
    }
}

/// describe.go printAnnotationsMultiline: long (over 140 characters with the key) or
/// multi-line values go on their own lines, each cut at 138 characters.
fn annotations_multiline(
    w: &mut Page,
    title: &str,
    annotations: Option<&BTreeMap<String, String>>,
) {
    const MAX_ANNOTATION_LEN: usize = 140;
    w.line(0, &format!("{title}:\t"));
    let keys: Vec<(&String, &String)> = annotations
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "kubectl.kubernetes.io/last-applied-configuration")
        .collect();
    if keys.is_empty() {
        w.line(0, "<none>\n");
        return;
    }
    for (i, (key, value)) in keys.into_iter().enumerate() {
        if i != 0 {
            w.line(0, "\t");
        }
        let value = value.strip_suffix('\n').unwrap_or(value);
        if value.len() + key.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.line(0, &format!("{key}:\n"));
            for part in value.split('\n') {
                w.line(
                    0,
                    &format!("\t  {}\n", shorten(part, MAX_ANNOTATION_LEN - 2)),
                );
            }
        } else {
            w.line(0, &format!("{key}: {value}\n"));
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// describe.go describeContainers and the describeContainer* helpers it calls.
fn describe_containers(
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
fn describe_resources(w: &mut Page, resources: &ResourceRequirements, level: usize) {
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

/// describe.go describeVolumes and the print*VolumeSource helpers for the volume types a
/// pod on one host can use.
fn describe_volumes(w: &mut Page, volumes: &[Volume]) {
    if volumes.is_empty() {
        w.line(0, "Volumes:\t<none>\n");
        return;
    }
    w.line(0, "Volumes:\n");
    for v in volumes {
        w.line(1, &format!("{}:\n", v.name));
        let mut text = String::new();
        if let Some(host) = &v.host_path {
            let _ = write!(
                text,
                "Type:\tHostPath (bare host directory volume)\n    Path:\t{}\n    HostPathType:\t{}\n",
                host.path,
                host.type_.as_deref().unwrap_or("<none>")
            );
        } else if let Some(empty) = &v.empty_dir {
            let size = empty
                .size_limit
                .as_ref()
                .map(|q| q.0.clone())
                .filter(|q| {
                    !q.is_empty()
                        && q.trim_start_matches(['0', '.'])
                            .chars()
                            .any(|c| c.is_ascii_digit())
                })
                .unwrap_or_else(|| "<unset>".to_owned());
            let _ = write!(
                text,
                "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t{}\n    SizeLimit:\t{size}\n",
                empty.medium.as_deref().unwrap_or_default()
            );
        } else if let Some(secret) = &v.secret {
            let _ = write!(
                text,
                "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t{}\n    Optional:\t{}\n",
                secret.secret_name.as_deref().unwrap_or_default(),
                secret.optional.unwrap_or(false)
            );
        } else if let Some(cm) = &v.config_map {
            let _ = write!(
                text,
                "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t{}\n    Optional:\t{}\n",
                cm.name,
                cm.optional.unwrap_or(false)
            );
        } else if let Some(claim) = &v.persistent_volume_claim {
            let _ = write!(
                text,
                "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t{}\n    ReadOnly:\t{}\n",
                claim.claim_name,
                claim.read_only.unwrap_or(false)
            );
        } else if let Some(d) = &v.downward_api {
            text.push_str("Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n");
            for item in d.items.as_deref().unwrap_or_default() {
                if let Some(f) = &item.field_ref {
                    let _ = writeln!(text, "      {} -> {}", f.field_path, item.path);
                }
                if let Some(r) = &item.resource_field_ref {
                    let _ = writeln!(text, "      {} -> {}", r.resource, item.path);
                }
            }
        } else if let Some(projected) = &v.projected {
            text.push_str(
                "Type:\tProjected (a volume that contains injected data from multiple sources)\n",
            );
            for source in projected.sources.as_deref().unwrap_or_default() {
                if let Some(s) = &source.secret {
                    let _ = write!(
                        text,
                        "    SecretName:\t{}\n    Optional:\t{}\n",
                        s.name,
                        s.optional.unwrap_or(false)
                    );
                } else if source.downward_api.is_some() {
                    text.push_str("    DownwardAPI:\ttrue\n");
                } else if let Some(cm) = &source.config_map {
                    let _ = write!(
                        text,
                        "    ConfigMapName:\t{}\n    Optional:\t{}\n",
                        cm.name,
                        cm.optional.unwrap_or(false)
                    );
                } else if let Some(token) = &source.service_account_token {
                    let _ = writeln!(
                        text,
                        "    TokenExpirationSeconds:\t{}",
                        token.expiration_seconds.unwrap_or(3600)
                    );
                }
            }
        } else if let Some(image) = &v.image {
            let _ = write!(
                text,
                "Type:\tImage (a container image or OCI artifact)\n    Reference:\t{}\n    PullPolicy:\t{}\n",
                image.reference.as_deref().unwrap_or_default(),
                image.pull_policy.as_deref().unwrap_or_default()
            );
        } else {
            w.line(1, "<unknown>\n");
            continue;
        }
        // The first line is at level 2; the continuation lines carry their own indent.
        w.line(2, &text);
    }
}

/// printTolerationsMultilineWithIndent: sorted by key, `key=value:Effect op=Exists for Ns`.
fn tolerations_multiline(w: &mut Page, tolerations: &[Toleration]) {
    w.line(0, "Tolerations:\t");
    if tolerations.is_empty() {
        w.line(0, "<none>\n");
        return;
    }
    let mut sorted: Vec<&Toleration> = tolerations.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for (i, t) in sorted.into_iter().enumerate() {
        if i != 0 {
            w.line(0, "\t");
        }
        let key = t.key.as_deref().unwrap_or_default();
        let value = t.value.as_deref().unwrap_or_default();
        let effect = t.effect.as_deref().unwrap_or_default();
        let mut text = key.to_owned();
        if !value.is_empty() {
            text.push('=');
            text.push_str(value);
        }
        if !effect.is_empty() {
            text.push(':');
            text.push_str(effect);
        }
        if t.operator.as_deref() == Some("Exists") && value.is_empty() {
            text.push_str(if key.is_empty() && effect.is_empty() {
                "op=Exists"
            } else {
                " op=Exists"
            });
        }
        if let Some(seconds) = t.toleration_seconds {
            let _ = write!(text, " for {seconds}s");
        }
        text.push('\n');
        w.line(0, &text);
    }
}

/// describe.go DescribeEvents: its own table (the page is flushed first), sorted by
/// lastTimestamp; `<unknown>` for a missing time, `<invalid>` for one in the future.
fn describe_events(w: &mut Page, events: &[Event], now: Timestamp) {
    if events.is_empty() {
        w.line(0, "Events:\t<none>\n");
        return;
    }
    w.flush();
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0));
    w.line(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    w.line(1, "----\t------\t----\t----\t-------\n");
    for e in sorted {
        let first_seen = match &e.event_time {
            Some(t) => translate_timestamp_since(Some(t.0), now),
            None => translate_timestamp_since(e.first_timestamp.as_ref().map(|t| t.0), now),
        };
        let interval = if let Some(series) = &e.series {
            format!(
                "{} (x{} over {first_seen})",
                translate_timestamp_since(series.last_observed_time.as_ref().map(|t| t.0), now),
                series.count.unwrap_or_default()
            )
        } else if e.count.unwrap_or_default() > 1 {
            format!(
                "{} (x{} over {first_seen})",
                translate_timestamp_since(e.last_timestamp.as_ref().map(|t| t.0), now),
                e.count.unwrap_or_default()
            )
        } else {
            first_seen
        };
        let source = e
            .source
            .as_ref()
            .and_then(|s| non_empty(&s.component).map(str::to_owned))
            .or_else(|| non_empty(&e.reporting_component).map(str::to_owned))
            .unwrap_or_default();
        let mut message = e.message.as_deref().unwrap_or_default().trim().to_owned();
        if let Some(field_path) = non_empty(&e.involved_object.field_path) {
            message = format!("{field_path}: {message}");
        }
        w.line(
            1,
            &format!(
                "{}\t{}\t{interval}\t{source}\t{message}\n",
                e.type_.as_deref().unwrap_or_default(),
                e.reason.as_deref().unwrap_or_default()
            ),
        );
    }
}

/// The pod's QoS class: status.qosClass when the kubelet set it, else computed as the
/// supervisor computes it (pkg/apis/core/helper/qos GetPodQOS).
fn qos_class(pod: &Pod) -> String {
    if let Some(class) = pod.status.as_ref().and_then(|s| non_empty(&s.qos_class)) {
        return class.to_owned();
    }
    minipod_manifest::qos_class(&pod.spec.clone().unwrap_or_default()).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_containers_have_their_own_section() {
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    ..Default::default()
                }],
                ephemeral_containers: Some(vec![k8s_openapi::api::core::v1::EphemeralContainer {
                    name: "debugger".into(),
                    image: Some("busybox".into()),
                    target_container_name: Some("c".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let text = describe_pod(&pod, None, Timestamp::now());
        assert!(
            text.contains("Ephemeral Containers:\n  debugger:\n    Image:  "),
            "{text}"
        );
    }

    #[test]
    fn a_bare_pod_has_kubectls_empty_markers() {
        let pod = Pod {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("p".into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some("busybox".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: None,
        };
        let text = describe_pod(&pod, Some(&[]), Timestamp::now());
        let expected = "\
Name:         p
Namespace:    default
Node:         <none>
Labels:       <none>
Annotations:  <none>
Status:       
IP:           
IPs:          <none>
Containers:
  c:
    Image:        busybox
    Port:         <none>
    Host Port:    <none>
    Environment:  <none>
    Mounts:       <none>
Volumes:          <none>
QoS Class:        BestEffort
Node-Selectors:   <none>
Tolerations:      <none>
Events:           <none>
";
        assert_eq!(text, expected);
    }
}
