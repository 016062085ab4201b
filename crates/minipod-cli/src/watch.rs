//! `get -w`: turn the pod store into a stream of changes, like an API server watch.
//!
//! Every stored change of a pod takes a new `metadata.resourceVersion` (store.rs), so polling
//! the store and comparing resourceVersions per uid finds every pod that changed since the
//! last poll. A change that is overwritten before the next poll is seen only in its newest
//! state, as a watch that reconnects would see it.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use minipod_pod::store::{PodRecord, PodStore, StoreError};

/// How often the store is read again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    Added(Pod),
    Modified(Pod),
    /// The pod as it was last seen before its record disappeared.
    Deleted(Pod),
}

impl WatchEvent {
    pub fn pod(&self) -> &Pod {
        match self {
            WatchEvent::Added(p) | WatchEvent::Modified(p) | WatchEvent::Deleted(p) => p,
        }
    }
}

/// Which stored pods a watch covers.
pub type PodFilter = Box<dyn Fn(&PodRecord) -> bool>;

pub struct PodWatcher {
    store: PodStore,
    filter: PodFilter,
    /// uid → (resourceVersion, last seen object).
    seen: HashMap<String, (String, Pod)>,
}

impl PodWatcher {
    pub fn new(store: PodStore, filter: PodFilter) -> Self {
        PodWatcher {
            store,
            filter,
            seen: HashMap::new(),
        }
    }

    /// Lists the matching pods now and remembers them as seen (no events for them).
    pub fn list(&mut self) -> Result<Vec<PodRecord>, StoreError> {
        let records: Vec<PodRecord> = self
            .store
            .list()?
            .into_iter()
            .filter(|r| (self.filter)(r))
            .collect();
        self.seen = records
            .iter()
            .map(|r| {
                (
                    r.uid().to_owned(),
                    (resource_version(&r.pod), r.pod.clone()),
                )
            })
            .collect();
        Ok(records)
    }

    /// The changes since the last `list`/`poll`, oldest resourceVersion first, deletions last.
    pub fn poll(&mut self) -> Result<Vec<WatchEvent>, StoreError> {
        let records = self.store.list()?;
        let mut changed = Vec::new();
        let mut still_there = HashMap::new();
        for record in records.into_iter().filter(|r| (self.filter)(r)) {
            let uid = record.uid().to_owned();
            let rv = resource_version(&record.pod);
            match self.seen.remove(&uid) {
                Some((old_rv, _)) if old_rv == rv => {}
                Some((old_rv, _)) => {
                    changed.extend(self.replay(&record, &old_rv)?);
                }
                None => changed.push(WatchEvent::Added(record.pod.clone())),
            }
            still_there.insert(uid, (rv, record.pod));
        }
        changed.sort_by_key(|e| rv_number(e.pod()));
        let mut gone: Vec<Pod> = self.seen.drain().map(|(_, (_, pod))| pod).collect();
        gone.sort_by_key(rv_number);
        changed.extend(gone.into_iter().map(WatchEvent::Deleted));
        self.seen = still_there;
        Ok(changed)
    }

    /// Every state the pod went through after `old_rv`, from its status history, so that a
    /// state that lasted less than a poll interval (PodInitializing) is still delivered, as
    /// an API server watch would. Falls back to the current state alone.
    fn replay(&self, record: &PodRecord, old_rv: &str) -> Result<Vec<WatchEvent>, StoreError> {
        let old: u64 = old_rv.parse().unwrap_or(0);
        let mut events: Vec<WatchEvent> = self
            .store
            .status_history(record.uid())?
            .into_iter()
            .filter(|h| rv_number(h) > old)
            .map(|h| {
                let mut pod = record.pod.clone();
                pod.status = h.status;
                pod.metadata.resource_version = h.metadata.resource_version;
                pod.metadata.deletion_timestamp = h.metadata.deletion_timestamp;
                pod.metadata.deletion_grace_period_seconds =
                    h.metadata.deletion_grace_period_seconds;
                WatchEvent::Modified(pod)
            })
            .collect();
        // The newest history entry is the current record; anything newer (a metadata-only
        // change) still gets its event.
        let last = events.last().map(|e| rv_number(e.pod())).unwrap_or(0);
        if rv_number(&record.pod) > last {
            events.push(WatchEvent::Modified(record.pod.clone()));
        }
        Ok(events)
    }

    /// How many pods the watch currently sees.
    pub fn len(&self) -> usize {
        self.seen.len()
    }
}

fn resource_version(pod: &Pod) -> String {
    pod.metadata.resource_version.clone().unwrap_or_default()
}

fn rv_number(pod: &Pod) -> u64 {
    pod.metadata
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use minipod_pod::store::StatusMeta;

    fn pod(name: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn reports_added_modified_deleted_in_order() {
        let root = tempfile::tempdir().unwrap();
        let store = PodStore::open(root.path()).unwrap();
        store.create(&pod("a")).unwrap();
        let mut w = PodWatcher::new(store.clone(), Box::new(|r| r.name() != "ignored"));
        assert_eq!(w.list().unwrap().len(), 1);
        assert!(w.poll().unwrap().is_empty());
        store.create(&pod("b")).unwrap();
        store.create(&pod("ignored")).unwrap();
        let status = PodStatus {
            phase: Some("Running".into()),
            ..Default::default()
        };
        store
            .write_status("uid-a", &status, &StatusMeta::default())
            .unwrap();
        let events = w.poll().unwrap();
        let names: Vec<_> = events
            .iter()
            .map(|e| match e {
                WatchEvent::Added(p) => format!("+{}", p.metadata.name.as_deref().unwrap()),
                WatchEvent::Modified(p) => format!("~{}", p.metadata.name.as_deref().unwrap()),
                WatchEvent::Deleted(p) => format!("-{}", p.metadata.name.as_deref().unwrap()),
            })
            .collect();
        assert_eq!(names, ["+b", "~a"]);
        store.remove("uid-a").unwrap();
        assert!(matches!(&w.poll().unwrap()[..], [WatchEvent::Deleted(_)]));
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn every_status_written_between_polls_is_delivered() {
        let root = tempfile::tempdir().unwrap();
        let store = PodStore::open(root.path()).unwrap();
        store.create(&pod("a")).unwrap();
        let mut w = PodWatcher::new(store.clone(), Box::new(|_| true));
        w.list().unwrap();
        for phase in ["Pending", "Running", "Succeeded"] {
            let status = PodStatus {
                phase: Some(phase.into()),
                ..Default::default()
            };
            store
                .write_status("uid-a", &status, &StatusMeta::default())
                .unwrap();
        }
        let phases: Vec<String> = w
            .poll()
            .unwrap()
            .iter()
            .map(|e| e.pod().status.as_ref().unwrap().phase.clone().unwrap())
            .collect();
        assert_eq!(phases, ["Pending", "Running", "Succeeded"]);
        assert!(w.poll().unwrap().is_empty());
    }
}
