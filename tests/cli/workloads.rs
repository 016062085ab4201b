//! Workload controllers end to end: a Job runs its completions one `parallelism` batch at a
//! time and fails after `backoffLimit`; an `OrderedReady` StatefulSet starts pod N only once
//! pod N-1 is Running and Ready; `delete` stops a controller before its pods go.
//! Privileged: real pods from the busybox test image.

use std::path::Path;

use serde_json::Value;

use crate::pods::{assert_exit, position, stderr, stdout, timeline, PodRoot};
use minipod_testsupport::or_skip;

fn pods_with_label(root: &PodRoot, selector: &str) -> Vec<Value> {
    let out = root.minipod(&["get", "pods", "-l", selector, "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list["items"].as_array().cloned().unwrap_or_default()
}

fn workloads_left(root: &Path) -> usize {
    std::fs::read_dir(root.join("workloads")).map_or(0, |d| d.count())
}

#[test]
fn a_job_runs_its_completions_one_at_a_time_and_run_exits_0() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "job.yaml",
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: count}
spec:
  completions: 3
  parallelism: 1
  template:
    spec:
      restartPolicy: Never
      volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
      containers:
      - name: work
        image: busybox:1.35
        command: [sh, -c, "echo start >> /shared/log; sleep 0.3; echo end >> /shared/log"]
        volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 0);
    // Three pods, never two at once: start/end strictly alternate.
    let t = timeline(&shared.join("log"));
    assert_eq!(t, ["start", "end", "start", "end", "start", "end"], "{t:?}");
    let pods = pods_with_label(&root, "job-name=count");
    assert_eq!(pods.len(), 3, "{pods:#?}");
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Succeeded");
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "Job");
    }
    // `run` printed the rows of the pods the controller made later, too.
    let text = stdout(&out);
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap();
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}

#[test]
fn a_job_over_its_backoff_limit_fails_and_run_exits_1() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "job.yaml",
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: flaky}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox:1.35
        command: [sh, -c, "exit 3"]
"#,
    );
    let out = root.run(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "200")]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("BackoffLimitExceeded"),
        "{}",
        stderr(&out)
    );
    // The first pod and one replacement, both failed; no third.
    let pods = pods_with_label(&root, "job-name=flaky");
    assert_eq!(pods.len(), 2, "{pods:#?}");
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Failed");
    }
}

#[test]
fn an_ordered_stateful_set_starts_each_pod_after_the_previous_is_ready() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "sts.yaml",
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
      containers:
      - name: c
        image: busybox:1.35
        command: [sh, -c, "echo $(hostname) start >> /shared/log; sleep 0.5; touch /tmp/ready; echo $(hostname) ready >> /shared/log; exec sleep 1000"]
        readinessProbe:
          exec: {command: [cat, /tmp/ready]}
          periodSeconds: 1
        volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    let out = root.apply_with_env(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "pod/web-0 created");
    root.wait_for("web-2", "Ready", |p| {
        p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    });
    let t = timeline(&shared.join("log"));
    assert!(
        position(&t, "web-0 ready") < position(&t, "web-1 start"),
        "{t:?}"
    );
    assert!(
        position(&t, "web-1 ready") < position(&t, "web-2 start"),
        "{t:?}"
    );
    // Deleting the pods stops the controller first: nothing comes back, nothing is left.
    let out = root.minipod(&["delete", "pods", "--all", "--grace-period=1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(pods_with_label(&root, "app=web").is_empty());
    assert_eq!(workloads_left(root.path()), 0);
}

// kubectl delete -f deletes what the file declares: the pods of a Deployment in one file go
// (their generated names are found through the file each pod's plan names), a pod accepted
// in the same `run` from another file stays.
#[test]
fn delete_f_removes_the_pods_made_from_that_file_only() {
    let root = or_skip!(PodRoot::new());
    let web = root.manifest(
        "web.yaml",
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: busybox:1.35, command: [sleep, "3600"]}]
"#,
    );
    let other = root.manifest(
        "other.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: other}
spec:
  containers: [{name: c, image: busybox:1.35, command: [sleep, "3600"]}]
"#,
    );
    let out = root.minipod(&[
        "run",
        "-d",
        "-f",
        web.to_str().unwrap(),
        "-f",
        other.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    assert_eq!(pods_with_label(&root, "app=web").len(), 2);
    let out = root.minipod(&[
        "delete",
        "-f",
        web.to_str().unwrap(),
        "--grace-period=0",
        "--force",
    ]);
    assert_exit(&out, 0);
    assert!(pods_with_label(&root, "app=web").is_empty());
    let left = stdout(&root.minipod(&["get", "pods", "-o", "name"]));
    assert_eq!(left.trim(), "pod/other", "{left}");
}
