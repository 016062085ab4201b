use super::*;
use k8s_openapi::api::core::v1::{Container, PodSpec};

fn pod(name: &str, uid: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(uid.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox:1.35".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    }
}

#[test]
fn create_then_load_merges_status_and_bumps_resource_version() {
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    let rec = store.create(&pod("web", "u1")).unwrap();
    assert_eq!(rec.pod.metadata.resource_version.as_deref(), Some("1"));
    let status = PodStatus {
        phase: Some("Pending".into()),
        ..Default::default()
    };
    let rv = store
        .write_status("u1", &status, &StatusMeta::default())
        .unwrap();
    assert_eq!(rv, 2);
    let loaded = store.load("u1").unwrap().unwrap();
    assert_eq!(loaded.pod.metadata.resource_version.as_deref(), Some("2"));
    let history = store.status_history("u1").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].metadata.resource_version.as_deref(), Some("2"));
    assert_eq!(loaded.pod.status.unwrap().phase.as_deref(), Some("Pending"));
    assert_eq!(loaded.pod.spec.unwrap().containers[0].name, "c");
}

#[test]
fn duplicate_name_in_namespace_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    store.create(&pod("web", "u1")).unwrap();
    let err = store.create(&pod("web", "u2")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pods \"web\" already exists in namespace \"default\""
    );
    assert!(store.load("u2").unwrap().is_none());
}

#[test]
fn uids_that_are_not_plain_names_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    for bad in ["", "../x", "a/b", ".hidden", "x\0y"] {
        assert!(matches!(
            store.create(&pod("p", bad)),
            Err(StoreError::BadUid { .. })
        ));
        assert!(store.load(bad).is_err());
    }
}

#[test]
fn events_append_and_skip_a_torn_line() {
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    store.create(&pod("web", "u1")).unwrap();
    let ev = Event {
        reason: Some("Started".into()),
        ..Default::default()
    };
    store.append_event("u1", &ev).unwrap();
    // A different event (a repeat would be folded: see events_repeats_are_folded).
    let ev = Event {
        reason: Some("Started".into()),
        message: Some("again".into()),
        ..Default::default()
    };
    store.append_event("u1", &ev).unwrap();
    let mut f = OpenOptions::new()
        .append(true)
        .open(store.pod_dir("u1").join(EVENTS_FILE))
        .unwrap();
    f.write_all(b"{\"reason\":\"Tor").unwrap();
    let events = store.events("u1").unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].reason.as_deref(), Some("Started"));
}

fn event(reason: &str, message: &str, field_path: &str, at: i64) -> Event {
    let t = Time(jiff::Timestamp::from_second(at).unwrap());
    Event {
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some("Warning".into()),
        count: Some(1),
        first_timestamp: Some(t.clone()),
        last_timestamp: Some(t),
        involved_object: k8s_openapi::api::core::v1::ObjectReference {
            field_path: Some(field_path.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn events_repeats_are_folded() {
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    store.create(&pod("web", "u1")).unwrap();
    let at = 1_700_000_000;
    store
        .append_event(
            "u1",
            &event("BackOff", "Back-off", "spec.containers{a}", at),
        )
        .unwrap();
    store
        .append_event(
            "u1",
            &event("Started", "Started", "spec.containers{a}", at + 1),
        )
        .unwrap();
    for i in 2..6 {
        store
            .append_event(
                "u1",
                &event("BackOff", "Back-off", "spec.containers{a}", at + i),
            )
            .unwrap();
    }
    // Same reason and message about another container: not the same event.
    store
        .append_event(
            "u1",
            &event("BackOff", "Back-off", "spec.containers{b}", at + 9),
        )
        .unwrap();
    let events = store.events("u1").unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    let folded = events
        .iter()
        .find(|e| {
            e.involved_object.field_path.as_deref() == Some("spec.containers{a}")
                && e.reason.as_deref() == Some("BackOff")
        })
        .unwrap();
    assert_eq!(folded.count, Some(5));
    assert_eq!(folded.first_timestamp.as_ref().unwrap().0.as_second(), at);
    assert_eq!(
        folded.last_timestamp.as_ref().unwrap().0.as_second(),
        at + 5
    );
    let mode = fs::metadata(store.pod_dir("u1").join(EVENTS_FILE))
        .unwrap()
        .permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.mode() & 0o777, 0o600);
}

#[test]
fn events_are_capped_dropping_the_oldest() {
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    store.create(&pod("web", "u1")).unwrap();
    for i in 0..(MAX_EVENTS as i64 + 20) {
        store
            .append_event(
                "u1",
                &event("Unhealthy", &format!("probe {i}"), "", 1_700_000_000 + i),
            )
            .unwrap();
    }
    let events = store.events("u1").unwrap();
    assert_eq!(events.len(), MAX_EVENTS);
    assert_eq!(events[0].message.as_deref(), Some("probe 20"));
}

#[test]
fn status_history_is_compacted_keeping_the_newest() {
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    store.create(&pod("web", "u1")).unwrap();
    let status = PodStatus {
        phase: Some("Running".into()),
        message: Some("m".repeat(2000)),
        ..Default::default()
    };
    let mut last = 0;
    for _ in 0..1200 {
        last = store
            .write_status("u1", &status, &StatusMeta::default())
            .unwrap();
    }
    let path = store.pod_dir("u1").join(STATUS_HISTORY_FILE);
    assert!(fs::metadata(&path).unwrap().len() <= HISTORY_MAX_BYTES + 4096);
    let history = store.status_history("u1").unwrap();
    assert!(
        history.len() >= HISTORY_KEEP && history.len() < 1200,
        "{}",
        history.len()
    );
    let rvs: Vec<u64> = history
        .iter()
        .map(|h| {
            h.metadata
                .resource_version
                .as_deref()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(*rvs.last().unwrap(), last);
    assert!(rvs.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn list_orders_and_remove_forgets() {
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    store.create(&pod("b", "u2")).unwrap();
    store.create(&pod("a", "u1")).unwrap();
    // A leftover temporary directory from a crashed create is not a pod.
    fs::create_dir(root.path().join("pods/.new-u9")).unwrap();
    let names: Vec<_> = store
        .list()
        .unwrap()
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    assert_eq!(names, ["a", "b"]);
    store.remove("u1").unwrap();
    store.remove("u1").unwrap();
    assert!(store.find("default", "a").unwrap().is_none());
    assert_eq!(store.current_resource_version().unwrap(), 2);
}

/// A tmpfs a dead supervisor left mounted in the pod directory (a memory emptyDir) is
/// unmounted before the record is deleted, and its content is never deleted through the
/// mount: the removal goes through and the mount is gone.
#[test]
fn remove_unmounts_what_is_left_before_deleting() {
    use nix::mount::{mount, umount2, MntFlags, MsFlags};
    if !minipod_testsupport::privileged() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    store.create(&pod("web", "u1")).unwrap();
    let vol = store.pod_dir("u1").join("volumes/mem");
    fs::create_dir_all(&vol).unwrap();
    mount(
        Some("tmpfs"),
        &vol,
        Some("tmpfs"),
        MsFlags::empty(),
        None::<&str>,
    )
    .unwrap();
    fs::write(vol.join("data"), b"x").unwrap();
    let result = store.remove("u1");
    let _ = umount2(&vol, MntFlags::MNT_DETACH);
    result.unwrap();
    assert!(!store.pod_dir("u1").exists());
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(root.path().to_str().unwrap()));
}

#[test]
fn a_corrupt_status_file_is_an_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let store = PodStore::open(root.path()).unwrap();
    store.create(&pod("web", "u1")).unwrap();
    fs::write(store.pod_dir("u1").join(STATUS_FILE), b"{not json").unwrap();
    let err = store.load("u1").unwrap_err();
    assert!(err
        .to_string()
        .ends_with("status.json is not a valid pod record"));
}
