use super::*;
use crate::load::tests::{deployment, is_alnum_suffix, job, run};
use crate::load::{load, Input};

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
fn generated_names_stay_within_63_characters() {
    let long = "a".repeat(60);
    let m = run(&deployment(1, "").replace("name: web}", &format!("name: {long}}}"))).unwrap();
    let name = &m.pods[0].name;
    assert_eq!(name.len(), 63, "{name}");
    assert!(name.starts_with(&"a".repeat(58)));
    assert_eq!(generated_name("web-", "abcde"), "web-abcde");
    assert_eq!(generated_name(&"é".repeat(40), "abcde").len(), 58 + 5);
}
