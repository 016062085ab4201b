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
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodSpec, PodStatus, Toleration};
use minipod_pod::kubectl::translate_timestamp_since;
use minipod_pod::store::{PodRecord, PodStore};
use minipod_pod::time::Timestamp;

use crate::get::{finish_listing, pod_names};
use crate::global::GlobalArgs;
use crate::printers::TabWriter;

mod containers;
mod volumes;

use containers::{describe_containers, describe_resources};
use volumes::describe_volumes;

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
pub(super) struct Page {
    writer: TabWriter,
    out: String,
}

impl Page {
    pub(super) fn line(&mut self, level: usize, text: &str) {
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
