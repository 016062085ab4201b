use super::*;

fn errs(text: &str) -> Vec<String> {
    match parse_str("f.yaml", text) {
        Ok(_) => vec![],
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

fn ok(text: &str) -> ParsedFile {
    match parse_str("f.yaml", text) {
        Ok(p) => p,
        Err(e) => panic!("{text}\n{e:#?}"),
    }
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n";

#[test]
fn kinds_dispatch() {
    let text = "\
apiVersion: v1
kind: Pod
metadata: {name: a}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: b}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: c}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: d}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: e}
---
apiVersion: batch/v1
kind: Job
metadata: {name: f}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: g}
---
apiVersion: v1
kind: Secret
metadata: {name: h}
";
    let p = ok(text);
    let kinds: Vec<&str> = p.objects.iter().map(|o| o.kind()).collect();
    assert_eq!(
        kinds,
        [
            "Pod",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
            "DaemonSet",
            "Job",
            "ConfigMap",
            "Secret"
        ]
    );
    let names: Vec<String> = p.objects.iter().map(|o| o.object_ref().name).collect();
    assert_eq!(names, ["a", "b", "c", "d", "e", "f", "g", "h"]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn other_kinds_are_warned_and_skipped() {
    let text = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: svc}}\nspec: {{ports: [{{port: 80}}]}}\n---\n{POD}---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: ing}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: data}}\n"
    );
    let p = ok(&text);
    assert_eq!(p.objects.len(), 1);
    let w: Vec<String> = p.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        w,
        [
            "f.yaml: Service \"svc\": kind Service (v1) is not supported by minipod, skipped",
            "f.yaml: Ingress \"ing\": kind Ingress (networking.k8s.io/v1) is not supported by minipod, skipped",
            "f.yaml: PersistentVolumeClaim \"data\": kind PersistentVolumeClaim (v1) is not supported by minipod, skipped",
        ]
    );
    assert!(p
        .warnings
        .iter()
        .all(|w| w.kind == WarningKind::SkippedObject));
}

#[test]
fn wrong_version_of_a_known_kind_is_an_error() {
    assert_eq!(
        errs("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: web}\n"),
        ["f.yaml: Deployment \"web\": no matches for kind \"Deployment\" in version \"extensions/v1beta1\""]
    );
    assert_eq!(
        errs("apiVersion: apps/v1\nkind: Pod\nmetadata: {name: web}\n"),
        ["f.yaml: Pod \"web\": no matches for kind \"Pod\" in version \"apps/v1\""]
    );
}

#[test]
fn missing_kind_or_api_version() {
    assert_eq!(
        errs("apiVersion: v1\nmetadata: {name: a}\n"),
        ["f.yaml: document 1: Object 'Kind' is missing"]
    );
    assert_eq!(
        errs(&format!("{POD}---\nkind: Pod\nmetadata: {{name: a}}\n")),
        ["f.yaml: document 2: Object 'apiVersion' is missing"]
    );
    assert_eq!(
        errs("apiVersion: v1\nkind: ''\n"),
        ["f.yaml: document 1: Object 'Kind' is missing"]
    );
}

#[test]
fn empty_documents_are_skipped() {
    let p = ok(&format!("---\n---\n{POD}---\n# just a comment\n---\n"));
    assert_eq!(p.objects.len(), 1);
    assert!(ok("").objects.is_empty());
    assert!(ok("# nothing\n").objects.is_empty());
}

#[test]
fn syntax_errors_have_line_and_column() {
    let cases: &[(&str, &str)] = &[
        ("apiVersion: v1\nkind: Pod\nmetadata: [\n", "f.yaml:3:"),
        ("apiVersion: v1\nkind: Pod\n  bad: indent\n", "f.yaml:3:"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"unterminated\n",
            "f.yaml:",
        ),
        ("key: value\n- item\n", "f.yaml:2:"),
        ("{\"apiVersion\": \"v1\", \"kind\": \"Pod\",,}", "f.yaml:1:"),
    ];
    for (text, prefix) in cases {
        let e = errs(text);
        assert_eq!(e.len(), 1, "{text:?}: {e:?}");
        assert!(e[0].starts_with(prefix), "{text:?}: {e:?}");
        assert!(!e[0].contains('\n'), "one line: {e:?}");
        // file:line:col: message
        let rest = &e[0]["f.yaml:".len()..];
        let mut parts = rest.splitn(3, ':');
        let line: u64 = parts
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{e:?}"));
        let col: u64 = parts
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{e:?}"));
        assert!(line >= 1 && col >= 1, "{e:?}");
    }
}

#[test]
fn type_errors_have_location_and_field_path() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n    ports:\n    - containerPort: http\n";
    let e = errs(text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("f.yaml:10:22: spec.containers[0].ports[0].containerPort: "),
        "{e:?}"
    );
    let e =
        errs("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: {name: c}\n");
    assert!(e[0].starts_with("f.yaml:5:"), "{e:?}");
    assert!(e[0].contains("spec.containers"), "{e:?}");
    let e = errs("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  hostNetwork: [1]\n");
    assert!(e[0].contains("spec.hostNetwork"), "{e:?}");
    let e = errs("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  terminationGracePeriodSeconds: soon\n");
    assert!(e[0].starts_with("f.yaml:5:"), "{e:?}");
    assert!(e[0].contains("spec.terminationGracePeriodSeconds"), "{e:?}");
}

#[test]
fn unknown_fields_warn_with_path() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  lables: {a: b}\nspec:\n  containers:\n  - name: c\n    imagee: busybox\n    ports:\n    - containerPort: 80\n      hostport: 80\n  restartpolicy: Never\nstatuss: {}\n";
    let p = ok(text);
    let w: Vec<String> = p.warnings.iter().map(|w| w.to_string()).collect();
    for field in [
        "metadata.lables",
        "spec.containers[0].imagee",
        "spec.containers[0].ports[0].hostport",
        "spec.restartpolicy",
        "statuss",
    ] {
        assert!(
            w.contains(&format!(
                "f.yaml: Pod \"web\": {field}: unknown field (ignored, as kubectl --validate=warn would)"
            )),
            "{field}: {w:#?}"
        );
    }
    assert!(p
        .warnings
        .iter()
        .all(|w| w.kind == WarningKind::UnknownField));
}

#[test]
fn unknown_fields_in_workload_templates() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: x, comand: [sh]}]\n";
    let p = ok(text);
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(
        p.warnings[0].field.as_deref(),
        Some("spec.template.spec.containers[0].comand")
    );
}

#[test]
fn yaml_strings_stay_strings() {
    // Typed deserialization: `NO`, `yes`, `1.0` stay the text the user wrote.
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  country: NO\n  answer: yes\n  version: 1.0\n  octal: 0755\n  empty: ''\n";
    let p = ok(text);
    let Object::ConfigMap(cm) = &p.objects[0] else {
        panic!()
    };
    let d = cm.data.as_ref().unwrap();
    assert_eq!(d["country"], "NO");
    assert_eq!(d["answer"], "yes");
    assert_eq!(d["version"], "1.0");
    assert_eq!(d["octal"], "0755");
    assert_eq!(d["empty"], "");
}

#[test]
fn yaml_1_1_octal_modes() {
    // go-yaml (YAML 1.1) reads `0644` as octal, and so must we: manifests rely on it.
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n  volumes:\n  - name: a\n    secret: {secretName: s, defaultMode: 0400}\n  - name: b\n    secret: {secretName: s, defaultMode: 0o644}\n  - name: c\n    secret: {secretName: s, defaultMode: 420}\n";
    let p = ok(text);
    let Object::Pod(pod) = &p.objects[0] else {
        panic!()
    };
    let modes: Vec<Option<i32>> = pod
        .spec
        .as_ref()
        .unwrap()
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .map(|v| v.secret.as_ref().unwrap().default_mode)
        .collect();
    assert_eq!(modes, [Some(0o400), Some(0o644), Some(420)]);
}

#[test]
fn json_input_even_with_tabs() {
    let json = "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\"name\": \"web\"},\n\t\"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"busybox\", \"args\": [\"a\\tb\"]}]}\n}\n";
    let p = ok(json);
    let Object::Pod(pod) = &p.objects[0] else {
        panic!()
    };
    let c = &pod.spec.as_ref().unwrap().containers[0];
    // The tab inside the string is kept.
    assert_eq!(c.args.as_ref().unwrap()[0], "a\tb");
}

#[test]
fn json_list_of_documents_is_not_a_kind() {
    // A top-level sequence is not an object.
    let e = errs("[1, 2]");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("f.yaml:1:"), "{e:?}");
}

#[test]
fn secrets_decode_base64_and_reject_bad_base64() {
    let p = ok("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {pw: aHVudGVyMg==}\nstringData: {user: admin}\n");
    let Object::Secret(s) = &p.objects[0] else {
        panic!()
    };
    assert_eq!(s.data.as_ref().unwrap()["pw"].0, b"hunter2");
    let e = errs("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {pw: '!!notbase64'}\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("f.yaml:4:"), "{e:?}");
    assert!(e[0].contains("data"), "{e:?}");
}

#[test]
fn anchors_and_aliases_work() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - &c {name: a, image: busybox}\n  - {name: b, image: busybox}\n  initContainers: [*c]\n";
    let p = ok(text);
    let Object::Pod(pod) = &p.objects[0] else {
        panic!()
    };
    assert_eq!(
        pod.spec.as_ref().unwrap().init_containers.as_ref().unwrap()[0].name,
        "a"
    );
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    text.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
    // Refused by the parser's alias budget, quickly.
    let start = std::time::Instant::now();
    let r = parse_str("f.yaml", &text);
    eprintln!("{:?} {:?}", start.elapsed(), r.as_ref().err());
    assert!(r.is_err());
}

#[test]
fn never_panics_on_odd_input() {
    for text in [
        "\u{feff}apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
        "---\n...\n",
        "apiVersion: v1\nkind: Pod\nmetadata: !!str x\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: !!binary aGVsbG8=\n",
        "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 1e400}]}]}\n",
        "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 99999999999999999999}]}]}\n",
        "apiVersion: [v1]\nkind: Pod\n",
        "kind: {a: b}\n",
        "? complex key\n: value\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, name: b}\n",
        "\0",
        "%YAML 1.2\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    <<: {a: b}\n",
    ] {
        let _ = parse_str("f.yaml", text);
    }
}

#[test]
fn v1_lists_are_unpacked() {
    let text = "apiVersion: v1
kind: List
metadata: {resourceVersion: ''}
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cfg}
  data: {a: b}
- apiVersion: v1
  kind: Service
  metadata: {name: svc}
- apiVersion: v1
  kind: Pod
  metadata: {name: web}
  spec:
    containers: [{name: c, image: x, imagee: y}]
---
apiVersion: v1
kind: Secret
metadata: {name: s}
";
    let p = ok(text);
    let kinds: Vec<&str> = p.objects.iter().map(|o| o.kind()).collect();
    assert_eq!(kinds, ["ConfigMap", "Pod", "Secret"]);
    let w: Vec<String> = p.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.contains(
            &"f.yaml: Service \"svc\": kind Service (v1) is not supported by minipod, skipped"
                .to_string()
        ),
        "{w:#?}"
    );
    // Unknown fields of an item are named relative to the item.
    assert!(w.contains(&"f.yaml: Pod \"web\": spec.containers[0].imagee: unknown field (ignored, as kubectl --validate=warn would)".to_string()), "{w:#?}");
}

#[test]
fn list_item_problems() {
    assert_eq!(
        errs("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, metadata: {name: a}}\n- 5\n"),
        [
            "f.yaml: document 1 items[0]: Object 'Kind' is missing",
            "f.yaml: document 1 items[1]: Object 'Kind' is missing",
        ]
    );
    let e = errs("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: {containers: {}}\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("f.yaml:7:"), "{e:?}");
    assert!(ok("apiVersion: v1\nkind: List\nitems: []\n")
        .objects
        .is_empty());
    assert!(ok("apiVersion: v1\nkind: List\n").objects.is_empty());
    // `items` that is not a list: nothing to run (and no panic).
    let _ = parse_str("f.yaml", "apiVersion: v1\nkind: List\nitems: {a: b}\n");
}
