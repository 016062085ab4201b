//! Helpers for the crate's unit tests: an [`Api`] over a temporary store, with stand-in CLI
//! rules (equality-only label selectors; the real ones are the CLI's, tested end to end).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use minipod_pod::store::{PodStore, StatusMeta};

use crate::router::Api;
use crate::{CliRules, LabelMatcher};

pub struct TestRules;

impl CliRules for TestRules {
    fn label_selector(&self, selector: &str) -> Result<LabelMatcher, String> {
        let mut want = Vec::new();
        for part in selector.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("unable to parse requirement: {part}"))?;
            want.push((k.to_owned(), v.to_owned()));
        }
        Ok(Box::new(
            move |labels: Option<&BTreeMap<String, String>>| {
                want.iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            },
        ))
    }

    fn wide_pod_cells(&self, _pod: &Pod) -> [String; 4] {
        ["<none>", "node", "<none>", "<none>"].map(str::to_owned)
    }
}

pub struct TestStore {
    /// Kept so that the store outlives the test.
    _dir: tempfile::TempDir,
    pub api: Api,
    pub store: PodStore,
}

impl TestStore {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = PodStore::open(dir.path()).unwrap();
        let api = Api {
            root: dir.path().to_owned(),
            listen: "127.0.0.1:6443".parse().unwrap(),
            rules: Arc::new(TestRules),
        };
        TestStore {
            _dir: dir,
            api,
            store,
        }
    }

    /// Stores a pod `ns/name` with uid `uid`, labels `app=NAME`, phase `phase`.
    pub fn add(&self, ns: &str, name: &str, uid: &str, phase: &str) {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(ns.to_owned()),
                uid: Some(uid.to_owned()),
                labels: Some(BTreeMap::from([("app".to_owned(), name.to_owned())])),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".to_owned(),
                    image: Some("busybox:1.35".to_owned()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: None,
        };
        self.store.create(&pod).unwrap();
        self.set_phase(uid, phase);
    }

    pub fn set_phase(&self, uid: &str, phase: &str) {
        let status = PodStatus {
            phase: Some(phase.to_owned()),
            ..Default::default()
        };
        self.store
            .write_status(uid, &status, &StatusMeta::default())
            .unwrap();
    }
}
