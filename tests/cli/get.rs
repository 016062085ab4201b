//! `minipod get pods`: tables, output formats, selectors, errors and `-w`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerState, ContainerStateRunning, PodStatus};
use serde_json::Value;

use crate::common::{minipod_bin, stderr_of_exit, TestRoot};
use fixture::*;

/// Pod records written straight into a test root, as the supervisor would write them.
pub mod fixture {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
        ContainerStateWaiting, ContainerStatus, Event, EventSource, ObjectReference, Pod,
        PodCondition, PodIP, PodSpec, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::jiff::{SignedDuration, Timestamp};
    use minipod_pod::store::{PodStore, StatusMeta};

    use crate::common::TestRoot;

    pub fn ago(seconds: i64) -> Time {
        Time(Timestamp::now() - SignedDuration::from_secs(seconds))
    }

    /// Three days: an AGE that prints as `3d` however long the test takes.
    pub const THREE_DAYS: i64 = 3 * 24 * 3600;

    /// A pod with one container per name (image busybox), created three days ago.
    pub fn pod(name: &str, containers: &[&str]) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
                creation_timestamp: Some(ago(THREE_DAYS)),
                labels: Some(BTreeMap::from([("app".to_owned(), name.to_owned())])),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: containers
                    .iter()
                    .map(|c| Container {
                        name: (*c).into(),
                        image: Some("busybox:1.36".into()),
                        ..Default::default()
                    })
                    .collect(),
                restart_policy: Some("Always".into()),
                ..Default::default()
            }),
            status: None,
        }
    }

    pub fn store(root: &TestRoot) -> PodStore {
        PodStore::open(root.path()).expect("open store")
    }

    /// Stores the pod; returns its directory.
    pub fn create(root: &TestRoot, pod: &Pod) -> PathBuf {
        store(root).create(pod).expect("create pod").dir
    }

    pub fn set_status(root: &TestRoot, pod: &Pod, status: &PodStatus) {
        let uid = pod.metadata.uid.as_deref().unwrap();
        store(root)
            .write_status(uid, status, &StatusMeta::default())
            .expect("write status");
    }

    pub fn running(name: &str, restarts: i32) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            image: "busybox:1.36".into(),
            image_id: "sha256:abc".into(),
            container_id: Some(format!("minipod://{name}-{restarts}")),
            ready: true,
            started: Some(true),
            restart_count: restarts,
            state: Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(ago(3600)),
                }),
                ..Default::default()
            }),
            last_state: (restarts > 0).then(|| ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 1,
                    reason: Some("Error".into()),
                    started_at: Some(ago(1300)),
                    finished_at: Some(ago(600)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn waiting(name: &str, reason: &str) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            image: "busybox:1.36".into(),
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn terminated(name: &str, exit_code: i32, restarts: i32) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            image: "busybox:1.36".into(),
            restart_count: restarts,
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code,
                    reason: Some(if exit_code == 0 { "Completed" } else { "Error" }.into()),
                    started_at: Some(ago(120)),
                    finished_at: Some(ago(60)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn condition(type_: &str, status: bool) -> PodCondition {
        PodCondition {
            type_: type_.into(),
            status: if status { "True" } else { "False" }.into(),
            last_transition_time: Some(ago(100)),
            ..Default::default()
        }
    }

    /// `Running` with every container running and ready.
    /// Pod `name` of the init-container demo: init container "setup", then app "main".
    pub fn init_demo(name: &str) -> Pod {
        let mut p = pod(name, &["main"]);
        p.spec.as_mut().unwrap().init_containers = Some(vec![Container {
            name: "setup".into(),
            image: Some("busybox:1.36".into()),
            ..Default::default()
        }]);
        p
    }

    /// A status of an [`init_demo`] pod: its phase, the statuses of "setup" and "main" (None:
    /// not reported yet) and its conditions (none: not reported yet).
    pub fn init_demo_status(
        phase: &str,
        setup: Option<ContainerStatus>,
        main: Option<ContainerStatus>,
        conditions: &[(&str, bool)],
    ) -> PodStatus {
        PodStatus {
            phase: Some(phase.into()),
            init_container_statuses: setup.map(|s| vec![s]),
            container_statuses: main.map(|s| vec![s]),
            conditions: (!conditions.is_empty())
                .then(|| conditions.iter().map(|(t, s)| condition(t, *s)).collect()),
            ..Default::default()
        }
    }

    pub fn running_status(containers: &[&str], restarts: i32) -> PodStatus {
        PodStatus {
            phase: Some("Running".into()),
            start_time: Some(ago(THREE_DAYS)),
            pod_ip: Some("10.88.0.7".into()),
            pod_ips: Some(vec![PodIP {
                ip: "10.88.0.7".into(),
            }]),
            host_ip: Some("127.0.0.1".into()),
            conditions: Some(vec![
                condition("Initialized", true),
                condition("Ready", true),
                condition("ContainersReady", true),
                condition("PodScheduled", true),
            ]),
            container_statuses: Some(containers.iter().map(|c| running(c, restarts)).collect()),
            qos_class: Some("BestEffort".into()),
            ..Default::default()
        }
    }

    pub fn event(pod: &Pod, type_: &str, reason: &str, message: &str, age: i64) -> Event {
        Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{reason}",
                    pod.metadata.name.as_deref().unwrap()
                )),
                namespace: Some("default".into()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                kind: Some("Pod".into()),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
                ..Default::default()
            },
            type_: Some(type_.into()),
            reason: Some(reason.into()),
            message: Some(message.into()),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                ..Default::default()
            }),
            first_timestamp: Some(ago(age)),
            last_timestamp: Some(ago(age)),
            count: Some(1),
            ..Default::default()
        }
    }

    pub fn add_event(root: &TestRoot, pod: &Pod, event: &Event) {
        store(root)
            .append_event(pod.metadata.uid.as_deref().unwrap(), event)
            .expect("append event");
    }

    pub use crate::common::{stderr, stdout};

    /// Two pods: `web` running with 2 restarts, `db` pending.
    pub fn two_pods(root: &TestRoot) -> (Pod, Pod) {
        let web = pod("web", &["app"]);
        create(root, &web);
        set_status(root, &web, &running_status(&["app"], 2));
        let db = pod("db", &["pg"]);
        create(root, &db);
        set_status(
            root,
            &db,
            &PodStatus {
                phase: Some("Pending".into()),
                container_statuses: Some(vec![waiting("pg", "ContainerCreating")]),
                ..Default::default()
            },
        );
        (web, db)
    }
}

#[test]
fn table_has_kubectls_columns_and_alignment() {
    let root = TestRoot::new();
    two_pods(&root);
    let out = root.minipod(&["get", "pods"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "NAME   READY   STATUS              RESTARTS      AGE\n\
         db     0/1     ContainerCreating   0             3d\n\
         web    1/1     Running             2 (10m ago)   3d\n"
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn resource_aliases_and_type_slash_name() {
    let root = TestRoot::new();
    two_pods(&root);
    for args in [
        &["get", "po", "web"][..],
        &["get", "pod", "web"],
        &["get", "Pods", "web"],
        &["get", "pod/web"],
    ] {
        let out = root.minipod(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.starts_with("NAME "), "{args:?}: {text}");
        assert_eq!(text.lines().count(), 2, "{args:?}: {text}");
        assert!(text.lines().nth(1).unwrap().starts_with("web "));
    }
}

#[test]
fn empty_namespace_says_no_resources_on_stderr() {
    let root = TestRoot::new();
    let out = root.minipod(&["get", "pods"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "No resources found in default namespace.\n");

    let out = root.minipod(&["get", "pods", "-n", "kube-system"]);
    assert_eq!(
        stderr(&out),
        "No resources found in kube-system namespace.\n"
    );

    let out = root.minipod(&["get", "pods", "-A"]);
    assert_eq!(stderr(&out), "No resources found\n");
}

#[test]
fn missing_pod_is_not_found_with_exit_1() {
    let root = TestRoot::new();
    let out = root.minipod(&["get", "pod", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): pods \"x\" not found\n"
    );

    // Found pods are printed, the missing one reported after them.
    two_pods(&root);
    let out = root.minipod(&["get", "pods", "web", "x", "-o", "name"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "pod/web\n");
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): pods \"x\" not found\n"
    );

    // A pod of another namespace is not found in this one.
    let out = root.minipod(&["get", "pod", "web", "-n", "other"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn all_namespaces_adds_a_namespace_column() {
    let root = TestRoot::new();
    two_pods(&root);
    let mut other = pod("cache", &["redis"]);
    other.metadata.namespace = Some("infra".into());
    create(&root, &other);
    let out = root.minipod(&["get", "pods", "-A"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE   NAME    READY"), "{text}");
    assert!(lines[1].starts_with("default     db "), "{text}");
    assert!(lines[3].starts_with("infra       cache   0/1 "), "{text}");

    let out = root.minipod(&["get", "pods", "-n", "infra", "-o", "name"]);
    assert_eq!(stdout(&out), "pod/cache\n");

    let out = root.minipod(&["get", "pod", "web", "-A"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn wide_adds_ip_node_nominated_node_and_readiness_gates() {
    let root = TestRoot::new();
    two_pods(&root);
    let out = root.minipod(&["get", "pods", "-o", "wide"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with("AGE   IP          NODE     NOMINATED NODE   READINESS GATES"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("3d    <none>      <none>   <none>           <none>"),
        "{text}"
    );
    assert!(
        lines[2].ends_with("3d    10.88.0.7   <none>   <none>           <none>"),
        "{text}"
    );
}

#[test]
fn no_headers_and_show_labels() {
    let root = TestRoot::new();
    two_pods(&root);
    let out = root.minipod(&["get", "pods", "--no-headers", "--show-labels"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().next().unwrap().starts_with("db "));
    assert!(
        text.lines().next().unwrap().ends_with("   app=db"),
        "{text}"
    );
}

#[test]
fn json_of_one_pod_is_a_v1_pod() {
    let root = TestRoot::new();
    two_pods(&root);
    let out = root.minipod(&["get", "pod", "web", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // kubectl's layout: 4-space indentation, sorted keys.
    assert!(
        text.starts_with(
            "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"Pod\",\n    \"metadata\": {\n"
        ),
        "{text}"
    );
    let pod: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(pod["metadata"]["name"], "web");
    assert_eq!(pod["metadata"]["namespace"], "default");
    assert_eq!(pod["metadata"]["uid"], "uid-web");
    assert!(pod["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .is_ok());
    assert!(pod["metadata"]["creationTimestamp"].is_string());
    assert_eq!(pod["spec"]["containers"][0]["name"], "app");
    let status = &pod["status"];
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["podIP"], "10.88.0.7");
    assert!(status["startTime"].is_string());
    assert_eq!(status["conditions"][1]["type"], "Ready");
    let cs = &status["containerStatuses"][0];
    assert_eq!(cs["name"], "app");
    assert_eq!(cs["ready"], true);
    assert_eq!(cs["started"], true);
    assert_eq!(cs["restartCount"], 2);
    assert_eq!(cs["containerID"], "minipod://app-2");
    assert!(cs["state"]["running"]["startedAt"].is_string());
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    // It round-trips into the Kubernetes type.
    let typed: k8s_openapi::api::core::v1::Pod = serde_json::from_str(&text).unwrap();
    assert_eq!(
        typed.status.unwrap().container_statuses.unwrap()[0].restart_count,
        2
    );
}

#[test]
fn json_of_several_pods_is_a_list() {
    let root = TestRoot::new();
    two_pods(&root);
    for args in [
        &["get", "pods", "-o", "json"][..],
        &["get", "pods", "web", "db", "-o", "json"],
    ] {
        let out = root.minipod(args);
        assert_eq!(out.status.code(), Some(0));
        let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(list["apiVersion"], "v1");
        assert_eq!(list["kind"], "List");
        assert_eq!(list["metadata"], serde_json::json!({"resourceVersion": ""}));
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items
            .iter()
            .all(|i| i["kind"] == "Pod" && i["apiVersion"] == "v1"));
    }
    // An empty result is an empty List, and no "No resources found".
    let empty = TestRoot::new();
    let out = empty.minipod(&["get", "pods", "-o", "json"]);
    let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list["items"], serde_json::json!([]));
    assert_eq!(stderr(&out), "");
}

#[test]
fn yaml_output() {
    let root = TestRoot::new();
    two_pods(&root);
    let out = root.minipod(&["get", "pod", "web", "-o", "yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  containers:\n  - image: busybox:1.36\n    name: app\n"),
        "{text}"
    );
    assert!(text.contains("  phase: Running\n"), "{text}");
    let out = root.minipod(&["get", "pods", "-o", "yaml"]);
    let text = stdout(&out);
    assert!(
        text.starts_with("apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n"),
        "{text}"
    );
    assert!(
        text.ends_with("kind: List\nmetadata:\n  resourceVersion: \"\"\n"),
        "{text}"
    );
}

#[test]
fn name_output() {
    let root = TestRoot::new();
    two_pods(&root);
    let out = root.minipod(&["get", "pods", "-o", "name"]);
    assert_eq!(stdout(&out), "pod/db\npod/web\n");
}

#[test]
fn jsonpath_output() {
    let root = TestRoot::new();
    two_pods(&root);
    let out = root.minipod(&["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "db web");
    let out = root.minipod(&["get", "pod", "web", "-o=jsonpath={.status.phase}"]);
    assert_eq!(stdout(&out), "Running");
    let out = root.minipod(&[
        "get",
        "pods",
        "-o",
        r#"jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.containerStatuses[0].restartCount}{"\n"}{end}"#,
    ]);
    assert_eq!(stdout(&out), "db\t0\nweb\t2\n");
    let out = root.minipod(&[
        "get",
        "pod",
        "web",
        "-o",
        r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#,
    ]);
    assert_eq!(stdout(&out), "True");
    // A template that does not parse is an input error.
    let out = root.minipod(&["get", "pods", "-o", "jsonpath={.items[*"]);
    let err = stderr_of_exit(&out, 2);
    assert!(err.starts_with("error: error parsing jsonpath"), "{err}");
}

#[test]
fn bad_output_format_is_a_usage_error() {
    let root = TestRoot::new();
    let out = root.minipod(&["get", "pods", "-o", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(
            "error: unable to match a printer suitable for the output format \"xml\", allowed formats are: "
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_resource_type_is_a_usage_error() {
    let root = TestRoot::new();
    let out = root.minipod(&["get", "deployments"]);
    assert_eq!(
        stderr_of_exit(&out, 2),
        "error: the server doesn't have a resource type \"deployments\"\n"
    );
    let out = root.minipod(&["get"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn label_selectors() {
    let root = TestRoot::new();
    two_pods(&root);
    let mut canary = pod("canary", &["app"]);
    canary
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("track".into(), "canary".into());
    create(&root, &canary);
    for (selector, want) in [
        ("app=web", "pod/web\n"),
        ("app==web", "pod/web\n"),
        ("app!=web", "pod/canary\npod/db\n"),
        ("track", "pod/canary\n"),
        ("!track", "pod/db\npod/web\n"),
        ("app in (db, web)", "pod/db\npod/web\n"),
        ("app notin (db,web)", "pod/canary\n"),
        ("app in (canary),track=canary", "pod/canary\n"),
        ("app=nope", ""),
    ] {
        let out = root.minipod(&["get", "pods", "-l", selector, "-o", "name"]);
        assert_eq!(out.status.code(), Some(0), "{selector}");
        assert_eq!(stdout(&out), want, "{selector}");
    }
    let out = root.minipod(&["get", "pods", "-l", "app=nope"]);
    assert_eq!(stderr(&out), "No resources found in default namespace.\n");
}

#[test]
fn bad_selector_is_a_usage_error() {
    let root = TestRoot::new();
    for bad in ["app in (", "=web", "app=web,", "app=web!"] {
        let out = root.minipod(&["get", "pods", "-l", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            stderr(&out).starts_with("error: unable to parse requirement: "),
            "{bad}: {}",
            stderr(&out)
        );
    }
    let out = root.minipod(&["get", "pods", "x", "-l", "app=web"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn init_container_progress_statuses() {
    let root = TestRoot::new();
    let p = init_demo("init");
    create(&root, &p);
    let (setup_done, main_waits) = (
        terminated("setup", 0, 0),
        waiting("main", "PodInitializing"),
    );
    let initialized = [("Initialized", true)];
    let cases = [
        (init_demo_status("Pending", None, None, &[]), "0/1 Pending"),
        (
            init_demo_status(
                "Pending",
                Some(running("setup", 0)),
                Some(main_waits.clone()),
                &[],
            ),
            "0/1 Init:0/1",
        ),
        (
            init_demo_status(
                "Pending",
                Some(setup_done.clone()),
                Some(main_waits),
                &initialized,
            ),
            "0/1 PodInitializing",
        ),
        (
            init_demo_status(
                "Succeeded",
                Some(setup_done),
                Some(terminated("main", 0, 0)),
                &initialized,
            ),
            "0/1 Completed",
        ),
    ];
    for (status, want) in cases {
        set_status(&root, &p, &status);
        let out = root.minipod(&["get", "pods", "--no-headers"]);
        let words: Vec<&str> = std::str::from_utf8(&out.stdout)
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(words.join(" "), format!("init {want} 0 3d"));
    }
}

/// Lines of a running `minipod` read on a thread, so that a test can wait with a deadline.
struct Lines {
    rx: mpsc::Receiver<String>,
    child: std::process::Child,
}

impl Lines {
    fn spawn(root: &TestRoot, args: &[&str]) -> Lines {
        let mut child = Command::new(minipod_bin())
            .arg("--root")
            .arg(root.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn minipod");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx, child }
    }

    fn next(&self) -> String {
        self.rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a line within 10s")
    }

    fn nothing_for(&self, d: Duration) {
        if let Ok(line) = self.rx.recv_timeout(d) {
            panic!("unexpected line {line:?}");
        }
    }

    fn wait(mut self) -> std::process::ExitStatus {
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("minipod did not exit within 10s");
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_with(phase: &str, state: ContainerState, ready: bool) -> PodStatus {
    PodStatus {
        phase: Some(phase.into()),
        container_statuses: Some(vec![k8s_openapi::api::core::v1::ContainerStatus {
            name: "app".into(),
            ready,
            state: Some(state),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

#[test]
fn watch_prints_a_row_per_change_and_ends_when_the_pod_is_gone() {
    let root = TestRoot::new();
    let p = pod("web", &["app"]);
    create(&root, &p);
    set_status(
        &root,
        &p,
        &PodStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        },
    );
    let lines = Lines::spawn(&root, &["get", "pod", "web", "-w"]);
    assert_eq!(lines.next(), "NAME   READY   STATUS    RESTARTS   AGE");
    assert_eq!(lines.next(), "web    0/1     Pending   0          3d");
    lines.nothing_for(Duration::from_millis(400));

    set_status(
        &root,
        &p,
        &status_with(
            "Running",
            ContainerState {
                running: Some(ContainerStateRunning::default()),
                ..Default::default()
            },
            true,
        ),
    );
    // Rows after the header keep the header's column widths.
    assert_eq!(lines.next(), "web    1/1     Running   0          3d");
    set_status(
        &root,
        &p,
        &status_with(
            "Succeeded",
            fixture::terminated("app", 0, 0).state.unwrap(),
            false,
        ),
    );
    assert_eq!(lines.next(), "web    0/1     Completed   0          3d");
    fixture::store(&root).remove("uid-web").unwrap();
    // The deletion shows the pod's last state, then the watch of a named pod ends.
    assert_eq!(lines.next(), "web    0/1     Completed   0          3d");
    assert!(lines.wait().success());
}

#[test]
fn watch_only_prints_changes_and_new_pods() {
    let root = TestRoot::new();
    let (web, _db) = two_pods(&root);
    let lines = Lines::spawn(&root, &["get", "pods", "--watch-only"]);
    lines.nothing_for(Duration::from_millis(500));
    set_status(&root, &web, &running_status(&["app"], 3));
    assert_eq!(lines.next(), "NAME   READY   STATUS    RESTARTS      AGE");
    assert_eq!(lines.next(), "web    1/1     Running   3 (10m ago)   3d");
    let new = pod("new", &["app"]);
    create(&root, &new);
    assert_eq!(lines.next(), "new    0/1               0             3d");
}

#[test]
fn watch_with_json_prints_each_changed_object() {
    let root = TestRoot::new();
    let (web, _db) = two_pods(&root);
    let lines = Lines::spawn(&root, &["get", "pod", "web", "-w", "-o", "json"]);
    let mut first = String::new();
    loop {
        let line = lines.next();
        first.push_str(&line);
        first.push('\n');
        if line == "}" {
            break;
        }
    }
    let pod: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(pod["kind"], "Pod");
    set_status(
        &root,
        &web,
        &PodStatus {
            phase: Some("Failed".into()),
            ..Default::default()
        },
    );
    let mut second = String::new();
    loop {
        let line = lines.next();
        second.push_str(&line);
        second.push('\n');
        if line == "}" {
            break;
        }
    }
    let pod: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(pod["status"]["phase"], "Failed");
}

#[test]
fn watch_of_the_init_container_demo_has_kubectls_rows() {
    let root = TestRoot::new();
    let mut p = init_demo("init-demo");
    p.spec.as_mut().unwrap().restart_policy = Some("Never".into());
    create(&root, &p);
    set_status(&root, &p, &init_demo_status("Pending", None, None, &[]));
    let lines = Lines::spawn(&root, &["get", "pods", "-w"]);
    assert_eq!(lines.next(), "NAME        READY   STATUS    RESTARTS   AGE");
    assert_eq!(lines.next(), "init-demo   0/1     Pending   0          3d");
    let (setup_done, main_waits) = (
        terminated("setup", 0, 0),
        waiting("main", "PodInitializing"),
    );
    let steps = [
        (
            init_demo_status(
                "Pending",
                Some(running("setup", 0)),
                Some(main_waits.clone()),
                &[],
            ),
            "init-demo   0/1     Init:0/1   0          3d",
        ),
        (
            init_demo_status(
                "Pending",
                Some(setup_done.clone()),
                Some(main_waits),
                &[("Initialized", true)],
            ),
            "init-demo   0/1     PodInitializing   0          3d",
        ),
        (
            init_demo_status(
                "Running",
                Some(setup_done.clone()),
                Some(running("main", 0)),
                &[("Initialized", true), ("Ready", true)],
            ),
            "init-demo   1/1     Running           0          3d",
        ),
        (
            init_demo_status(
                "Succeeded",
                Some(setup_done),
                Some(terminated("main", 0, 0)),
                &[("Initialized", true), ("Ready", false)],
            ),
            "init-demo   0/1     Completed         0          3d",
        ),
    ];
    for (status, row) in steps {
        set_status(&root, &p, &status);
        assert_eq!(lines.next(), row);
    }
}

#[test]
fn watch_with_name_and_yaml_output() {
    let root = TestRoot::new();
    let (web, _db) = two_pods(&root);
    let lines = Lines::spawn(&root, &["get", "pods", "-w", "-o", "name"]);
    assert_eq!(lines.next(), "pod/db");
    assert_eq!(lines.next(), "pod/web");
    set_status(&root, &web, &running_status(&["app"], 4));
    assert_eq!(lines.next(), "pod/web");
    drop(lines);

    // YAML documents after the first are separated by `---`, as kubectl's YAML printer does.
    let lines = Lines::spawn(&root, &["get", "pod", "web", "-w", "-o", "yaml"]);
    assert_eq!(lines.next(), "apiVersion: v1");
    set_status(&root, &web, &running_status(&["app"], 5));
    while lines.next() != "---" {}
    assert_eq!(lines.next(), "apiVersion: v1");
}
