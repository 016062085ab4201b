//! `minipod validate -f FILE`: exit 0 with warnings on stderr, 2 listing every error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{minipod_bin, stderr, stderr_of_exit, stdout};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write manifest");
    p
}

/// `validate` needs neither root nor a state directory.
fn validate(files: &[&Path]) -> Output {
    let mut cmd = Command::new(minipod_bin());
    cmd.arg("validate").env_remove("MINIPOD_ROOT");
    for f in files {
        cmd.arg("-f").arg(f);
    }
    cmd.output().expect("run minipod validate")
}

/// Writes `text` as `name` in a fresh folder and validates it, which must exit with `code`:
/// the file's path, the output and its stderr.
#[track_caller]
fn validate_text(name: &str, text: &str, code: i32) -> (PathBuf, Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), name, text);
    let out = validate(&[&f]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    (f, out, err)
}

const GOOD: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  MODE: production
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      nodeSelector:
        disktype: ssd
      initContainers:
      - name: migrate
        image: busybox:1.36
        command: [sh, -c, 'echo migrating']
      containers:
      - name: web
        image: nginx
        imagePullPolicy: IfNotPresent
        envFrom:
        - configMapRef: {name: web-config}
        ports:
        - {name: http, containerPort: 80}
        readinessProbe:
          httpGet: {port: http}
        volumeMounts:
        - {name: cache, mountPath: /var/cache/nginx}
      volumes:
      - name: cache
        emptyDir: {}
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
  - name: sh
    image: busybox
    commandd: [sleep, '3600']
";

#[test]
fn valid_file_exits_zero_with_warnings() {
    let (f, out, err) = validate_text("app.yaml", GOOD, 0);
    let path = f.display().to_string();
    for want in [
        format!("warning: {path}: Service \"web\": kind Service (v1) is not supported by minipod, skipped"),
        format!("warning: {path}: Pod \"debug\": spec.containers[0].commandd: unknown field"),
        format!("warning: {path}: Deployment \"web\": spec.template.spec.nodeSelector: ignored by minipod"),
        format!("warning: {path}: Pod \"debug\": spec.containers[0].imagePullPolicy: defaulted to IfNotPresent"),
    ] {
        assert!(err.lines().any(|l| l.starts_with(&want)), "missing {want:?} in\n{err}");
    }
    assert!(!err.contains("error"), "{err}");
    // The explicit IfNotPresent on nginx is not a deviation.
    assert!(
        !err.contains("Deployment \"web\": spec.template.spec.containers[0].imagePullPolicy"),
        "{err}"
    );
    let out_text = stdout(&out);
    assert_eq!(
        out_text
            .lines()
            .filter(|l| l.contains("from Deployment \"web\""))
            .count(),
        2,
        "{out_text}"
    );
    assert!(out_text.contains("pod/debug valid"), "{out_text}");
}

#[test]
fn invalid_file_exits_two_listing_every_error() {
    let (f, out, err) = validate_text(
        "pod.yaml",
        "\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  restartPolicy: Sometimes
  initContainers:
  - name: init
    image: busybox
  - name: init
    image: busybox
    livenessProbe:
      exec: {command: [true]}
  containers:
  - name: app
    volumeMounts:
    - {name: data, mountPath: /data}
",
        2,
    );
    let p = f.display();
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors,
        [
            format!("error: {p}: Pod \"web\": spec.containers[0].image: Required value"),
            format!("error: {p}: Pod \"web\": spec.containers[0].volumeMounts[0].name: Not found: \"data\""),
            format!("error: {p}: Pod \"web\": spec.initContainers[1].name: Duplicate value: \"init\""),
            format!("error: {p}: Pod \"web\": spec.initContainers[1].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"),
            format!("error: {p}: Pod \"web\": spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""),
        ],
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn broken_yaml_is_one_line_with_position() {
    let (f, _, err) = validate_text("broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: [\n    {name: c, image: busybox\n", 2);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    let prefix = format!("error: {}:", f.display());
    assert!(lines[0].starts_with(&prefix), "{err}");
    let mut pos = lines[0][prefix.len()..].splitn(3, ':');
    let line: u32 = pos.next().unwrap().parse().expect("line number");
    let col: u32 = pos.next().unwrap().parse().expect("column number");
    assert!(line >= 6 && col >= 1, "{err}");
}

#[test]
fn type_error_names_the_field() {
    let (f, _, err) = validate_text("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    ports:\n    - containerPort: eighty\n", 2);
    assert!(
        err.starts_with(&format!(
            "error: {}:9:22: spec.containers[0].ports[0].containerPort: ",
            f.display()
        )),
        "{err}"
    );
}

#[test]
fn several_files_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "cm.json",
        "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"ConfigMap\",\n\t\"metadata\": {\"name\": \"cfg\"},\n\t\"data\": {\"k\": \"v\"}\n}\n",
    );
    let b = write(
        dir.path(),
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n    env:\n    - name: K\n      valueFrom: {configMapKeyRef: {name: cfg, key: k}}\n",
    );
    // The ConfigMap comes from the other file.
    let out = validate(&[&a, &b]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Alone, the pod's reference cannot be satisfied.
    let out = validate(&[&b]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out)
        .contains("spec.containers[0].env[0].valueFrom.configMapKeyRef.name: Not found: \"cfg\""));
}

#[test]
fn missing_file_is_an_input_error() {
    let out = validate(&[Path::new("/nonexistent/minipod/pod.yaml")]);
    let err = stderr_of_exit(&out, 2);
    assert!(
        err.starts_with("error: /nonexistent/minipod/pod.yaml: "),
        "{err}"
    );
}

#[test]
fn no_file_is_a_usage_error() {
    let out = Command::new(minipod_bin())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
