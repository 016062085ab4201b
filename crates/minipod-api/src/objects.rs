//! The served objects, read from minipod's pod store: pods (list across namespaces and per
//! namespace, get), namespaces (the ones that have pods, plus `default`; list, get) and
//! events (list, get), with `labelSelector`, `fieldSelector`, `limit`/`continue`, as lists
//! (`PodList`, ...) or, when asked, as a `Table`.
//!
//! Lists are ordered by `namespace/name`, as the API server's storage returns them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Event, Namespace, NamespaceStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta, Time};
use k8s_openapi::List;
use minipod_pod::selector::LabelSelector;
use minipod_pod::store::{PodRecord, PodStore};
use minipod_pod::time::Timestamp;
use serde_json::{json, Value};

use crate::router::{Api, ApiRequest, Reply};
use crate::selectors::{label_selector, page, FieldSelector, Page};
use crate::status::ApiError;
use crate::table::{self, IncludeObject, TableRow};

/// The resource types served, in discovery order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Events,
    Namespaces,
    Pods,
}

impl Resource {
    pub const ALL: [Resource; 3] = [Resource::Events, Resource::Namespaces, Resource::Pods];

    pub fn from_plural(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.plural() == s)
    }

    pub fn plural(self) -> &'static str {
        match self {
            Resource::Events => "events",
            Resource::Namespaces => "namespaces",
            Resource::Pods => "pods",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Resource::Events => "event",
            Resource::Namespaces => "namespace",
            Resource::Pods => "pod",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Resource::Events => "Event",
            Resource::Namespaces => "Namespace",
            Resource::Pods => "Pod",
        }
    }

    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Resource::Events => &["ev"],
            Resource::Namespaces => &["ns"],
            Resource::Pods => &["po"],
        }
    }

    pub fn namespaced(self) -> bool {
        self != Resource::Namespaces
    }

    /// The verbs answered so far.
    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Resource::Pods => &["get", "list", "watch"],
            _ => &["get", "list"],
        }
    }

    /// The fields `fieldSelector` takes (the API server's selectable fields for the type).
    pub fn selectable_fields(self) -> &'static [&'static str] {
        match self {
            Resource::Pods => &[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.nominatedNodeName",
            ],
            Resource::Namespaces => &["metadata.name", "status.phase"],
            Resource::Events => &[
                "metadata.name",
                "metadata.namespace",
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            ],
        }
    }

    fn categories(self) -> &'static [&'static str] {
        match self {
            Resource::Pods => &["all"],
            _ => &[],
        }
    }

    /// The `/api/v1` APIResource.
    pub fn api_resource(self) -> Value {
        json!({
            "name": self.plural(),
            "singularName": self.singular(),
            "namespaced": self.namespaced(),
            "kind": self.kind(),
            "verbs": self.verbs(),
            "shortNames": self.short_names(),
            "categories": self.categories(),
        })
    }

    /// The aggregated discovery APIResourceDiscovery.
    pub fn discovery_v2(self) -> Value {
        json!({
            "resource": self.plural(),
            "responseKind": {"group": "", "version": "v1", "kind": self.kind()},
            "scope": if self.namespaced() { "Namespaced" } else { "Cluster" },
            "singularResource": self.singular(),
            "verbs": self.verbs(),
            "shortNames": self.short_names(),
            "categories": self.categories(),
        })
    }
}

/// What a list request selects and how it is answered.
struct ListOptions {
    labels: LabelSelector,
    fields: FieldSelector,
    limit: usize,
    cont: Option<String>,
    table: bool,
    include: IncludeObject,
}

impl ListOptions {
    fn parse(req: &ApiRequest, kind: Resource) -> Result<Self, ApiError> {
        let labels = label_selector(req)?;
        let fields = FieldSelector::parse(
            req.param("fieldSelector").unwrap_or(""),
            kind.selectable_fields(),
        )?;
        let limit = match req.param("limit").filter(|l| !l.is_empty()) {
            None => 0,
            Some(l) => l
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?
                .max(0) as usize,
        };
        Ok(ListOptions {
            labels,
            fields,
            limit,
            cont: req.param("continue").map(str::to_owned),
            table: req.wants_table(),
            include: IncludeObject::parse(req.param("includeObject"))?,
        })
    }
}

fn store(api: &Api) -> Result<PodStore, ApiError> {
    PodStore::open(&api.root).map_err(ApiError::internal)
}

fn key(meta: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

/// GET of a collection.
pub fn list(
    api: &Api,
    req: &ApiRequest,
    kind: Resource,
    ns: Option<&str>,
) -> Result<Reply, ApiError> {
    let opts = ListOptions::parse(req, kind)?;
    let store = store(api)?;
    let rv = store
        .current_resource_version()
        .map_err(ApiError::internal)?;
    let records = store.list().map_err(ApiError::internal)?;
    let now = Timestamp::now();
    match kind {
        Resource::Pods => {
            let pods: Vec<Pod> = records
                .into_iter()
                .map(|r| r.pod)
                .filter(|p| ns.is_none_or(|ns| p.metadata.namespace.as_deref() == Some(ns)))
                .collect();
            answer_list(
                pods,
                &opts,
                rv,
                pod_field,
                |p| table::pod_cells(p, now),
                table::pod_columns,
            )
        }
        Resource::Namespaces => {
            let all = namespaces(&records, rv, store_created(api));
            answer_list(
                all,
                &opts,
                rv,
                namespace_field,
                |n| table::namespace_cells(n, now),
                table::namespace_columns,
            )
        }
        Resource::Events => {
            let mut items: Vec<Event> = Vec::new();
            for r in &records {
                if ns.is_some_and(|ns| r.namespace() != ns) {
                    continue;
                }
                let events = store.events(r.uid()).map_err(ApiError::internal)?;
                items.extend(events.into_iter().map(|mut e| {
                    if e.metadata.namespace.is_none() {
                        e.metadata.namespace = Some(r.namespace().to_owned());
                    }
                    e
                }));
            }
            items.sort_by_key(|e| key(&e.metadata));
            answer_list(
                items,
                &opts,
                rv,
                event_field,
                |e| table::event_cells(e, now),
                table::event_columns,
            )
        }
    }
}

/// A list answer the API server's way: label and field selectors, one page, then a `List`
/// or, when kubectl asks for one, a `Table`.
/// `field` reads a selectable field, `cells` makes a table row's cells under `columns`.
fn answer_list<T, F, C>(
    items: Vec<T>,
    opts: &ListOptions,
    rv: u64,
    field: F,
    cells: C,
    columns: fn() -> Vec<table::TableColumnDefinition>,
) -> Result<Reply, ApiError>
where
    T: k8s_openapi::ListableResource + k8s_openapi::Metadata<Ty = ObjectMeta> + serde::Serialize,
    F: Fn(&T, &str) -> String,
    C: Fn(&T) -> Vec<Value>,
{
    let items: Vec<T> = items
        .into_iter()
        .filter(|o| opts.labels.matches(o.metadata().labels.as_ref()))
        .filter(|o| opts.fields.matches(|f| field(o, f)))
        .collect();
    let Page {
        items,
        next,
        remaining,
    } = page(
        items,
        |o| key(o.metadata()),
        opts.limit,
        opts.cont.as_deref(),
        rv,
    )?;
    let meta = list_meta(rv, next, remaining);
    if opts.table {
        let rows = items
            .iter()
            .map(|o| TableRow {
                cells: cells(o),
                object: opts.include.object(o, o.metadata()),
            })
            .collect();
        return table_reply(table::table(columns(), rows, meta));
    }
    list_reply(items, meta)
}

/// GET of one object.
pub fn get(
    api: &Api,
    req: &ApiRequest,
    kind: Resource,
    ns: Option<&str>,
    name: &str,
) -> Result<Reply, ApiError> {
    let include = IncludeObject::parse(req.param("includeObject"))?;
    let store = store(api)?;
    let now = Timestamp::now();
    let not_found = || ApiError::not_found(kind.plural(), name);
    let rv = || store.current_resource_version().map_err(ApiError::internal);
    let ns = ns.unwrap_or("default");
    match kind {
        Resource::Pods => {
            let record: PodRecord = store
                .find(ns, name)
                .map_err(ApiError::internal)?
                .ok_or_else(not_found)?;
            let pod = record.pod;
            if req.wants_table() {
                let row = TableRow {
                    cells: table::pod_cells(&pod, now),
                    object: include.object(&pod, &pod.metadata),
                };
                return table_reply(table::table(
                    table::pod_columns(),
                    vec![row],
                    list_meta(rv()?, None, None),
                ));
            }
            object_reply(&pod)
        }
        Resource::Namespaces => {
            let records = store.list().map_err(ApiError::internal)?;
            let rv = rv()?;
            let namespace = namespaces(&records, rv, store_created(api))
                .into_iter()
                .find(|n| n.metadata.name.as_deref() == Some(name))
                .ok_or_else(not_found)?;
            if req.wants_table() {
                let row = TableRow {
                    cells: table::namespace_cells(&namespace, now),
                    object: include.object(&namespace, &namespace.metadata),
                };
                return table_reply(table::table(
                    table::namespace_columns(),
                    vec![row],
                    list_meta(rv, None, None),
                ));
            }
            object_reply(&namespace)
        }
        Resource::Events => {
            let records = store.list().map_err(ApiError::internal)?;
            for r in records.iter().filter(|r| r.namespace() == ns) {
                let events = store.events(r.uid()).map_err(ApiError::internal)?;
                if let Some(mut e) = events
                    .into_iter()
                    .find(|e| e.metadata.name.as_deref() == Some(name))
                {
                    e.metadata.namespace.get_or_insert_with(|| ns.to_owned());
                    if req.wants_table() {
                        let row = TableRow {
                            cells: table::event_cells(&e, now),
                            object: include.object(&e, &e.metadata),
                        };
                        return table_reply(table::table(
                            table::event_columns(),
                            vec![row],
                            list_meta(rv()?, None, None),
                        ));
                    }
                    return object_reply(&e);
                }
            }
            Err(not_found())
        }
    }
}

fn list_meta(rv: u64, next: Option<String>, remaining: Option<i64>) -> ListMeta {
    ListMeta {
        resource_version: Some(rv.to_string()),
        continue_: next,
        remaining_item_count: remaining,
        ..Default::default()
    }
}

fn list_reply<T>(items: Vec<T>, metadata: ListMeta) -> Result<Reply, ApiError>
where
    T: k8s_openapi::ListableResource + serde::Serialize,
{
    let list = List { items, metadata };
    Ok(Reply::json(
        serde_json::to_value(list).map_err(ApiError::internal)?,
    ))
}

fn table_reply(t: table::Table) -> Result<Reply, ApiError> {
    Ok(Reply::json(
        serde_json::to_value(t).map_err(ApiError::internal)?,
    ))
}

fn object_reply(object: &impl serde::Serialize) -> Result<Reply, ApiError> {
    Ok(Reply::json(
        serde_json::to_value(object).map_err(ApiError::internal)?,
    ))
}

/// A pod's value of a selectable field ("" when unset, as the API server's field sets have).
pub fn pod_field(pod: &Pod, field: &str) -> String {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let s = |v: Option<&String>| v.cloned().unwrap_or_default();
    match field {
        "metadata.name" => s(pod.metadata.name.as_ref()),
        "metadata.namespace" => s(pod.metadata.namespace.as_ref()),
        "spec.nodeName" => s(spec.and_then(|p| p.node_name.as_ref())),
        "spec.restartPolicy" => s(spec.and_then(|p| p.restart_policy.as_ref())),
        "spec.schedulerName" => s(spec.and_then(|p| p.scheduler_name.as_ref())),
        "spec.serviceAccountName" => s(spec.and_then(|p| p.service_account_name.as_ref())),
        "spec.hostNetwork" => spec
            .and_then(|p| p.host_network)
            .unwrap_or(false)
            .to_string(),
        "status.phase" => s(status.and_then(|p| p.phase.as_ref())),
        "status.podIP" => s(status.and_then(|p| p.pod_ip.as_ref())),
        "status.nominatedNodeName" => s(status.and_then(|p| p.nominated_node_name.as_ref())),
        _ => String::new(),
    }
}

fn namespace_field(ns: &Namespace, field: &str) -> String {
    match field {
        "metadata.name" => ns.metadata.name.clone().unwrap_or_default(),
        "status.phase" => ns
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// An event's value of a selectable field (pkg/registry/core/event/strategy.go ToSelectableFields).
pub fn event_field(e: &Event, field: &str) -> String {
    let o = &e.involved_object;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    match field {
        "metadata.name" => s(&e.metadata.name),
        "metadata.namespace" => s(&e.metadata.namespace),
        "involvedObject.kind" => s(&o.kind),
        "involvedObject.namespace" => s(&o.namespace),
        "involvedObject.name" => s(&o.name),
        "involvedObject.uid" => s(&o.uid),
        "involvedObject.apiVersion" => s(&o.api_version),
        "involvedObject.resourceVersion" => s(&o.resource_version),
        "involvedObject.fieldPath" => s(&o.field_path),
        "reason" => s(&e.reason),
        "reportingComponent" => s(&e.reporting_component),
        "source" => e
            .source
            .as_ref()
            .and_then(|s| s.component.clone())
            .unwrap_or_default(),
        "type" => s(&e.type_),
        _ => String::new(),
    }
}

/// When the store was made (its directory's birth time, where the filesystem keeps one).
fn store_created(api: &Api) -> Option<Time> {
    let born = std::fs::metadata(api.root.join("pods"))
        .and_then(|m| m.created())
        .ok()?;
    Timestamp::try_from(born).ok().map(Time)
}

/// The namespaces: `default` and every namespace a stored pod is in, created when their
/// first pod was (`default` without pods: `default_created`, when the store was made).
pub fn namespaces(records: &[PodRecord], rv: u64, default_created: Option<Time>) -> Vec<Namespace> {
    let mut created: BTreeMap<String, Option<Time>> = BTreeMap::new();
    created.insert("default".to_owned(), None);
    for r in records {
        let t = r.pod.metadata.creation_timestamp.clone();
        let entry = created.entry(r.namespace().to_owned()).or_insert(None);
        if let Some(t) = t {
            if entry.as_ref().is_none_or(|old| t.0 < old.0) {
                *entry = Some(t);
            }
        }
    }
    created
        .into_iter()
        .map(|(name, created)| (name, created.or_else(|| default_created.clone())))
        .map(|(name, created)| Namespace {
            metadata: ObjectMeta {
                labels: Some(BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_owned(),
                    name.clone(),
                )])),
                name: Some(name),
                creation_timestamp: created,
                resource_version: Some(rv.to_string()),
                ..Default::default()
            },
            spec: None,
            status: Some(NamespaceStatus {
                phase: Some("Active".to_owned()),
                ..Default::default()
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::router::{ApiRequest, Reply};
    use crate::testutil::TestStore;

    const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

    fn body(reply: Reply) -> (u16, serde_json::Value) {
        match reply {
            Reply::Json { code, body, .. } => (code, body),
            other => panic!("not JSON: {other:?}"),
        }
    }

    #[test]
    fn pods_list_per_namespace_and_everywhere_with_selectors() {
        let t = TestStore::new();
        t.add("default", "web", "u1", "Running");
        t.add("default", "db", "u2", "Pending");
        t.add("other", "web", "u3", "Running");
        let get = |path: &str| body(t.api.handle(&ApiRequest::get(path, "application/json")));

        let (code, list) = get("/api/v1/namespaces/default/pods");
        assert_eq!(code, 200);
        assert_eq!(list["kind"], "PodList");
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["db", "web"]);

        let (_, all) = get("/api/v1/pods?labelSelector=app%3Dweb");
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
        let (_, running) =
            get("/api/v1/pods?fieldSelector=status.phase%3DRunning,metadata.namespace%3Dother");
        assert_eq!(running["items"][0]["metadata"]["uid"], "u3");
        assert_eq!(running["items"].as_array().unwrap().len(), 1);

        let (_, page1) = get("/api/v1/pods?limit=2");
        assert_eq!(page1["items"].as_array().unwrap().len(), 2);
        assert_eq!(page1["metadata"]["remainingItemCount"], 1);
        let token = page1["metadata"]["continue"].as_str().unwrap();
        let (_, page2) = get(&format!("/api/v1/pods?limit=2&continue={token}"));
        assert_eq!(page2["items"][0]["metadata"]["namespace"], "other");
        assert!(page2["metadata"].get("continue").is_none());

        let (code, missing) = get("/api/v1/namespaces/default/pods/nosuch");
        assert_eq!(code, 404);
        assert_eq!(missing["message"], "pods \"nosuch\" not found");
        let (code, _) = get("/api/v1/namespaces/other/pods/web");
        assert_eq!(code, 200);

        let (_, ns) = get("/api/v1/namespaces");
        let names: Vec<&str> = ns["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["default", "other"]);
        let (code, _) = get("/api/v1/namespaces/nosuch");
        assert_eq!(code, 404);
    }

    #[test]
    fn tables_have_kubectls_pod_columns_and_metadata_rows() {
        let t = TestStore::new();
        t.add("default", "web", "u1", "Running");
        let (code, table) = body(
            t.api
                .handle(&ApiRequest::get("/api/v1/namespaces/default/pods", TABLE)),
        );
        assert_eq!(code, 200);
        assert_eq!(table["kind"], "Table");
        let columns: Vec<(&str, i64)> = table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["priority"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            columns,
            [
                ("Name", 0),
                ("Ready", 0),
                ("Status", 0),
                ("Restarts", 0),
                ("Age", 0),
                ("IP", 1),
                ("Node", 1),
                ("Nominated Node", 1),
                ("Readiness Gates", 1)
            ]
        );
        let row = &table["rows"][0];
        assert_eq!(row["cells"][0], "web");
        assert_eq!(row["cells"][1], "0/1");
        assert_eq!(row["cells"][2], "Running");
        assert_eq!(row["cells"][5], "<none>", "no IP yet");
        assert_eq!(row["cells"][6], "node");
        assert_eq!(row["cells"][8], "<none>", "no readiness gates");
        assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(row["object"]["metadata"]["labels"]["app"], "web");
    }

    #[test]
    fn unserved_verbs_and_paths_are_the_api_servers_errors() {
        let t = TestStore::new();
        let mut req = ApiRequest::get("/api/v1/namespaces/default/pods", "");
        req.method = "POST".to_owned();
        let (code, status) = body(t.api.handle(&req));
        assert_eq!(
            (code, status["reason"].as_str()),
            (405, Some("MethodNotAllowed"))
        );
        let (code, _) = body(t.api.handle(&ApiRequest::get(
            "/api/v1/namespaces/default/pods/x/log",
            "",
        )));
        assert_eq!(code, 405);
        let (code, _) = body(t.api.handle(&ApiRequest::get("/api/v1/services", "")));
        assert_eq!(code, 404);
        let (code, _) = body(t.api.handle(&ApiRequest::get(
            "/api/v1/pods?fieldSelector=spec.x%3D1",
            "",
        )));
        assert_eq!(code, 400);
    }
}
