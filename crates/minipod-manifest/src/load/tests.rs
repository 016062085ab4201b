use super::workload::generated_name;
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

#[test]
fn smoke() {
    let m = run("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n").unwrap();
    assert_eq!(m.pods.len(), 1);
    let p = &m.pods[0];
    eprintln!("{:#?}", p.pod);
    eprintln!("{:?}", m.warnings);
}

fn deployment(replicas: i32, extra_spec: &str) -> String {
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

fn is_alnum_suffix(s: &str, n: usize) -> bool {
    s.len() == n
        && s.bytes()
            .all(|c| b"bcdfghjklmnpqrstvwxz2456789".contains(&c))
}

#[test]
fn deployment_pods_are_named_like_kubectl() {
    let m = run(&deployment(3, "")).unwrap();
    assert_eq!(m.pods.len(), 3);
    assert_eq!(m.workloads.len(), 1);
    let WorkloadKind::Deployment {
        replicas,
        replica_set,
        pod_template_hash,
    } = &m.workloads[0].kind
    else {
        panic!("{:?}", m.workloads[0].kind)
    };
    assert_eq!(*replicas, 3);
    assert!(is_alnum_suffix(pod_template_hash, 10));
    assert_eq!(replica_set, &format!("web-{pod_template_hash}"));
    let mut names = std::collections::BTreeSet::new();
    for p in &m.pods {
        let rest = p
            .name
            .strip_prefix(&format!("web-{pod_template_hash}-"))
            .unwrap();
        assert!(is_alnum_suffix(rest, 5), "{}", p.name);
        names.insert(p.name.clone());
        let labels = p.pod.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["app"], "web");
        assert_eq!(&labels["pod-template-hash"], pod_template_hash);
        let owner = &p.pod.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("ReplicaSet", replica_set.as_str())
        );
        assert_eq!(owner.controller, Some(true));
        assert_eq!(p.controller.as_ref().unwrap().kind, "Deployment");
        assert_eq!(p.namespace, "default");
        assert_eq!(p.uid.len(), 36);
    }
    assert_eq!(names.len(), 3, "names are distinct");
    assert_eq!(
        m.workloads[0].pods,
        m.pods.iter().map(|p| p.name.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn names_are_reproducible_per_seed() {
    let a = run(&deployment(2, "")).unwrap();
    let b = run(&deployment(2, "")).unwrap();
    let names = |m: &Manifest| m.pods.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    let c = load(
        &[Input::new("pod.yaml", deployment(2, ""))],
        &LoadOptions {
            seed: 42,
            ..Default::default()
        },
    )
    .unwrap();
    assert_ne!(names(&a), names(&c));
    // The template hash depends on the template only.
    assert_eq!(a.workloads[0].kind, c.workloads[0].kind);
    let d = run(&deployment(2, ", hostNetwork: true")).unwrap();
    assert_ne!(a.workloads[0].kind, d.workloads[0].kind);
}

#[test]
fn deployment_with_zero_replicas_makes_no_pods() {
    let m = run(&deployment(0, "")).unwrap();
    assert!(m.pods.is_empty());
    assert_eq!(m.workloads.len(), 1);
}

#[test]
fn template_errors_name_the_workload_and_template_path() {
    let e = errors(&deployment(1, ", restartPolicy: Never"));
    assert_eq!(
        e,
        ["pod.yaml: Deployment \"web\": spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""]
    );
    let e = errors(&deployment(1, ", initContainers: [{name: c, image: x}]"));
    assert_eq!(
        e,
        ["pod.yaml: Deployment \"web\": spec.template.spec.initContainers[0].name: Duplicate value: \"c\""]
    );
    let e = errors(&deployment(1, ", activeDeadlineSeconds: 5"));
    assert_eq!(
        e,
        ["pod.yaml: Deployment \"web\": spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in Deployment is not Supported"]
    );
    let e = errors(&deployment(-1, ""));
    assert_eq!(
        e,
        ["pod.yaml: Deployment \"web\": spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
    );
}

#[test]
fn selector_rules() {
    let text = deployment(1, "").replace("matchLabels: {app: web}", "matchLabels: {app: api}");
    assert_eq!(
        errors(&text),
        ["pod.yaml: Deployment \"web\": spec.template.metadata.labels: Invalid value: {\"app\": \"web\"}: `selector` does not match template `labels`"]
    );
    let text = deployment(1, "").replace("  selector: {matchLabels: {app: web}}\n", "");
    assert_eq!(
        errors(&text),
        ["pod.yaml: Deployment \"web\": spec.selector: Required value"]
    );
    let text = deployment(1, "").replace("matchLabels: {app: web}", "matchLabels: {}");
    assert_eq!(
        errors(&text),
        ["pod.yaml: Deployment \"web\": spec.selector: Invalid value: {}: empty selector is invalid for deployment"]
    );
    let text = deployment(1, "").replace(
        "matchLabels: {app: web}",
        "matchExpressions: [{key: app, operator: In, values: [web, api]}, {key: tier, operator: DoesNotExist}]",
    );
    assert!(errors(&text).is_empty());
    let text = deployment(1, "").replace(
        "matchLabels: {app: web}",
        "matchExpressions: [{key: app, operator: NotIn, values: [web]}]",
    );
    assert_eq!(errors(&text).len(), 1);
    let text = deployment(1, "").replace(
        "matchLabels: {app: web}",
        "matchExpressions: [{key: app, operator: Near, values: [web]}]",
    );
    let e = errors(&text);
    assert!(
        e[0].contains("spec.selector.matchExpressions[0].operator: Unsupported value: \"Near\""),
        "{e:?}"
    );
}

#[test]
fn replica_set_and_daemon_set() {
    let rs = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\nspec:\n  replicas: 2\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: x:1}]}\n";
    let m = run(rs).unwrap();
    assert_eq!(m.pods.len(), 2);
    for p in &m.pods {
        assert!(
            is_alnum_suffix(p.name.strip_prefix("rs-").unwrap(), 5),
            "{}",
            p.name
        );
        assert_eq!(
            p.pod.metadata.owner_references.as_ref().unwrap()[0].kind,
            "ReplicaSet"
        );
    }
    let ds = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: x:1}]}\n";
    let m = run(ds).unwrap();
    assert_eq!(m.pods.len(), 1);
    let p = &m.pods[0];
    assert!(is_alnum_suffix(p.name.strip_prefix("agent-").unwrap(), 5));
    let l = p.pod.metadata.labels.as_ref().unwrap();
    assert_eq!(l["pod-template-generation"], "1");
    assert!(l.contains_key("controller-revision-hash"));
    assert_eq!(m.workloads[0].kind, WorkloadKind::DaemonSet);
}

#[test]
fn stateful_set_pods_are_ordinal_with_stable_hostnames() {
    let ss = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db-hl
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: c
        image: postgres:17
        volumeMounts: [{name: data, mountPath: /var/lib/postgresql}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
";
    let m = run(ss).unwrap();
    // OrderedReady: only db-0 exists at first; the controller makes the next ones.
    let names: Vec<&str> = m.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["db-0"]);
    let later: Vec<_> = (1..3).map(|i| m.new_pod(0, i, 0).unwrap()).collect();
    for (i, p) in m.pods.iter().chain(later.iter()).enumerate() {
        assert_eq!(p.sandbox.hostname, format!("db-{i}"));
        assert_eq!(p.sandbox.subdomain.as_deref(), Some("db-hl"));
        assert_eq!(
            p.sandbox.domain.as_deref(),
            Some("db-hl.default.svc.cluster.local")
        );
        let l = p.pod.metadata.labels.as_ref().unwrap();
        assert_eq!(l["statefulset.kubernetes.io/pod-name"], format!("db-{i}"));
        assert_eq!(l["apps.kubernetes.io/pod-index"], i.to_string());
        assert_eq!(p.controller.as_ref().unwrap().index, i as u32);
        // The claim became an emptyDir volume that the mount resolves to.
        assert_eq!(p.volumes[0].name, "data");
        assert_eq!(p.containers[0].mounts[0].volume, 0);
    }
    let WorkloadKind::StatefulSet {
        ordered_ready,
        service_name,
        ..
    } = &m.workloads[0].kind
    else {
        panic!()
    };
    assert!(*ordered_ready);
    assert_eq!(service_name.as_deref(), Some("db-hl"));
    assert!(m
        .warnings
        .iter()
        .any(|w| w.field.as_deref() == Some("spec.volumeClaimTemplates")));
}

fn job(spec: &str, pod_spec: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: pi}}\nspec:\n{spec}  template:\n    spec: {{restartPolicy: Never, containers: [{{name: c, image: perl:5}}]{pod_spec}}}\n"
    )
}

#[test]
fn job_defaults_and_pods() {
    let m = run(&job("", "")).unwrap();
    assert_eq!(m.pods.len(), 1);
    let p = &m.pods[0];
    assert!(
        is_alnum_suffix(p.name.strip_prefix("pi-").unwrap(), 5),
        "{}",
        p.name
    );
    let l = p.pod.metadata.labels.as_ref().unwrap();
    assert_eq!(l["job-name"], "pi");
    assert_eq!(l["batch.kubernetes.io/job-name"], "pi");
    assert_eq!(l["controller-uid"], m.workloads[0].uid);
    assert_eq!(
        p.pod.metadata.owner_references.as_ref().unwrap()[0].api_version,
        "batch/v1"
    );
    assert_eq!(
        m.workloads[0].kind,
        WorkloadKind::Job {
            completions: Some(1),
            parallelism: 1,
            backoff_limit: 6,
            indexed: false,
            suspend: false,
            active_deadline_seconds: None,
            ttl_seconds_after_finished: None,
        }
    );
}

#[test]
fn job_parallelism_and_completions() {
    let cases: &[(&str, usize, Option<i32>, i32)] = &[
        ("  completions: 5\n  parallelism: 2\n", 2, Some(5), 2),
        ("  completions: 2\n  parallelism: 5\n", 2, Some(2), 5),
        ("  parallelism: 3\n", 3, None, 3),
        ("  completions: 3\n", 1, Some(3), 1),
        ("  completions: 0\n", 0, Some(0), 1),
        ("  parallelism: 0\n", 0, None, 0),
        (
            "  completions: 4\n  parallelism: 4\n  suspend: true\n",
            0,
            Some(4),
            4,
        ),
    ];
    for (spec, pods, completions, parallelism) in cases {
        let m = run(&job(spec, "")).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(m.pods.len(), *pods, "{spec}");
        let WorkloadKind::Job {
            completions: c,
            parallelism: p,
            ..
        } = &m.workloads[0].kind
        else {
            panic!()
        };
        assert_eq!((c, p), (completions, parallelism), "{spec}");
    }
}

#[test]
fn indexed_job_pods_carry_their_index() {
    let m = run(&job(
        "  completionMode: Indexed\n  completions: 3\n  parallelism: 3\n",
        "",
    ))
    .unwrap();
    for (i, p) in m.pods.iter().enumerate() {
        let rest = p.name.strip_prefix(&format!("pi-{i}-")).unwrap();
        assert!(is_alnum_suffix(rest, 5));
        assert_eq!(p.sandbox.hostname, format!("pi-{i}"));
        assert_eq!(
            p.pod.metadata.annotations.as_ref().unwrap()
                ["batch.kubernetes.io/job-completion-index"],
            i.to_string()
        );
    }
    assert_eq!(
        errors(&job("  completionMode: Indexed\n  parallelism: 2\n", "")),
        ["pod.yaml: Job \"pi\": spec.completions: Required value: when completion mode is Indexed"]
    );
}

#[test]
fn job_rules() {
    let always = job("", "").replace("restartPolicy: Never", "restartPolicy: Always");
    assert_eq!(
        errors(&always),
        ["pod.yaml: Job \"pi\": spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""]
    );
    // An unset restartPolicy defaults to Always and is refused the same way.
    let unset = job("", "").replace("restartPolicy: Never, ", "");
    assert_eq!(errors(&unset).len(), 1);
    assert_eq!(
        errors(&job("  backoffLimit: -1\n", "")),
        ["pod.yaml: Job \"pi\": spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"]
    );
    assert_eq!(
        errors(&job("  completionMode: Sometimes\n", "")),
        ["pod.yaml: Job \"pi\": spec.completionMode: Unsupported value: \"Sometimes\": supported values: \"NonIndexed\", \"Indexed\""]
    );
    assert!(errors(&job("  podFailurePolicy: {rules: []}\n", ""))[0]
        .contains("spec.podFailurePolicy: Forbidden: not supported by minipod"));
    assert!(errors(&job("  activeDeadlineSeconds: 0\n", ""))[0]
        .contains("spec.activeDeadlineSeconds: Invalid value: 0"));
}

#[test]
fn new_pod_makes_replacements_with_fresh_names() {
    let m = run(&job("  completions: 3\n", "")).unwrap();
    let a = m.new_pod(0, 1, 0).unwrap();
    let b = m.new_pod(0, 2, 0).unwrap();
    let c = m.new_pod(0, 1, 1).unwrap();
    assert_ne!(a.name, m.pods[0].name);
    assert_ne!(a.name, b.name);
    assert_ne!(a.name, c.name);
    assert_ne!(a.uid, b.uid);
    assert_eq!(a.controller.as_ref().unwrap().index, 1);
    assert!(m.new_pod(9, 0, 0).is_err());
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
fn config_map_and_secret_validation() {
    let e = errors("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {'bad/key': x}\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("pod.yaml: ConfigMap \"c\": data[bad/key]: Invalid value: \"bad/key\": a valid config key"), "{e:?}");
    let e = errors("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: x}\nbinaryData: {k: eA==}\n");
    assert_eq!(e, ["pod.yaml: ConfigMap \"c\": data[k]: Invalid value: \"k\": duplicate of key present in binaryData"]);
    let e = errors("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/tls\ndata: {tls.crt: eA==}\n");
    assert_eq!(e, ["pod.yaml: Secret \"s\": data[tls.key]: Required value"]);
    let e = errors("apiVersion: v1\nkind: Secret\nmetadata: {name: S}\n");
    assert!(
        e[0].starts_with("pod.yaml: Secret \"S\": metadata.name: Invalid value: \"S\""),
        "{e:?}"
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
fn read_inputs_reports_the_path() {
    let e = read_inputs(&[std::path::PathBuf::from("/nonexistent/pod.yaml")]).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/pod.yaml: "), "{e}");
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

#[test]
fn generated_names_stay_within_63_characters() {
    let long = "a".repeat(60);
    let m = run(&deployment(1, "").replace("name: web}", &format!("name: {long}}}"))).unwrap();
    let name = &m.pods[0].name;
    assert_eq!(name.len(), 63, "{name}");
    assert!(name.starts_with(&"a".repeat(58)));
    assert_eq!(generated_name("web-", "abcde"), "web-abcde");
    assert_eq!(generated_name(&"é".repeat(40), "abcde").len(), 58 + 5);
}

#[test]
fn read_inputs_reads_directories_in_name_order() {
    let dir = std::env::temp_dir().join(format!("minipod-manifest-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("b.yaml"), "b").unwrap();
    std::fs::write(dir.join("a.json"), "a").unwrap();
    std::fs::write(dir.join("c.yml"), "c").unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    let inputs = read_inputs(std::slice::from_ref(&dir)).unwrap();
    let texts: Vec<&str> = inputs.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(texts, ["a", "b", "c"]);
    assert!(inputs[0].name.ends_with("a.json"));
    std::fs::write(dir.join("bad.yaml"), [0xff, 0xfe]).unwrap();
    let e = read_inputs(&[dir.join("bad.yaml")]).unwrap_err();
    assert!(e.to_string().ends_with("bad.yaml: not UTF-8 text"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
