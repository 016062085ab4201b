//! Helpers for the crate's unit tests: an [`Api`] over a temporary store.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use minipod_pod::store::{PodStore, StatusMeta};

use crate::router::Api;

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
                node_name: Some("node".to_owned()),
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
