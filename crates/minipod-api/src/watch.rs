//! `?watch=1` on pods: a stream of JSON lines `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR",
//! "object":...}` (k8s.io/apimachinery/pkg/apis/meta/v1 WatchEvent; the API server's
//! handlers/watch.go), each object a Pod or, when the client asked for a Table, a one-row
//! Table.
//!
//! minipod's store has no event log to read changes from, so a watch **polls** the store and
//! compares each pod's `resourceVersion` with the one it last sent (every stored change takes
//! a new one): a pod new since the last poll is ADDED, a changed one MODIFIED, a vanished (or
//! no longer selected) one DELETED in its last seen state. Changes overwritten within one poll
//! interval are seen only in their newest state, as a watch that reconnects would see them.
//!
//! Without a `resourceVersion` (or with `0`) the watch starts with a synthetic ADDED for every
//! selected pod, as the API server does; from a given version it sends the pods changed since
//! (as MODIFIED: the store does not say when a pod was created). `timeoutSeconds` ends the
//! stream; `allowWatchBookmarks=true` adds a BOOKMARK with the store's version from time to
//! time (its object has `kind` and `apiVersion`, which clients need to decode it).
//! `sendInitialEvents` (watch-list) is refused with 422, which makes kubectl fall back to
//! list + watch.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use minipod_pod::selector::LabelSelector;
use minipod_pod::store::PodStore;
use minipod_pod::time::Timestamp;
use serde_json::{json, Value};

use crate::objects::{self, Resource};
use crate::router::{Api, ApiRequest};
use crate::selectors::{label_selector, FieldSelector};
use crate::status::ApiError;
use crate::table::{self, IncludeObject, TableRow};

/// How often a watch reads the store again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How often a BOOKMARK is sent when the client allows them.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(10);
/// The longest watch without `timeoutSeconds` (the API server's --min-request-timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// One pod watch's selection and state.
pub struct PodWatch {
    api: Api,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    as_table: bool,
    include: IncludeObject,
    /// The version given by the client (none: synthetic ADDED events first).
    since: Option<u64>,
    pub timeout: Duration,
    pub bookmarks: bool,
    /// uid → (resourceVersion, the object last sent).
    seen: HashMap<String, (u64, Pod)>,
    started: bool,
}

impl std::fmt::Debug for PodWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodWatch")
            .field("namespace", &self.namespace)
            .field("fields", &self.fields)
            .field("since", &self.since)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PodWatch {
    /// Validates a watch request on pods (`namespace` none: all namespaces).
    pub fn new(api: &Api, req: &ApiRequest, namespace: Option<&str>) -> Result<Self, ApiError> {
        if req
            .param("sendInitialEvents")
            .is_some_and(|v| v == "true" || v == "1")
        {
            return Err(ApiError {
                code: 422,
                reason: "Invalid",
                message: "sendInitialEvents is not supported by minipod serve".to_owned(),
                details: None,
            });
        }
        let labels = label_selector(req)?;
        let fields = FieldSelector::parse(
            req.param("fieldSelector").unwrap_or(""),
            Resource::Pods.selectable_fields(),
        )?;
        let since =
            match req.param("resourceVersion").unwrap_or("") {
                "" | "0" => None,
                rv => Some(rv.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resourceVersion: {rv:?}"))
                })?),
            };
        let timeout = match req.param("timeoutSeconds").filter(|t| !t.is_empty()) {
            None => DEFAULT_TIMEOUT,
            Some(t) => Duration::from_secs(
                t.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t:?}")))?,
            ),
        };
        Ok(PodWatch {
            api: api.clone(),
            namespace: namespace.map(str::to_owned),
            labels,
            fields,
            as_table: req.wants_table(),
            include: IncludeObject::parse(req.param("includeObject"))?,
            since,
            timeout,
            bookmarks: req
                .param("allowWatchBookmarks")
                .is_some_and(|v| v == "true" || v == "1"),
            seen: HashMap::new(),
            started: false,
        })
    }

    /// The events since the last poll (the first poll: the initial ones), as JSON lines, and
    /// the store's resourceVersion. Blocking: it reads the store.
    pub fn poll(&mut self) -> Result<(Vec<Value>, u64), ApiError> {
        let store = PodStore::open(&self.api.root).map_err(ApiError::internal)?;
        let rv = store
            .current_resource_version()
            .map_err(ApiError::internal)?;
        let pods: Vec<Pod> = store
            .list()
            .map_err(ApiError::internal)?
            .into_iter()
            .map(|r| r.pod)
            .filter(|p| {
                self.namespace
                    .as_deref()
                    .is_none_or(|ns| p.metadata.namespace.as_deref() == Some(ns))
            })
            .filter(|p| self.labels.matches(p.metadata.labels.as_ref()))
            .filter(|p| self.fields.matches(|f| objects::pod_field(p, f)))
            .collect();
        let first = !self.started;
        self.started = true;
        let mut changes: Vec<(u64, &'static str, Pod)> = Vec::new();
        let mut now_seen = HashMap::new();
        for pod in pods {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let version = pod_version(&pod);
            let change = match self.seen.remove(&uid) {
                None if first => match self.since {
                    None => Some("ADDED"),
                    Some(since) if version > since => Some("MODIFIED"),
                    Some(_) => None,
                },
                None => Some("ADDED"),
                Some((old, _)) if old != version => Some("MODIFIED"),
                Some(_) => None,
            };
            if let Some(kind) = change {
                changes.push((version, kind, pod.clone()));
            }
            now_seen.insert(uid, (version, pod));
        }
        changes.sort_by_key(|(v, _, _)| *v);
        let gone: Vec<Pod> = self.seen.drain().map(|(_, (_, pod))| pod).collect();
        self.seen = now_seen;
        let now = Timestamp::now();
        let mut lines: Vec<Value> = changes
            .into_iter()
            .map(|(_, kind, pod)| self.event(kind, &pod, now))
            .collect();
        lines.extend(gone.iter().map(|pod| self.event("DELETED", pod, now)));
        Ok((lines, rv))
    }

    fn event(&self, kind: &str, pod: &Pod, now: Timestamp) -> Value {
        let object = if self.as_table {
            let row = TableRow {
                cells: table::pod_cells(pod, now),
                object: self.include.object(pod, &pod.metadata),
            };
            let meta = k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta {
                resource_version: pod.metadata.resource_version.clone(),
                ..Default::default()
            };
            serde_json::to_value(table::table(table::pod_columns(), vec![row], meta))
                .unwrap_or(Value::Null)
        } else {
            serde_json::to_value(pod).unwrap_or(Value::Null)
        };
        json!({"type": kind, "object": object})
    }
}

/// A BOOKMARK at `rv`.
pub fn bookmark(rv: u64) -> Value {
    json!({
        "type": "BOOKMARK",
        "object": {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}},
    })
}

/// An ERROR event carrying a Status.
pub fn error_event(err: &ApiError) -> Value {
    json!({"type": "ERROR", "object": err.to_status()})
}

fn pod_version(pod: &Pod) -> u64 {
    pod.metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestStore;

    fn types(lines: &[Value]) -> Vec<&str> {
        lines.iter().map(|l| l["type"].as_str().unwrap()).collect()
    }

    #[test]
    fn a_watch_without_a_version_starts_with_added_then_follows_changes() {
        let t = TestStore::new();
        t.add("default", "web", "u1", "Pending");
        t.add("other", "db", "u2", "Pending");
        let req = ApiRequest::get("/api/v1/namespaces/default/pods?watch=1", "");
        let mut w = PodWatch::new(&t.api, &req, Some("default")).unwrap();
        let (lines, _) = w.poll().unwrap();
        assert_eq!(types(&lines), ["ADDED"]);
        assert_eq!(lines[0]["object"]["metadata"]["name"], "web");
        assert!(w.poll().unwrap().0.is_empty());

        t.set_phase("u1", "Running");
        t.add("default", "late", "u3", "Pending");
        let (lines, rv) = w.poll().unwrap();
        assert_eq!(types(&lines), ["MODIFIED", "ADDED"]);
        assert_eq!(lines[0]["object"]["status"]["phase"], "Running");

        t.store.remove("u1").unwrap();
        let (lines, _) = w.poll().unwrap();
        assert_eq!(types(&lines), ["DELETED"]);
        assert_eq!(lines[0]["object"]["metadata"]["name"], "web");

        let mark = bookmark(rv);
        assert_eq!(mark["object"]["kind"], "Pod");
        assert_eq!(mark["object"]["apiVersion"], "v1");
    }

    #[test]
    fn a_watch_from_a_version_sends_only_later_changes_and_tables_when_asked() {
        let t = TestStore::new();
        t.add("default", "web", "u1", "Pending");
        let rv = t.store.current_resource_version().unwrap();
        t.add("default", "db", "u2", "Pending");
        let req = ApiRequest::get(
            &format!("/api/v1/pods?watch=1&resourceVersion={rv}&timeoutSeconds=5"),
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        );
        let mut w = PodWatch::new(&t.api, &req, None).unwrap();
        assert_eq!(w.timeout, Duration::from_secs(5));
        let (lines, _) = w.poll().unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["object"]["kind"], "Table");
        assert_eq!(lines[0]["object"]["rows"][0]["cells"][0], "db");

        let refused = ApiRequest::get("/api/v1/pods?watch=1&sendInitialEvents=true", "");
        assert_eq!(PodWatch::new(&t.api, &refused, None).unwrap_err().code, 422);
    }
}
