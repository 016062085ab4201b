//! The `meta.k8s.io/v1` `Table` kubectl asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (k8s.io/apimachinery/pkg/apis/meta/v1
//! types.go Table, TableColumnDefinition, TableRow, PartialObjectMetadata; not in k8s-openapi),
//! and the columns of the API server's printers (pkg/printers/internalversion/printers.go
//! AddHandlers: podColumnDefinitions, namespaceColumnDefinitions, eventColumnDefinitions).
//!
//! Pod cells come from the same code as `minipod get pods`: minipod-pod's `print_pod` for the
//! five standard columns and the CLI's wide cells (through [`crate::CliRules`]).

use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta};
use minipod_pod::kubectl::{print_pod, translate_timestamp_since, wide_cells};
use minipod_pod::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// metav1.Table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    pub kind: String,
    pub api_version: String,
    pub metadata: ListMeta,
    pub column_definitions: Vec<TableColumnDefinition>,
    pub rows: Vec<TableRow>,
}

/// metav1.TableColumnDefinition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TableColumnDefinition {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i32,
}

/// metav1.TableRow: the cells and, unless `includeObject=None`, the object (metadata only by
/// default; kubectl reads NAMESPACE for `-A` and the labels for `--show-labels` from it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TableRow {
    pub cells: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
}

/// metav1.PartialObjectMetadata.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PartialObjectMetadata {
    pub kind: String,
    pub api_version: String,
    pub metadata: ObjectMeta,
}

impl PartialObjectMetadata {
    pub fn new(metadata: ObjectMeta) -> Self {
        PartialObjectMetadata {
            kind: "PartialObjectMetadata".to_owned(),
            api_version: "meta.k8s.io/v1".to_owned(),
            metadata,
        }
    }
}

/// `includeObject`: what each row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(s: Option<&str>) -> Result<Self, crate::status::ApiError> {
        match s.unwrap_or("") {
            "" | "Metadata" => Ok(IncludeObject::Metadata),
            "None" => Ok(IncludeObject::None),
            "Object" => Ok(IncludeObject::Object),
            other => Err(crate::status::ApiError::bad_request(format!(
                "unsupported includeObject value: {other:?}"
            ))),
        }
    }

    /// The row's object for `full` (a serialised object) with `metadata`.
    pub fn object(self, full: &impl Serialize, metadata: &ObjectMeta) -> Option<Value> {
        match self {
            IncludeObject::None => None,
            IncludeObject::Metadata => {
                serde_json::to_value(PartialObjectMetadata::new(metadata.clone())).ok()
            }
            IncludeObject::Object => serde_json::to_value(full).ok(),
        }
    }
}

fn column(
    name: &str,
    type_: &str,
    format: &str,
    description: &str,
    priority: i32,
) -> TableColumnDefinition {
    TableColumnDefinition {
        name: name.to_owned(),
        type_: type_.to_owned(),
        format: format.to_owned(),
        description: description.to_owned(),
        priority,
    }
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// printers.go podColumnDefinitions.
pub fn pod_columns() -> Vec<TableColumnDefinition> {
    vec![
        column("Name", "string", "name", NAME_DESCRIPTION, 0),
        column("Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0),
        column("Status", "string", "", "The aggregate status of the containers in this pod.", 0),
        column("Restarts", "string", "", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0),
        column("Age", "string", "", AGE_DESCRIPTION, 0),
        column("IP", "string", "", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
        column("Node", "string", "", "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.", 1),
        column("Nominated Node", "string", "", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.", 1),
        column("Readiness Gates", "string", "", "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates", 1),
    ]
}

/// One pod's cells, as `minipod get pods -o wide` prints them.
pub fn pod_cells(pod: &Pod, now: Timestamp) -> Vec<Value> {
    let row = print_pod(pod, now);
    let mut cells: Vec<Value> = row.cells().iter().map(|c| Value::from(*c)).collect();
    cells.extend(wide_cells(pod).into_iter().map(Value::from));
    cells
}

/// printers.go namespaceColumnDefinitions.
pub fn namespace_columns() -> Vec<TableColumnDefinition> {
    vec![
        column("Name", "string", "name", NAME_DESCRIPTION, 0),
        column("Status", "string", "", "The status of the namespace", 0),
        column("Age", "string", "", AGE_DESCRIPTION, 0),
    ]
}

/// printers.go printNamespace.
pub fn namespace_cells(ns: &Namespace, now: Timestamp) -> Vec<Value> {
    vec![
        Value::from(ns.metadata.name.clone().unwrap_or_default()),
        Value::from(
            ns.status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default(),
        ),
        Value::from(translate_timestamp_since(
            ns.metadata.creation_timestamp.as_ref().map(|t| t.0),
            now,
        )),
    ]
}

/// printers.go eventColumnDefinitions.
pub fn event_columns() -> Vec<TableColumnDefinition> {
    vec![
        column("Last Seen", "string", "", "The last time this event was seen", 0),
        column("Type", "string", "", "Type of this event (Normal, Warning), new types could be added in the future.", 0),
        column("Reason", "string", "", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.", 0),
        column("Object", "string", "", "The object that this event is about.", 0),
        column("Subobject", "string", "", "The subobject that this event is about.", 1),
        column("Source", "string", "", "The component reporting this event. Should be a short machine understandable string.", 1),
        column("Message", "string", "", "A human-readable description of the status of this operation.", 0),
        column("First Seen", "string", "", "The time at which the event was first recorded.", 1),
        column("Count", "string", "", "The number of times this event has occurred.", 1),
        column("Name", "string", "name", NAME_DESCRIPTION, 1),
    ]
}

/// printers.go printEvent (without event series: minipod folds repeats into `count`).
pub fn event_cells(event: &Event, now: Timestamp) -> Vec<Value> {
    let first = event
        .first_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let last = event.last_timestamp.as_ref().map(|t| t.0).or(first);
    let object = &event.involved_object;
    let source = match &event.source {
        Some(s) => {
            let component = s.component.clone().unwrap_or_default();
            match s.host.as_deref() {
                Some(h) if !h.is_empty() => format!("{component}, {h}"),
                _ => component,
            }
        }
        None => String::new(),
    };
    let source = if source.is_empty() {
        event.reporting_component.clone().unwrap_or_default()
    } else {
        source
    };
    vec![
        Value::from(translate_timestamp_since(last, now)),
        Value::from(event.type_.clone().unwrap_or_default()),
        Value::from(event.reason.clone().unwrap_or_default()),
        Value::from(format!(
            "{}/{}",
            object.kind.clone().unwrap_or_default().to_ascii_lowercase(),
            object.name.clone().unwrap_or_default()
        )),
        Value::from(object.field_path.clone().unwrap_or_default()),
        Value::from(source),
        Value::from(event.message.clone().unwrap_or_default().trim().to_owned()),
        Value::from(translate_timestamp_since(first, now)),
        Value::from(event.count.unwrap_or(1).to_string()),
        Value::from(event.metadata.name.clone().unwrap_or_default()),
    ]
}

/// A Table of `rows` under `columns` at resourceVersion `rv`.
pub fn table(
    columns: Vec<TableColumnDefinition>,
    rows: Vec<TableRow>,
    list_meta: ListMeta,
) -> Table {
    Table {
        kind: "Table".to_owned(),
        api_version: "meta.k8s.io/v1".to_owned(),
        metadata: list_meta,
        column_definitions: columns,
        rows,
    }
}
