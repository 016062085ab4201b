//! Table tests of the validation rules, driven through the whole pipeline from YAML so
//! paths and messages are the ones users see.

use crate::load::tests::{deployment, errors, job, warnings};

const C: &str = "{name: c, image: busybox}";

fn pod(spec: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec: {spec}\n")
}

/// Errors without the `pod.yaml: Pod "web": ` prefix.
fn spec_errors(spec: &str) -> Vec<String> {
    errors(&pod(spec))
        .into_iter()
        .map(|e| {
            e.strip_prefix("pod.yaml: Pod \"web\": ")
                .map(str::to_string)
                .unwrap_or(e)
        })
        .collect()
}

/// Every expected string is found in its own error, and there are no other errors.
fn check(spec: &str, expected: &[&str]) {
    let got = spec_errors(spec);
    let mut unused: Vec<&String> = got.iter().collect();
    for want in expected {
        match unused.iter().position(|g| g.contains(want)) {
            Some(i) => {
                unused.remove(i);
            }
            None => panic!("spec {spec}\n  missing error containing {want:?}\n  got {got:#?}"),
        }
    }
    assert!(
        unused.is_empty(),
        "spec {spec}\n  unexpected errors {unused:#?}"
    );
}

fn ctr(extra: &str) -> String {
    format!("{{containers: [{{name: c, image: busybox, {extra}}}]}}")
}

#[test]
fn valid_specs_have_no_errors() {
    let cases = [
        format!("{{containers: [{C}]}}"),
        format!("{{containers: [{C}], restartPolicy: Never}}"),
        format!("{{containers: [{C}], restartPolicy: OnFailure}}"),
        format!("{{containers: [{C}], initContainers: [{{name: i, image: busybox}}]}}"),
        format!("{{containers: [{C}], initContainers: [{{name: s, image: busybox, restartPolicy: Always, readinessProbe: {{exec: {{command: [true]}}}}, lifecycle: {{postStart: {{exec: {{command: [x]}}}}}}}}]}}"),
        format!("{{containers: [{C}], volumes: [{{name: v}}]}}"),
        format!("{{containers: [{C}], volumes: [{{name: v, emptyDir: {{medium: Memory, sizeLimit: 64Mi}}}}]}}"),
        format!("{{containers: [{C}], volumes: [{{name: v, hostPath: {{path: /tmp, type: DirectoryOrCreate}}}}]}}"),
        ctr("ports: [{containerPort: 80, name: http}, {containerPort: 53, protocol: UDP}]"),
        ctr("env: [{name: A, value: x}, {name: my.env-name, value: y}, {name: B, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]"),
        ctr("env: [{name: L, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}]"),
        ctr("env: [{name: C, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}]"),
        ctr("resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 250m}}"),
        ctr("resources: {requests: {cpu: '1', memory: 1Gi, ephemeral-storage: 1G}}"),
        ctr("livenessProbe: {httpGet: {port: 8080}, initialDelaySeconds: 3}"),
        ctr("livenessProbe: {httpGet: {port: http}}, ports: [{containerPort: 80, name: http}]"),
        ctr("readinessProbe: {tcpSocket: {port: 80}}"),
        ctr("startupProbe: {grpc: {port: 9000}}"),
        ctr("lifecycle: {preStop: {sleep: {seconds: 5}}}"),
        ctr("lifecycle: {preStop: {sleep: {seconds: 0}}}"),
        ctr("lifecycle: {postStart: {httpGet: {port: 80, path: /x}}, stopSignal: SIGUSR1}"),
        ctr("volumeMounts: [{name: v, mountPath: /a, subPath: x/y}]").replace("]}", "], volumes: [{name: v}]}"),
        ctr("securityContext: {runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}"),
        format!("{{containers: [{C}], hostNetwork: true, dnsPolicy: ClusterFirstWithHostNet}}"),
        format!("{{containers: [{C}], dnsPolicy: None, dnsConfig: {{nameservers: [1.1.1.1], searches: [a.b], options: [{{name: ndots, value: '2'}}]}}}}"),
        format!("{{containers: [{C}], hostname: h, subdomain: s, shareProcessNamespace: true}}"),
        format!("{{containers: [{C}], hostAliases: [{{ip: 127.0.0.1, hostnames: [foo.local]}}]}}"),
        format!("{{containers: [{C}], terminationGracePeriodSeconds: 0}}"),
        format!("{{containers: [{C}], activeDeadlineSeconds: 10}}"),
        format!("{{containers: [{C}], securityContext: {{runAsNonRoot: true, fsGroup: 2000, sysctls: [{{name: net.ipv4.ping_group_range, value: '0 1'}}], seccompProfile: {{type: RuntimeDefault}}}}}}"),
        format!("{{containers: [{C}], os: {{name: linux}}}}"),
    ];
    for spec in &cases {
        check(spec, &[]);
    }
}

#[test]
fn container_rules() {
    let cases: &[(String, &[&str])] = &[
        ("{containers: []}".into(), &["spec.containers: Required value"]),
        ("{}".into(), &["spec.containers: Required value"]),
        ("{containers: [{image: busybox}]}".into(), &["spec.containers[0].name: Required value"]),
        ("{containers: [{name: c}]}".into(), &["spec.containers[0].image: Required value"]),
        ("{containers: [{name: C_1, image: busybox}]}".into(), &["spec.containers[0].name: Invalid value: \"C_1\": a lowercase RFC 1123 label must consist of"]),
        ("{containers: [{name: a.b, image: busybox}]}".into(), &["spec.containers[0].name: Invalid value: \"a.b\": must not contain dots"]),
        (format!("{{containers: [{{name: {}, image: x}}]}}", "a".repeat(64)), &["must be no more than 63 characters"]),
        ("{containers: [{name: c, image: ' busybox'}]}".into(), &["spec.containers[0].image: Invalid value: \" busybox\": must not have leading or trailing whitespace"]),
        (format!("{{containers: [{C}, {C}]}}"), &["spec.containers[1].name: Duplicate value: \"c\""]),
        (format!("{{containers: [{C}], initContainers: [{{name: c, image: x}}]}}"), &["spec.initContainers[0].name: Duplicate value: \"c\""]),
        (format!("{{containers: [{C}], initContainers: [{{name: init, image: x}}, {{name: init, image: y}}]}}"), &["spec.initContainers[1].name: Duplicate value: \"init\""]),
        (ctr("imagePullPolicy: Sometimes"), &["spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\""]),
        (ctr("terminationMessagePolicy: Nope"), &["spec.containers[0].terminationMessagePolicy: Unsupported value: \"Nope\": supported values: \"File\", \"FallbackToLogsOnError\""]),
        (ctr("restartPolicy: Always"), &["spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"]),
        (format!("{{containers: [{C}], initContainers: [{{name: i, image: x, restartPolicy: Never}}]}}"), &["spec.initContainers[0].restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""]),
        (format!("{{containers: [{C}], initContainers: [{{name: i, image: x, lifecycle: {{preStop: {{exec: {{command: [a]}}}}}}}}]}}"), &["spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always"]),
        (format!("{{containers: [{C}], initContainers: [{{name: i, image: x, livenessProbe: {{exec: {{command: [a]}}}}}}]}}"), &["spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"]),
        (format!("{{containers: [{C}], initContainers: [{{name: i, image: x, readinessProbe: {{exec: {{command: [a]}}}}}}]}}"), &["spec.initContainers[0].readinessProbe: Forbidden"]),
        (format!("{{containers: [{C}], initContainers: [{{name: i, image: x, startupProbe: {{exec: {{command: [a]}}}}}}]}}"), &["spec.initContainers[0].startupProbe: Forbidden"]),
        (format!("{{containers: [{C}], initContainers: [{{name: i, image: x, restartPolicy: Always, livenessProbe: {{exec: {{command: [a]}}, successThreshold: 2}}}}]}}"), &["spec.initContainers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]),
        (format!("{{containers: [{C}], initContainers: [{{name: i, image: x, resizePolicy: [{{resourceName: cpu, restartPolicy: NotRequired}}]}}]}}"), &["spec.initContainers[0].resizePolicy: Invalid value", "spec.initContainers[0].resizePolicy: ignored"]),
    ];
    for (spec, want) in cases {
        let want: Vec<&str> = want
            .iter()
            .copied()
            .filter(|w| !w.contains("ignored"))
            .collect();
        check(spec, &want);
    }
}

#[test]
fn port_rules() {
    let cases: &[(&str, &[&str])] = &[
        ("ports: [{containerPort: 0}]", &["spec.containers[0].ports[0].containerPort: Required value"]),
        ("ports: [{}]", &["spec.containers[0].ports[0].containerPort: Required value"]),
        ("ports: [{containerPort: 70000}]", &["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"]),
        ("ports: [{containerPort: -1}]", &["containerPort: Invalid value: -1: must be between 1 and 65535, inclusive"]),
        ("ports: [{containerPort: 80, hostPort: 70000}]", &["spec.containers[0].ports[0].hostPort: Invalid value: 70000"]),
        ("ports: [{containerPort: 80, protocol: HTTP}]", &["spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""]),
        ("ports: [{containerPort: 80, name: HTTP}]", &["spec.containers[0].ports[0].name: Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)", "spec.containers[0].ports[0].name: Invalid value: \"HTTP\": must contain at least one letter (a-z)"]),
        ("ports: [{containerPort: 80, name: a-very-long-port-name}]", &["must be no more than 15 characters"]),
        ("ports: [{containerPort: 80, name: '8080'}]", &["must contain at least one letter (a-z)"]),
        ("ports: [{containerPort: 80, name: a--b}]", &["must not contain consecutive hyphens"]),
        ("ports: [{containerPort: 80, name: -ab}]", &["must not begin or end with a hyphen"]),
        ("ports: [{containerPort: 80, name: web}, {containerPort: 81, name: web}]", &["spec.containers[0].ports[1].name: Duplicate value: \"web\""]),
        ("ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81, hostPort: 8080}]", &["spec.containers[0].ports[1].hostPort: Duplicate value: \"TCP//8080\""]),
        ("ports: [{containerPort: 80, hostIP: notanip}]", &["spec.containers[0].ports[0].hostIP: Invalid value: \"notanip\""]),
    ];
    for (extra, want) in cases {
        check(&ctr(extra), want);
    }
    // Different protocols on the same host port do not conflict.
    check(&ctr("ports: [{containerPort: 53, hostPort: 53}, {containerPort: 53, hostPort: 53, protocol: UDP}]"), &[]);
    // hostNetwork: hostPort must equal containerPort (defaulted when 0).
    check("{hostNetwork: true, containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 81}]}]}", &["spec.containers[0].ports[0].hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is true"]);
    check(
        "{hostNetwork: true, containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}",
        &[],
    );
}

#[test]
fn env_rules() {
    let cases: &[(&str, &[&str])] = &[
        ("env: [{value: x}]", &["spec.containers[0].env[0].name: Required value"]),
        ("env: [{name: 'A=B', value: x}]", &["spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"]),
        ("env: [{name: \"caf\\u00e9\"}]", &["a valid environment variable name must consist only of printable ASCII characters"]),
        ("env: [{name: A, valueFrom: {}}]", &["spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"]),
        ("env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]", &["spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"]),
        ("env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name}, resourceFieldRef: {resource: limits.cpu}}}]", &["may not have more than one field specified at a time"]),
        ("env: [{name: A, valueFrom: {fieldRef: {fieldPath: spec.foo}}}]", &["spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.foo\": supported values: \"metadata.name\""]),
        ("env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.labels}}}]", &["fieldPath: Unsupported value: \"metadata.labels\""]),
        ("env: [{name: A, valueFrom: {fieldRef: {fieldPath: \"spec.nodeName['x']\"}}}]", &["spec.containers[0].env[0].valueFrom.fieldRef: Invalid value: \"spec.nodeName\": does not support subscript"]),
        ("env: [{name: A, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['-x']\"}}}]", &["spec.containers[0].env[0].valueFrom.fieldRef: Invalid value: \"-x\""]),
        ("env: [{name: A, valueFrom: {fieldRef: {apiVersion: v2, fieldPath: metadata.name}}}]", &["error converting fieldPath"]),
        ("env: [{name: A, valueFrom: {resourceFieldRef: {resource: limits.gpu}}}]", &["spec.containers[0].env[0].valueFrom.resourceFieldRef.resource: Unsupported value: \"limits.gpu\""]),
        ("env: [{name: A, valueFrom: {resourceFieldRef: {resource: ''}}}]", &["spec.containers[0].env[0].valueFrom.resourceFieldRef.resource: Required value"]),
        ("env: [{name: A, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 2}}}]", &["spec.containers[0].env[0].valueFrom.resourceFieldRef.divisor: Invalid value: \"limits.cpu\": only divisor's values 1m and 1 are supported with the cpu resource"]),
        ("env: [{name: A, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 3Mi}}}]", &["only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource"]),
        ("env: [{name: A, valueFrom: {configMapKeyRef: {name: cm}}}]", &["spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Required value"]),
        ("env: [{name: A, valueFrom: {configMapKeyRef: {name: CM, key: k}}}]", &["spec.containers[0].env[0].valueFrom.configMapKeyRef.name: Invalid value: \"CM\""]),
        ("env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: 'a/b'}}}]", &["spec.containers[0].env[0].valueFrom.secretKeyRef.key: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters"]),
        ("env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: '..'}}}]", &["must not be '..'"]),
        ("envFrom: [{}]", &["spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`"]),
        ("envFrom: [{configMapRef: {name: a}, secretRef: {name: b}}]", &["spec.containers[0].envFrom: Invalid value: \"\": may not have more than one field specified at a time"]),
        ("envFrom: [{configMapRef: {}}]", &["spec.containers[0].envFrom[0].configMapRef.name: Required value"]),
        ("envFrom: [{secretRef: {name: Bad_Name}}]", &["spec.containers[0].envFrom[0].secretRef.name: Invalid value: \"Bad_Name\""]),
        ("envFrom: [{prefix: 'A=', configMapRef: {name: a, optional: true}}]", &["spec.containers[0].envFrom[0].prefix: Invalid value: \"A=\""]),
    ];
    for (extra, want) in cases {
        check(&ctr(extra), want);
    }
}

#[test]
fn volume_rules() {
    let cases: &[(&str, &[&str])] = &[
        ("volumes: [{emptyDir: {}}]", &["spec.volumes[0].name: Required value"]),
        ("volumes: [{name: V, emptyDir: {}}]", &["spec.volumes[0].name: Invalid value: \"V\""]),
        ("volumes: [{name: v}, {name: v}]", &["spec.volumes[1].name: Duplicate value: \"v\""]),
        ("volumes: [{name: v, emptyDir: {}, hostPath: {path: /x}}]", &["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"]),
        ("volumes: [{name: v, configMap: {name: a}, secret: {secretName: b}}]", &["spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type"]),
        ("volumes: [{name: v, hostPath: {path: ''}}]", &["spec.volumes[0].hostPath.path: Required value"]),
        ("volumes: [{name: v, hostPath: {path: /a/../b}}]", &["spec.volumes[0].hostPath.path: Invalid value: \"/a/../b\": must not contain '..'"]),
        ("volumes: [{name: v, hostPath: {path: /a, type: Dir}}]", &["spec.volumes[0].hostPath.type: Unsupported value: \"Dir\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\""]),
        ("volumes: [{name: v, emptyDir: {sizeLimit: -1Gi}}]", &["spec.volumes[0].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity"]),
        ("volumes: [{name: v, emptyDir: {sizeLimit: 1GB}}]", &["spec.volumes[0].emptyDir.sizeLimit: Invalid value: \"1GB\": quantities must match the regular expression"]),
        ("volumes: [{name: v, emptyDir: {medium: Disk}}]", &["spec.volumes[0].emptyDir.medium: Unsupported value: \"Disk\""]),
        ("volumes: [{name: v, configMap: {}}]", &["spec.volumes[0].configMap.name: Required value"]),
        ("volumes: [{name: v, secret: {}}]", &["spec.volumes[0].secret.secretName: Required value"]),
        ("volumes: [{name: v, configMap: {name: c, optional: true, defaultMode: 1000}}]", &["spec.volumes[0].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive"]),
        ("volumes: [{name: v, secret: {secretName: s, optional: true, items: [{key: '', path: ''}]}}]", &["spec.volumes[0].secret.items[0].key: Required value", "spec.volumes[0].secret.items[0].path: Required value"]),
        ("volumes: [{name: v, configMap: {name: c, optional: true, items: [{key: k, path: /abs}]}}]", &["spec.volumes[0].configMap.items[0].path: Invalid value: \"/abs\": must be a relative path"]),
        ("volumes: [{name: v, configMap: {name: c, optional: true, items: [{key: k, path: a/../../b}]}}]", &["spec.volumes[0].configMap.items[0].path: Invalid value: \"a/../../b\": must not contain '..'"]),
        ("volumes: [{name: v, configMap: {name: c, optional: true, items: [{key: k, path: ..data}]}}]", &["spec.volumes[0].configMap.items[0].path: Invalid value: \"..data\": must not start with '..'"]),
        ("volumes: [{name: v, configMap: {name: c, optional: true, items: [{key: k, path: p, mode: -1}]}}]", &["spec.volumes[0].configMap.items[0].mode: Invalid value: -1"]),
        ("volumes: [{name: v, downwardAPI: {items: [{path: p}]}}]", &["spec.volumes[0].downwardAPI.items[0]: Required value: one of fieldRef and resourceFieldRef is required"]),
        ("volumes: [{name: v, downwardAPI: {items: [{path: p, fieldRef: {fieldPath: status.podIP}}]}}]", &["spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: Unsupported value: \"status.podIP\""]),
        ("volumes: [{name: v, downwardAPI: {items: [{path: p, resourceFieldRef: {resource: limits.cpu}}]}}]", &["spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName: Required value"]),
        ("volumes: [{name: v, projected: {sources: [{configMap: {name: a, optional: true, items: [{key: k, path: p}]}}, {secret: {name: b, optional: true, items: [{key: k, path: p}]}}]}}]", &["spec.volumes[0].projected.sources[1]: Invalid value: \"p\": conflicting duplicate paths"]),
        ("volumes: [{name: v, persistentVolumeClaim: {claimName: data}}]", &["spec.volumes[0].persistentVolumeClaim: Forbidden: not supported by minipod"]),
        ("volumes: [{name: v, nfs: {server: s, path: /p}}]", &["spec.volumes[0].nfs: Forbidden: not supported by minipod"]),
        ("volumes: [{name: v, csi: {driver: d}}]", &["spec.volumes[0].csi: Forbidden: not supported by minipod"]),
        ("volumes: [{name: v, projected: {sources: [{serviceAccountToken: {path: token}}]}}]", &["spec.volumes[0].projected.sources[0].serviceAccountToken: Forbidden: not supported by minipod"]),
    ];
    for (vols, want) in cases {
        check(&format!("{{containers: [{C}], {vols}}}"), want);
    }
}

#[test]
fn volume_mount_rules() {
    let vols = "volumes: [{name: v}, {name: w}]";
    let cases: &[(&str, &[&str])] = &[
        ("volumeMounts: [{name: x, mountPath: /a}]", &["spec.containers[0].volumeMounts[0].name: Not found: \"x\""]),
        ("volumeMounts: [{mountPath: /a}]", &["spec.containers[0].volumeMounts[0].name: Required value", "spec.containers[0].volumeMounts[0].name: Not found: \"\""]),
        ("volumeMounts: [{name: v}]", &["spec.containers[0].volumeMounts[0].mountPath: Required value"]),
        ("volumeMounts: [{name: v, mountPath: /a}, {name: w, mountPath: /a}]", &["spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a\": must be unique"]),
        ("volumeMounts: [{name: v, mountPath: /a, subPath: /abs}]", &["spec.containers[0].volumeMounts.subPath: Invalid value: \"/abs\": must be a relative path"]),
        ("volumeMounts: [{name: v, mountPath: /a, subPath: ../up}]", &["spec.containers[0].volumeMounts.subPath: Invalid value: \"../up\": must not contain '..'"]),
        ("volumeMounts: [{name: v, mountPath: /a, subPath: x, subPathExpr: y}]", &["spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: \"y\": subPathExpr and subPath are mutually exclusive"]),
        ("volumeMounts: [{name: v, mountPath: /a, subPathExpr: '$(POD)/..'}]", &["spec.containers[0].volumeMounts.subPathExpr: Invalid value: \"$(POD)/..\": must not contain '..'"]),
        ("volumeMounts: [{name: v, mountPath: /a, mountPropagation: Sideways}]", &["spec.containers[0].volumeMounts.mountPropagation: Unsupported value: \"Sideways\""]),
        ("volumeMounts: [{name: v, mountPath: /a, mountPropagation: Bidirectional}]", &["spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers"]),
        ("securityContext: {privileged: true}, volumeMounts: [{name: v, mountPath: /a, mountPropagation: Bidirectional}]", &[]),
        ("securityContext: {privileged: false}, volumeMounts: [{name: v, mountPath: /a, mountPropagation: Bidirectional}]", &["spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers"]),
        ("volumeMounts: [{name: v, mountPath: /a, recursiveReadOnly: Enabled}]", &["spec.containers[0].volumeMounts.recursiveReadOnly: Forbidden: may only be specified when readOnly is true"]),
        ("volumeMounts: [{name: v, mountPath: /a, readOnly: true, recursiveReadOnly: Maybe}]", &["recursiveReadOnly: Unsupported value: \"Maybe\""]),
    ];
    for (mounts, want) in cases {
        check(
            &format!("{{containers: [{{name: c, image: x, {mounts}}}], {vols}}}"),
            want,
        );
    }
    // A volume with an invalid name is not registered, so mounts of it are Not found too.
    check(
        "{containers: [{name: c, image: x, volumeMounts: [{name: V, mountPath: /a}]}], volumes: [{name: V}]}",
        &["spec.volumes[0].name: Invalid value: \"V\"", "spec.containers[0].volumeMounts[0].name: Not found: \"V\""],
    );
}

#[test]
fn probe_and_handler_rules() {
    let cases: &[(&str, &[&str])] = &[
        ("livenessProbe: {}", &["spec.containers[0].livenessProbe: Required value: must specify a handler type"]),
        ("livenessProbe: {exec: {command: [a]}, httpGet: {port: 80}}", &["spec.containers[0].livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type"]),
        ("readinessProbe: {exec: {command: [a]}, tcpSocket: {port: 80}, grpc: {port: 1}}", &["spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type", "spec.containers[0].readinessProbe.grpc: Forbidden: may not specify more than 1 handler type"]),
        ("livenessProbe: {exec: {}}", &["spec.containers[0].livenessProbe.exec.command: Required value"]),
        ("livenessProbe: {httpGet: {port: 0}}", &["spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive"]),
        ("livenessProbe: {httpGet: {port: 80, scheme: FTP}}", &["spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\""]),
        ("livenessProbe: {httpGet: {port: 80, httpHeaders: [{name: 'bad header', value: x}]}}", &["spec.containers[0].livenessProbe.httpGet.httpHeaders: Invalid value: \"bad header\""]),
        ("livenessProbe: {httpGet: {port: Web}}", &["spec.containers[0].livenessProbe.httpGet.port: Invalid value: \"Web\""]),
        ("livenessProbe: {tcpSocket: {port: 80}, successThreshold: 2}", &["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]),
        ("startupProbe: {tcpSocket: {port: 80}, successThreshold: 3}", &["spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1"]),
        ("readinessProbe: {tcpSocket: {port: 80}, successThreshold: 3}", &[]),
        ("readinessProbe: {tcpSocket: {port: 80}, terminationGracePeriodSeconds: 5}", &["spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes"]),
        ("livenessProbe: {tcpSocket: {port: 80}, terminationGracePeriodSeconds: 0}", &["spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0"]),
        ("livenessProbe: {tcpSocket: {port: 80}, initialDelaySeconds: -1}", &["spec.containers[0].livenessProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0"]),
        ("livenessProbe: {tcpSocket: {port: 80}, periodSeconds: -5, failureThreshold: -1}", &["livenessProbe.periodSeconds: Invalid value: -5", "livenessProbe.failureThreshold: Invalid value: -1"]),
        ("lifecycle: {postStart: {}}", &["spec.containers[0].lifecycle.postStart: Required value: must specify a handler type"]),
        ("lifecycle: {preStop: {exec: {command: [a]}, sleep: {seconds: 1}}}", &["spec.containers[0].lifecycle.preStop.sleep: Forbidden: may not specify more than 1 handler type"]),
        ("lifecycle: {preStop: {sleep: {seconds: 31}}}", &["spec.containers[0].lifecycle.preStop.sleep: Invalid value: 31: must be non-negative and less than terminationGracePeriodSeconds (30)"]),
        ("lifecycle: {preStop: {sleep: {seconds: -1}}}", &["spec.containers[0].lifecycle.preStop.sleep: Invalid value: -1"]),
        ("lifecycle: {postStart: {tcpSocket: {port: 99999}}}", &["spec.containers[0].lifecycle.postStart.tcpSocket.port: Invalid value: 99999"]),
        ("lifecycle: {stopSignal: SIGFOO}", &["spec.containers[0].lifecycle.stopSignal: Unsupported value: \"SIGFOO\""]),
        // A named port no container port has: Kubernetes accepts it, the probe could never succeed.
        ("livenessProbe: {httpGet: {port: metrics}}", &["spec.containers[0].livenessProbe.httpGet.port: Invalid value: \"metrics\": no container port has this name"]),
    ];
    for (extra, want) in cases {
        check(&ctr(extra), want);
    }
    // Sleep is checked against the pod's own grace period.
    check("{terminationGracePeriodSeconds: 5, containers: [{name: c, image: x, lifecycle: {preStop: {sleep: {seconds: 6}}}}]}", &["must be non-negative and less than terminationGracePeriodSeconds (5)"]);
}

#[test]
fn resource_rules() {
    let cases: &[(&str, &[&str])] = &[
        ("resources: {limits: {cpu: 1GB}}", &["spec.containers[0].resources.limits[cpu]: Invalid value: \"1GB\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]),
        ("resources: {requests: {memory: -1}}", &["spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0"]),
        ("resources: {limits: {cpu: 500m}, requests: {cpu: '1'}}", &["spec.containers[0].resources.requests[cpu]: Invalid value: \"1\": must be less than or equal to cpu limit of 500m"]),
        ("resources: {limits: {memory: 1Gi}, requests: {memory: 2Gi}}", &["spec.containers[0].resources.requests[memory]: Invalid value: \"2Gi\": must be less than or equal to memory limit of 1Gi"]),
        ("resources: {limits: {gpu: '1'}}", &["spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers"]),
        ("resources: {limits: {example.com/foo: 500m}}", &["spec.containers[0].resources.limits[example.com/foo]: Invalid value: \"500m\": must be an integer"]),
        ("resources: {requests: {example.com/foo: '1'}}", &["spec.containers[0].resources.limits[example.com/foo]: Required value: Limit must be set for non overcommitable resources"]),
        ("resources: {limits: {'bad key!': '1'}}", &["spec.containers[0].resources.limits[bad key!]: Invalid value: \"bad key!\""]),
    ];
    for (extra, want) in cases {
        check(&ctr(extra), want);
    }
    check(
        &ctr("resources: {limits: {cpu: 500m}, requests: {cpu: 500m}}"),
        &[],
    );
    check(
        &ctr("resources: {limits: {cpu: '0.5'}, requests: {cpu: 500m}}"),
        &[],
    );
    check(
        &ctr("resources: {limits: {example.com/foo: '2'}, requests: {example.com/foo: '2'}}"),
        &[],
    );
}

#[test]
fn pod_level_rules() {
    let cases: &[(String, &[&str])] = &[
        (format!("{{containers: [{C}], restartPolicy: Sometimes}}"), &["spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""]),
        (format!("{{containers: [{C}], dnsPolicy: Custom}}"), &["spec.dnsPolicy: Unsupported value: \"Custom\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\""]),
        (format!("{{containers: [{C}], dnsPolicy: None}}"), &["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"]),
        (format!("{{containers: [{C}], dnsPolicy: None, dnsConfig: {{}}}}"), &["spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"]),
        (format!("{{containers: [{C}], dnsConfig: {{nameservers: [1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4]}}}}"), &["spec.dnsConfig.nameservers: Invalid value: [\"1.1.1.1\", \"2.2.2.2\", \"3.3.3.3\", \"4.4.4.4\"]: must not have more than 3 nameservers"]),
        (format!("{{containers: [{C}], dnsConfig: {{nameservers: [dns.local]}}}}"), &["spec.dnsConfig.nameservers[0]: Invalid value: \"dns.local\": must be a valid IP address"]),
        (format!("{{containers: [{C}], dnsConfig: {{searches: [-bad]}}}}"), &["spec.dnsConfig.searches[0]: Invalid value: \"-bad\""]),
        (format!("{{containers: [{C}], dnsConfig: {{options: [{{value: x}}]}}}}"), &["spec.dnsConfig.options[0]: Required value: must not be empty"]),
        (format!("{{containers: [{C}], hostname: Bad_Host}}"), &["spec.hostname: Invalid value: \"Bad_Host\""]),
        (format!("{{containers: [{C}], subdomain: a.b}}"), &["spec.subdomain: Invalid value: \"a.b\": must not contain dots"]),
        (format!("{{containers: [{C}], shareProcessNamespace: true, hostPID: true}}"), &["spec.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled"]),
        (format!("{{containers: [{C}], activeDeadlineSeconds: 0}}"), &["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"]),
        (format!("{{containers: [{C}], terminationGracePeriodSeconds: -1}}"), &["spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"]),
        (format!("{{containers: [{C}], nodeName: Node_1}}"), &["spec.nodeName: Invalid value: \"Node_1\""]),
        (format!("{{containers: [{C}], serviceAccountName: Bad!}}"), &["spec.serviceAccountName: Invalid value: \"Bad!\""]),
        (format!("{{containers: [{C}], hostAliases: [{{ip: 'x', hostnames: [ok]}}]}}"), &["spec.hostAliases[0].ip: Invalid value: \"x\""]),
        (format!("{{containers: [{C}], hostAliases: [{{ip: 10.0.0.1, hostnames: [Bad_Name]}}]}}"), &["spec.hostAliases[0].hostnames[0]: Invalid value: \"Bad_Name\""]),
        (format!("{{containers: [{C}], readinessGates: [{{conditionType: 'a/b/c'}}]}}"), &["spec.readinessGates[0].conditionType: Invalid value: \"a/b/c\""]),
        (format!("{{containers: [{C}], securityContext: {{runAsUser: -1}}}}"), &["spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive"]),
        (format!("{{containers: [{C}], securityContext: {{fsGroupChangePolicy: Sometimes}}}}"), &["spec.securityContext.fsGroupChangePolicy: Unsupported value: \"Sometimes\""]),
        (format!("{{containers: [{C}], securityContext: {{seccompProfile: {{type: Localhost}}}}}}"), &["spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost"]),
        (format!("{{containers: [{C}], securityContext: {{seccompProfile: {{type: Strict}}}}}}"), &["spec.securityContext.seccompProfile.type: Unsupported value: \"Strict\""]),
        (format!("{{containers: [{C}], os: {{name: plan9}}}}"), &["spec.os.name: Unsupported value: \"plan9\": supported values: \"linux\", \"windows\""]),
        (format!("{{containers: [{C}], os: {{name: windows}}}}"), &["spec.os.name: Forbidden: not supported by minipod"]),
        (format!("{{containers: [{C}], ephemeralContainers: [{{name: e, image: x}}]}}"), &["spec.ephemeralContainers: Forbidden: cannot be set on create"]),
        (format!("{{containers: [{C}], resourceClaims: [{{name: gpu, resourceClaimName: g}}]}}"), &["spec.resourceClaims: Forbidden: not supported by minipod"]),
        (format!("{{containers: [{C}], hostUsers: false}}"), &["spec.hostUsers: Forbidden: not supported by minipod"]),
        (format!("{{containers: [{C}], nodeSelector: {{'-bad': x}}}}"), &["spec.nodeSelector: Invalid value: \"-bad\""]),
        (ctr("securityContext: {privileged: true, allowPrivilegeEscalation: false}"), &["spec.containers[0].securityContext: Invalid value: {...}: cannot set `allowPrivilegeEscalation` to false and `privileged` to true"]),
        (ctr("securityContext: {runAsGroup: 3000000000}"), &["spec.containers[0].securityContext.runAsGroup: Invalid value: 3000000000"]),
        (ctr("securityContext: {procMount: Weird}"), &["spec.containers[0].securityContext.procMount: Unsupported value: \"Weird\""]),
        (ctr("volumeDevices: [{name: v, devicePath: /dev/x}]"), &["spec.containers[0].volumeDevices: Forbidden: not supported by minipod"]),
    ];
    for (spec, want) in cases {
        check(spec, want);
    }
}

#[test]
fn metadata_rules() {
    let meta = |m: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {m}\nspec: {{containers: [{C}]}}\n")
    };
    let cases: &[(&str, &[&str])] = &[
        ("{}", &["metadata.name: Required value: name or generateName is required"]),
        ("{name: Web}", &["metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is"]),
        ("{name: web., namespace: x}", &["metadata.name: Invalid value: \"web.\""]),
        ("{name: web, namespace: My_NS}", &["metadata.namespace: Invalid value: \"My_NS\""]),
        ("{name: web, labels: {'-app': x}}", &["metadata.labels: Invalid value: \"-app\": name part must consist of alphanumeric characters"]),
        ("{name: web, labels: {app: 'has space'}}", &["metadata.labels: Invalid value: \"has space\": a valid label must be an empty string or consist of alphanumeric characters"]),
        ("{name: web, labels: {'Example.com/app': x}}", &["metadata.labels: Invalid value: \"Example.com/app\": prefix part a lowercase RFC 1123 subdomain"]),
        ("{name: web, annotations: {'a/b/c': x}}", &["metadata.annotations: Invalid value: \"a/b/c\": a qualified name must consist of"]),
        ("{generateName: Web-}", &["metadata.generateName: Invalid value: \"Web-\""]),
    ];
    for (m, want) in cases {
        let got: Vec<String> = errors(&meta(m));
        assert_eq!(got.len(), want.len(), "{m}: {got:#?}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!(g.contains(w), "{m}: {g:?} lacks {w:?}");
        }
    }
    // generateName makes a name; the Pod is then valid.
    assert!(errors(&meta("{generateName: web-}")).is_empty());
    // Uppercase annotation keys are fine (lower-cased before the check).
    assert!(errors(&meta("{name: web, annotations: {Example.COM/Key: v}}")).is_empty());
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let errs = spec_errors(
        "{restartPolicy: Sometimes, containers: [{name: c, image: x, volumeMounts: [{name: nope, mountPath: /a}]}, {name: c}], initContainers: [{name: init, image: x}, {name: init, image: y, livenessProbe: {exec: {command: [a]}}}], volumes: [{name: v}, {name: v}]}",
    );
    assert_eq!(
        errs,
        vec![
            "spec.volumes[1].name: Duplicate value: \"v\"",
            "spec.containers[0].volumeMounts[0].name: Not found: \"nope\"",
            "spec.containers[1].image: Required value",
            "spec.containers[1].name: Duplicate value: \"c\"",
            "spec.initContainers[1].name: Duplicate value: \"init\"",
            "spec.initContainers[1].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ]
    );
}

#[test]
fn error_line_names_file_object_and_field() {
    let e = errors(&pod("{containers: [{name: c, image: x}], initContainers: [{name: init, image: x}, {name: init, image: x}]}"));
    assert_eq!(
        e,
        vec!["pod.yaml: Pod \"web\": spec.initContainers[1].name: Duplicate value: \"init\""]
    );
}

#[test]
fn ignored_fields_warn() {
    let w = warnings(&pod(&format!(
        "{{containers: [{C}], nodeSelector: {{disk: ssd}}, tolerations: [{{key: k, operator: Exists}}], affinity: {{}}, priorityClassName: high, imagePullSecrets: [{{name: reg}}], runtimeClassName: gvisor, schedulingGates: [{{name: g}}], topologySpreadConstraints: [{{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}}]}}"
    )));
    for field in [
        "spec.nodeSelector",
        "spec.tolerations",
        "spec.affinity",
        "spec.priorityClassName",
        "spec.imagePullSecrets",
        "spec.runtimeClassName",
        "spec.schedulingGates",
        "spec.topologySpreadConstraints",
    ] {
        assert!(
            w.iter()
                .any(|x| x.contains(&format!("Pod \"web\": {field}: ignored by minipod"))),
            "no warning for {field}: {w:#?}"
        );
    }
}

#[test]
fn host_port_without_host_network_warns() {
    let w = warnings(&pod(
        "{containers: [{name: c, image: x:1, ports: [{containerPort: 80, hostPort: 8080}]}]}",
    ));
    assert!(
        w.iter()
            .any(|w| w.contains("spec.containers[0].ports[0].hostPort: ignored by minipod")),
        "{w:#?}"
    );
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
    assert_eq!(
        errors(&job("  completionMode: Indexed\n  parallelism: 2\n", "")),
        ["pod.yaml: Job \"pi\": spec.completions: Required value: when completion mode is Indexed"]
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
