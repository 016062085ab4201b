//! Pipeline tests, and the helpers the other modules' tests drive the pipeline with
//! (`run`, `errors`, `warnings`, and the `deployment` and `job` inputs).

use super::*;

pub(crate) fn run(text: &str) -> Result<Manifest, Rejected> {
    load(&[Input::new("pod.yaml", text)], &LoadOptions::default())
}

pub(crate) fn errors(text: &str) -> Vec<String> {
    match run(text) {
        Ok(_) => vec![],
        Err(r) => r.errors.iter().map(|e| e.to_string()).collect(),
    }
}

pub(crate) fn warnings(text: &str) -> Vec<String> {
    match run(text) {
        Ok(m) => m.warnings.iter().map(|w| w.to_string()).collect(),
        Err(r) => r.warnings.iter().map(|w| w.to_string()).collect(),
    }
}

pub(crate) fn deployment(replicas: i32, extra_spec: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: c, image: nginx:1.27}}]{extra_spec}}}
"
    )
}

pub(crate) fn is_alnum_suffix(s: &str, n: usize) -> bool {
    s.len() == n
        && s.bytes()
            .all(|c| b"bcdfghjklmnpqrstvwxz2456789".contains(&c))
}

pub(crate) fn job(spec: &str, pod_spec: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: pi}}\nspec:\n{spec}  template:\n    spec: {{restartPolicy: Never, containers: [{{name: c, image: perl:5}}]{pod_spec}}}\n"
    )
}

#[test]
fn smoke() {
    let m = run("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n").unwrap();
    assert_eq!(m.pods.len(), 1);
    let p = &m.pods[0];
    eprintln!("{:#?}", p.pod);
    eprintln!("{:?}", m.warnings);
}

#[test]
fn duplicate_objects_are_refused() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: c, image: x:1}]}\n";
    let e = errors(&format!("{pod}---\n{pod}"));
    assert_eq!(e, ["pod.yaml: Pod \"web\": already defined in pod.yaml"]);
    // Same name in another namespace is fine.
    let other = pod.replace("{name: web}", "{name: web, namespace: other}");
    assert!(errors(&format!("{pod}---\n{other}")).is_empty());
    // A StatefulSet pod colliding with a bare pod.
    let ss = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\nspec:\n  replicas: 1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: x:1}]}\n";
    let bare = pod.replace("{name: web}", "{name: web-0}");
    let e = errors(&format!("{bare}---\n{ss}"));
    assert_eq!(
        e,
        ["pod.yaml: Pod \"web-0\": two objects of the input make a pod of this name"]
    );
}

#[test]
fn errors_of_several_files_are_all_reported() {
    let good = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: x:1}]}\n";
    let r = load(
        &[
            Input::new("a.yaml", "key: [unclosed\n"),
            Input::new("b.yaml", good.replace("image: x:1", "image: ''")),
            Input::new("c.yaml", good.replace("{name: a}", "{name: c}")),
        ],
        &LoadOptions::default(),
    )
    .unwrap_err();
    let e: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].starts_with("a.yaml:"), "{e:?}");
    assert_eq!(
        e[1],
        "b.yaml: Pod \"a\": spec.containers[0].image: Required value"
    );
}

#[test]
fn pull_policy_deviation_is_warned_only_when_it_matters() {
    let w = warnings("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: busybox}, {name: b, image: 'busybox:latest'}, {name: c, image: 'busybox:1.36'}, {name: d, image: busybox, imagePullPolicy: Always}, {name: e, image: 'reg:5000/busybox'}, {name: f, image: 'busybox@sha256:0123'}]}\n");
    let fields: Vec<&str> = w
        .iter()
        .filter(|w| w.contains("defaulted to IfNotPresent"))
        .map(|w| w.split(": ").nth(2).unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        [
            "spec.containers[0].imagePullPolicy",
            "spec.containers[1].imagePullPolicy",
            "spec.containers[4].imagePullPolicy",
        ]
    );
}

#[test]
fn image_tags() {
    for (image, latest) in [
        ("busybox", true),
        ("busybox:latest", true),
        ("busybox:1", false),
        ("localhost:5000/busybox", true),
        ("localhost:5000/busybox:v1", false),
        ("localhost:5000/busybox:latest", true),
        ("busybox@sha256:abc", false),
        ("docker.io/library/busybox:latest@sha256:abc", false),
        ("", false),
    ] {
        assert_eq!(image_is_latest(image), latest, "{image}");
    }
}

#[test]
fn generate_name_pods_get_a_name() {
    let m = run("apiVersion: v1\nkind: Pod\nmetadata: {generateName: job-}\nspec: {containers: [{name: c, image: x:1}]}\n").unwrap();
    assert!(is_alnum_suffix(
        m.pods[0].name.strip_prefix("job-").unwrap(),
        5
    ));
}

#[test]
fn exported_pods_lose_server_fields() {
    let m = run("apiVersion: v1\nkind: Pod\nmetadata: {name: a, uid: 1234, resourceVersion: '99', creationTimestamp: '2024-01-01T00:00:00Z', generation: 3}\nspec: {containers: [{name: c, image: x:1}]}\nstatus: {phase: Running, podIP: 10.0.0.1}\n").unwrap();
    let p = &m.pods[0].pod;
    assert!(p.status.is_none());
    assert!(p.metadata.resource_version.is_none());
    assert!(p.metadata.creation_timestamp.is_none());
    assert!(p.metadata.generation.is_none());
    assert_ne!(p.metadata.uid.as_deref(), Some("1234"));
}
