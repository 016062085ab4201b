use super::*;
use crate::env::{build_env, expand_sub_path_expr, EnvValue, RuntimeFacts};
use crate::load::tests::{errors, run};
use crate::volume::{HostPathType, StorageMedium, VolumeFile, VolumeSource};

fn plan(text: &str) -> PodPlan {
    let m = run(text).unwrap_or_else(|e| panic!("{e}"));
    m.pods.into_iter().next().expect("one pod")
}

fn pod(spec: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: web, labels: {{app: web, tier: fe}}, annotations: {{note: \"a \\\"quoted\\\" one\"}}}}\nspec: {spec}\n")
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {LOG_LEVEL: debug, greeting: hello, 9lives: cat}\nbinaryData: {blob: AAEC}\n---\n";
const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: hunter2, user: admin}\n---\n";

fn env_of(p: &PodPlan, facts: &RuntimeFacts) -> Vec<(String, String)> {
    build_env(&p.containers[0].env, facts)
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn init_containers_are_classified() {
    let p = plan(&pod("{initContainers: [{name: a, image: x}, {name: s, image: x, restartPolicy: Always}, {name: b, image: x}], containers: [{name: c, image: x}, {name: d, image: x}]}"));
    let kinds: Vec<(&str, ContainerKind)> = p
        .init_containers
        .iter()
        .map(|i| (i.container.name.as_str(), i.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("a", ContainerKind::Init),
            ("s", ContainerKind::Sidecar),
            ("b", ContainerKind::Init)
        ]
    );
    let names: Vec<&str> = p.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["c", "d"]);
    assert_eq!(p.container("s").unwrap().name, "s");
    assert!(p.container("zz").is_none());
    assert_eq!(p.restart_policy, RestartPolicy::Always);
    assert_eq!(p.termination_grace_period_seconds, 30);
}

#[test]
fn restart_policies_and_pull_policies() {
    for (rp, want) in [
        ("Never", RestartPolicy::Never),
        ("OnFailure", RestartPolicy::OnFailure),
        ("Always", RestartPolicy::Always),
    ] {
        assert_eq!(
            plan(&pod(&format!(
                "{{restartPolicy: {rp}, containers: [{{name: c, image: x}}]}}"
            )))
            .restart_policy,
            want
        );
    }
    for (pp, want) in [
        ("Never", PullPolicy::Never),
        ("Always", PullPolicy::Always),
        ("IfNotPresent", PullPolicy::IfNotPresent),
    ] {
        assert_eq!(
            plan(&pod(&format!(
                "{{containers: [{{name: c, image: x, imagePullPolicy: {pp}}}]}}"
            )))
            .containers[0]
                .image_pull_policy,
            want
        );
    }
}

#[test]
fn env_follows_kubelet_order_and_precedence() {
    let text = format!(
        "{CM}{SECRET}{}",
        pod("{containers: [{name: c, image: x, envFrom: [{configMapRef: {name: cfg}}, {prefix: S_, secretRef: {name: creds}}], env: [{name: LOG_LEVEL, value: info}, {name: A, value: 'x-$(LOG_LEVEL)'}, {name: B, value: '$(A)/$(C)/$$(A)'}, {name: C, value: late}, {name: PW, valueFrom: {secretKeyRef: {name: creds, key: password}}}, {name: G, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}, {name: OPT, valueFrom: {configMapKeyRef: {name: cfg, key: nope, optional: true}}}, {name: OPT2, valueFrom: {secretKeyRef: {name: missing, key: k, optional: true}}}, {name: EMPTY}]}]}")
    );
    let p = plan(&text);
    let env = env_of(&p, &RuntimeFacts::default());
    assert_eq!(
        env,
        pairs(&[
            // envFrom: keys in order, invalid names skipped, prefixes applied.
            ("9lives", "cat"),
            ("LOG_LEVEL", "info"),
            ("greeting", "hello"),
            ("S_password", "hunter2"),
            ("S_user", "admin"),
            // env: sees envFrom and earlier entries only; `$$` escapes.
            ("A", "x-info"),
            ("B", "x-info/$(C)/$(A)"),
            ("C", "late"),
            ("PW", "hunter2"),
            ("G", "hello"),
            ("EMPTY", ""),
        ])
    );
}

#[test]
fn downward_api_env() {
    let p = plan(&pod("{serviceAccountName: robot, containers: [{name: c, image: x, resources: {limits: {cpu: 250m, memory: 64Mi}}, env: [{name: N, valueFrom: {fieldRef: {fieldPath: metadata.name}}}, {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}, {name: UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}, {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}, {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}, {name: APP, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}, {name: NONE, valueFrom: {fieldRef: {fieldPath: \"metadata.annotations['absent']\"}}}, {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}, {name: IPS, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}, {name: HOST, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}, {name: URL, value: 'http://$(IP):80'}, {name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}, {name: CPUM, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}, {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}, {name: REQCPU, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}, {name: EPH, valueFrom: {resourceFieldRef: {resource: limits.ephemeral-storage, divisor: 1Gi}}}]}]}"));
    let facts = RuntimeFacts {
        pod_ips: vec!["10.88.0.5".into(), "fd00::5".into()],
        host_ips: vec!["192.0.2.1".into()],
    };
    let env = env_of(&p, &facts);
    let get = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap()
    };
    assert_eq!(get("N"), "web");
    assert_eq!(get("NS"), "default");
    assert_eq!(get("UID"), p.uid);
    assert_eq!(get("NODE"), "localhost");
    assert_eq!(get("SA"), "robot");
    assert_eq!(get("APP"), "web");
    assert_eq!(get("NONE"), "");
    assert_eq!(get("IP"), "10.88.0.5");
    assert_eq!(get("IPS"), "10.88.0.5,fd00::5");
    assert_eq!(get("HOST"), "192.0.2.1");
    assert_eq!(get("URL"), "http://10.88.0.5:80");
    assert_eq!(get("CPU"), "1"); // 250m rounded up to whole cores
    assert_eq!(get("CPUM"), "250");
    assert_eq!(get("MEM"), "64");
    assert_eq!(get("REQCPU"), "250"); // requests defaulted from limits
    assert_eq!(get("EPH"), "10"); // unset limit: node allocatable (10Gi default)
                                  // Before the sandbox exists the IP is empty.
    assert_eq!(
        env_of(&p, &RuntimeFacts::default())
            .iter()
            .find(|(k, _)| k == "IP")
            .unwrap()
            .1,
        ""
    );
}

#[test]
fn unlimited_resources_read_node_allocatable() {
    let p = plan(&pod("{containers: [{name: c, image: x, env: [{name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}, {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory}}}, {name: RC, valueFrom: {resourceFieldRef: {resource: requests.cpu}}}]}]}"));
    let env = env_of(&p, &RuntimeFacts::default());
    assert_eq!(
        env,
        pairs(&[
            ("CPU", "1"),
            ("MEM", &(1u64 << 30).to_string()),
            ("RC", "0")
        ])
    );
}

#[test]
fn missing_references_are_errors() {
    let cases: &[(&str, &str)] = &[
        ("env: [{name: A, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]", "spec.containers[0].env[0].valueFrom.configMapKeyRef.name: Not found: \"nope\""),
        ("env: [{name: A, valueFrom: {configMapKeyRef: {name: cfg, key: nope}}}]", "spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Not found: \"nope\""),
        ("env: [{name: A, valueFrom: {secretKeyRef: {name: nope, key: k}}}]", "spec.containers[0].env[0].valueFrom.secretKeyRef.name: Not found: \"nope\""),
        ("env: [{name: A, valueFrom: {secretKeyRef: {name: creds, key: nope}}}]", "spec.containers[0].env[0].valueFrom.secretKeyRef.key: Not found: \"nope\""),
        ("envFrom: [{configMapRef: {name: nope}}]", "spec.containers[0].envFrom[0].configMapRef.name: Not found: \"nope\""),
        ("envFrom: [{secretRef: {name: nope}}]", "spec.containers[0].envFrom[0].secretRef.name: Not found: \"nope\""),
        ("env: [{name: A, valueFrom: {resourceFieldRef: {containerName: ghost, resource: limits.cpu}}}]", "spec.containers[0].env[0].valueFrom.resourceFieldRef.containerName: Not found: \"ghost\""),
    ];
    for (extra, want) in cases {
        let text = format!(
            "{CM}{SECRET}{}",
            pod(&format!("{{containers: [{{name: c, image: x, {extra}}}]}}"))
        );
        assert_eq!(
            errors(&text),
            [format!("pod.yaml: Pod \"web\": {want}")],
            "{extra}"
        );
    }
    let vols: &[(&str, &str)] = &[
        ("{name: v, configMap: {name: nope}}", "spec.volumes[0].configMap.name: Not found: \"nope\""),
        ("{name: v, secret: {secretName: nope}}", "spec.volumes[0].secret.secretName: Not found: \"nope\""),
        ("{name: v, configMap: {name: cfg, items: [{key: nope, path: p}]}}", "spec.volumes[0].configMap.items[0].key: Not found: \"nope\""),
        ("{name: v, projected: {sources: [{configMap: {name: nope}}]}}", "spec.volumes[0].projected.sources[0].configMap.name: Not found: \"nope\""),
        ("{name: v, downwardAPI: {items: [{path: p, resourceFieldRef: {containerName: ghost, resource: limits.cpu}}]}}", "spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName: Not found: \"ghost\""),
    ];
    for (vol, want) in vols {
        let text = format!(
            "{CM}{SECRET}{}",
            pod(&format!(
                "{{containers: [{{name: c, image: x}}], volumes: [{vol}]}}"
            ))
        );
        assert_eq!(
            errors(&text),
            [format!("pod.yaml: Pod \"web\": {want}")],
            "{vol}"
        );
    }
    // In a workload the error names the template.
    let dep = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: x, envFrom: [{configMapRef: {name: nope}}]}]}\n";
    assert_eq!(
        errors(dep),
        ["pod.yaml: Deployment \"d\": spec.template.spec.containers[0].envFrom[0].configMapRef.name: Not found: \"nope\""]
    );
}

#[test]
fn optional_missing_references_are_empty() {
    let p = plan(&pod("{containers: [{name: c, image: x, envFrom: [{configMapRef: {name: nope, optional: true}}]}], volumes: [{name: v, configMap: {name: nope, optional: true}}, {name: w, secret: {secretName: nope, optional: true}}]}"));
    assert!(p.containers[0].env.is_empty());
    assert_eq!(
        p.volumes[0].source,
        VolumeSource::ConfigMap {
            name: "nope".into(),
            optional: true,
            files: vec![]
        }
    );
    assert_eq!(
        p.volumes[1].source,
        VolumeSource::Secret {
            name: "nope".into(),
            optional: true,
            files: vec![]
        }
    );
}

#[test]
fn config_map_and_secret_volumes_carry_files() {
    let text = format!(
        "{CM}{SECRET}{}",
        pod("{containers: [{name: c, image: x}], volumes: [{name: all, configMap: {name: cfg}}, {name: some, configMap: {name: cfg, defaultMode: 0400, items: [{key: greeting, path: conf/hello.txt}, {key: blob, path: b, mode: 0600}]}}, {name: sec, secret: {secretName: creds, items: [{key: password, path: pw}]}}]}")
    );
    let p = plan(&text);
    let VolumeSource::ConfigMap { files, .. } = &p.volumes[0].source else {
        panic!()
    };
    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(names, ["9lives", "LOG_LEVEL", "blob", "greeting"]);
    assert!(files.iter().all(|f| f.mode == 0o644));
    assert_eq!(files[2].data, vec![0, 1, 2]);
    let VolumeSource::ConfigMap { files, .. } = &p.volumes[1].source else {
        panic!()
    };
    assert_eq!(
        files,
        &vec![
            VolumeFile {
                path: "conf/hello.txt".into(),
                data: b"hello".to_vec(),
                mode: 0o400
            },
            VolumeFile {
                path: "b".into(),
                data: vec![0, 1, 2],
                mode: 0o600
            },
        ]
    );
    let VolumeSource::Secret { name, files, .. } = &p.volumes[2].source else {
        panic!()
    };
    assert_eq!(name, "creds");
    assert_eq!(
        files,
        &vec![VolumeFile {
            path: "pw".into(),
            data: b"hunter2".to_vec(),
            mode: 0o644
        }]
    );
}

#[test]
fn downward_api_and_projected_volumes() {
    let text = format!(
        "{CM}{}",
        pod("{containers: [{name: c, image: x, resources: {limits: {memory: 32Mi}}}], volumes: [{name: d, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}, {path: annotations, fieldRef: {fieldPath: metadata.annotations}}, {path: name, fieldRef: {fieldPath: metadata.name}}, {path: app, fieldRef: {fieldPath: \"metadata.labels['app']\"}}, {path: mem, resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}]}}, {name: p, projected: {defaultMode: 0440, sources: [{configMap: {name: cfg, items: [{key: greeting, path: g}]}}, {downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}}]}}]}")
    );
    let p = plan(&text);
    let VolumeSource::DownwardApi { files } = &p.volumes[0].source else {
        panic!()
    };
    let text_of = |path: &str| {
        String::from_utf8(files.iter().find(|f| f.path == path).unwrap().data.clone()).unwrap()
    };
    assert_eq!(text_of("labels"), "app=\"web\"\ntier=\"fe\"");
    assert_eq!(text_of("annotations"), "note=\"a \\\"quoted\\\" one\"");
    assert_eq!(text_of("name"), "web");
    assert_eq!(text_of("app"), "web");
    assert_eq!(text_of("mem"), "32");
    let VolumeSource::Projected { files } = &p.volumes[1].source else {
        panic!()
    };
    assert_eq!(
        files,
        &vec![
            VolumeFile {
                path: "g".into(),
                data: b"hello".to_vec(),
                mode: 0o440
            },
            VolumeFile {
                path: "ns".into(),
                data: b"default".to_vec(),
                mode: 0o440
            },
        ]
    );
}

#[test]
fn empty_dir_and_host_path_volumes() {
    let p = plan(&pod("{containers: [{name: c, image: x}], volumes: [{name: a}, {name: b, emptyDir: {medium: Memory, sizeLimit: 64Mi}}, {name: c, emptyDir: {medium: HugePages-2Mi}}, {name: d, hostPath: {path: /srv}}, {name: e, hostPath: {path: /run/x.sock, type: Socket}}, {name: f, hostPath: {path: /data, type: DirectoryOrCreate}}]}"));
    let s: Vec<&VolumeSource> = p.volumes.iter().map(|v| &v.source).collect();
    assert_eq!(
        s[0],
        &VolumeSource::EmptyDir {
            medium: StorageMedium::Default,
            size_limit: None
        }
    );
    assert_eq!(
        s[1],
        &VolumeSource::EmptyDir {
            medium: StorageMedium::Memory,
            size_limit: Some(64 << 20)
        }
    );
    assert_eq!(
        s[2],
        &VolumeSource::EmptyDir {
            medium: StorageMedium::HugePages(Some("2Mi".into())),
            size_limit: None
        }
    );
    assert_eq!(
        s[3],
        &VolumeSource::HostPath {
            path: "/srv".into(),
            type_: HostPathType::Unset
        }
    );
    assert_eq!(
        s[4],
        &VolumeSource::HostPath {
            path: "/run/x.sock".into(),
            type_: HostPathType::Socket
        }
    );
    assert_eq!(
        s[5],
        &VolumeSource::HostPath {
            path: "/data".into(),
            type_: HostPathType::DirectoryOrCreate
        }
    );
}

#[test]
fn mounts_point_at_volumes() {
    let p = plan(&pod("{containers: [{name: c, image: x, volumeMounts: [{name: b, mountPath: data}, {name: a, mountPath: /etc/x, subPath: conf, readOnly: true}, {name: a, mountPath: /y, subPathExpr: '$(POD)', mountPropagation: HostToContainer}]}], volumes: [{name: a}, {name: b}]}"));
    let m = &p.containers[0].mounts;
    assert_eq!(m[0].volume, 1);
    assert_eq!(m[0].mount_path, "/data"); // kubelet prefixes '/'
    assert_eq!(
        (m[1].volume, m[1].sub_path.as_deref(), m[1].read_only),
        (0, Some("conf"), true)
    );
    assert_eq!(m[2].sub_path_expr.as_deref(), Some("$(POD)"));
    assert_eq!(m[2].propagation, MountPropagation::HostToContainer);
    assert_eq!(m[1].propagation, MountPropagation::None);
}

#[test]
fn resources_in_numbers() {
    let p = plan(&pod("{containers: [{name: c, image: x, resources: {limits: {cpu: '1.5', memory: 1Gi, hugepages-2Mi: 4Mi}, requests: {cpu: 100m, ephemeral-storage: 2G}}}, {name: d, image: x}]}"));
    assert_eq!(
        p.containers[0].resources,
        Resources {
            cpu_request_millis: Some(100),
            cpu_limit_millis: Some(1500),
            memory_request_bytes: Some(1 << 30),
            memory_limit_bytes: Some(1 << 30),
            ephemeral_storage_request_bytes: Some(2_000_000_000),
            ephemeral_storage_limit_bytes: None,
            hugepages_limits: vec![("2Mi".into(), 4 << 20)],
        }
    );
    assert_eq!(p.containers[1].resources, Resources::default());
}

#[test]
fn probes_and_hooks_are_typed_with_named_ports() {
    let p = plan(&pod("{containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}, {name: grpc, containerPort: 9000}], livenessProbe: {httpGet: {port: http, path: /healthz, httpHeaders: [{name: X-A, value: b}]}, initialDelaySeconds: 5}, readinessProbe: {tcpSocket: {port: 8080}}, startupProbe: {grpc: {port: 9000, service: s}, failureThreshold: 30, periodSeconds: 1}, lifecycle: {postStart: {exec: {command: [sh, -c, 'echo $(X)']}}, preStop: {sleep: {seconds: 3}}, stopSignal: SIGQUIT}}]}"));
    let c = &p.containers[0];
    assert_eq!(
        c.liveness_probe,
        Some(ProbePlan {
            handler: Handler::HttpGet {
                host: None,
                port: 8080,
                path: "/healthz".into(),
                scheme: Scheme::Http,
                headers: vec![("X-A".into(), "b".into())],
            },
            initial_delay_seconds: 5,
            timeout_seconds: 1,
            period_seconds: 10,
            success_threshold: 1,
            failure_threshold: 3,
            termination_grace_period_seconds: None,
        })
    );
    assert_eq!(
        c.readiness_probe.as_ref().unwrap().handler,
        Handler::TcpSocket {
            host: None,
            port: 8080
        }
    );
    let s = c.startup_probe.as_ref().unwrap();
    assert_eq!(
        s.handler,
        Handler::Grpc {
            port: 9000,
            service: Some("s".into())
        }
    );
    assert_eq!((s.failure_threshold, s.period_seconds), (30, 1));
    // Hook commands are not expanded.
    assert_eq!(
        c.post_start,
        Some(Handler::Exec {
            command: vec!["sh".into(), "-c".into(), "echo $(X)".into()]
        })
    );
    assert_eq!(c.pre_stop, Some(Handler::Sleep { seconds: 3 }));
    assert_eq!(c.stop_signal.as_deref(), Some("SIGQUIT"));
    assert_eq!(
        c.ports[0],
        PortPlan {
            name: Some("http".into()),
            container_port: 8080,
            host_port: None,
            host_ip: None,
            protocol: Protocol::Tcp
        }
    );
}

#[test]
fn sandbox_options() {
    let p = plan(&pod("{hostNetwork: true, hostPID: true, hostIPC: true, containers: [{name: c, image: x}], hostAliases: [{ip: 10.0.0.1, hostnames: [db]}], securityContext: {sysctls: [{name: net.core.somaxconn, value: '1024'}]}}"));
    let s = &p.sandbox;
    assert!(s.host_network && s.host_pid && s.host_ipc && !s.share_process_namespace);
    assert_eq!(s.hostname, "web");
    assert_eq!(s.host_aliases[0].ip, "10.0.0.1");
    assert_eq!(
        s.sysctls,
        vec![("net.core.somaxconn".to_string(), "1024".to_string())]
    );
    let p = plan(&pod("{hostname: h1, subdomain: svc, setHostnameAsFQDN: true, shareProcessNamespace: true, containers: [{name: c, image: x}]}"));
    assert_eq!(p.sandbox.hostname, "h1.svc.default.svc.cluster.local");
    assert_eq!(
        p.sandbox.domain.as_deref(),
        Some("svc.default.svc.cluster.local")
    );
    assert!(p.sandbox.share_process_namespace);
    let p = plan(&pod(
        "{hostname: h1, subdomain: svc, containers: [{name: c, image: x}]}",
    ));
    assert_eq!(p.sandbox.hostname, "h1");
    assert_eq!(p.sandbox.subdomain.as_deref(), Some("svc"));
}

#[test]
fn hostname_truncation() {
    let long = format!("{}-{}", "a".repeat(62), "b".repeat(10));
    let cases: Vec<(&str, Option<&str>, String)> = vec![
        ("web", None, "web".into()),
        ("web", Some("h"), "h".into()),
        ("web", Some(""), "web".into()),
        (&long, None, "a".repeat(62)),
        ("x", Some(&long), "a".repeat(62)),
    ];
    for (name, h, want) in cases {
        assert_eq!(pod_hostname(name, h), want, "{name} {h:?}");
    }
    let dots = format!("{}.{}", "a".repeat(62), "b");
    assert_eq!(pod_hostname(&dots, None), "a".repeat(62));
    assert_eq!(pod_hostname(&"c".repeat(70), None), "c".repeat(63));
}

#[test]
fn security_context_merges_pod_defaults() {
    let p = plan(&pod("{securityContext: {runAsUser: 1000, runAsGroup: 2000, runAsNonRoot: true}, containers: [{name: c, image: x}, {name: d, image: x, securityContext: {runAsUser: 0, readOnlyRootFilesystem: true}}]}"));
    let a = &p.containers[0].security_context;
    assert_eq!(
        (a.run_as_user, a.run_as_group, a.run_as_non_root),
        (Some(1000), Some(2000), Some(true))
    );
    let b = &p.containers[1].security_context;
    assert_eq!(
        (b.run_as_user, b.run_as_group, b.read_only_root_filesystem),
        (Some(0), Some(2000), Some(true))
    );
}

#[test]
fn command_args_and_io_flags_are_kept() {
    let p = plan(&pod("{containers: [{name: c, image: x, command: [sh], args: [-c, 'echo hi'], workingDir: /w, stdin: true, tty: true, terminationMessagePolicy: FallbackToLogsOnError}, {name: d, image: x, command: [], args: []}]}"));
    let c = &p.containers[0];
    assert_eq!(c.command.as_deref(), Some(&["sh".to_string()][..]));
    assert_eq!(c.args.as_ref().unwrap().len(), 2);
    assert_eq!(c.working_dir.as_deref(), Some("/w"));
    assert!(c.stdin && c.tty && !c.stdin_once);
    assert_eq!(
        c.termination_message_policy,
        TerminationMessagePolicy::FallbackToLogsOnError
    );
    // Empty lists count as unset.
    assert_eq!(
        (
            p.containers[1].command.as_ref(),
            p.containers[1].args.as_ref()
        ),
        (None, None)
    );
}

#[test]
fn build_env_table() {
    let t = |s: &str| EnvValue::Template(s.into());
    let r = |s: &str| EnvValue::Resolved(s.into());
    type Case<'a> = (Vec<(&'a str, EnvValue)>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (vec![], vec![]),
        (vec![("A", t("1"))], vec![("A", "1")]),
        (vec![("A", t("1")), ("A", t("2"))], vec![("A", "2")]),
        (
            vec![("A", t("1")), ("B", t("$(A)$(A)"))],
            vec![("A", "1"), ("B", "11")],
        ),
        (
            vec![("B", t("$(A)")), ("A", t("1"))],
            vec![("B", "$(A)"), ("A", "1")],
        ),
        (
            vec![("A", r("$(X)")), ("B", t("$(A)"))],
            vec![("A", "$(X)"), ("B", "$(X)")],
        ),
        (vec![("A", t("x")), ("A", t("$(A)y"))], vec![("A", "xy")]),
        (vec![("A", t(""))], vec![("A", "")]),
        (
            vec![("A", EnvValue::PodIp), ("B", t("$(A)"))],
            vec![("A", "10.0.0.9"), ("B", "10.0.0.9")],
        ),
        (
            vec![("A", EnvValue::HostIps)],
            vec![("A", "192.0.2.1,2001:db8::1")],
        ),
    ];
    let facts = RuntimeFacts {
        pod_ips: vec!["10.0.0.9".into()],
        host_ips: vec!["192.0.2.1".into(), "2001:db8::1".into()],
    };
    for (input, want) in cases {
        let env: Vec<EnvVarPlan> = input
            .into_iter()
            .map(|(n, v)| EnvVarPlan {
                name: n.into(),
                value: v,
            })
            .collect();
        assert_eq!(build_env(&env, &facts), pairs(&want), "{env:?}");
    }
}

#[test]
fn known_signals() {
    for (s, ok) in [
        ("SIGTERM", true),
        ("SIGKILL", true),
        ("SIGUSR1", true),
        ("SIGRTMIN", true),
        ("SIGRTMIN+1", true),
        ("SIGRTMIN+15", true),
        ("SIGRTMIN+16", false),
        ("SIGRTMAX-14", true),
        ("SIGRTMAX-0", false),
        ("TERM", false),
        ("sigterm", false),
        ("", false),
    ] {
        assert_eq!(crate::names::is_known_signal(s), ok, "{s}");
    }
}

#[test]
fn sub_path_expr_expansion() {
    let env = pairs(&[
        ("POD", "web-0"),
        ("UP", ".."),
        ("ABS", "/etc"),
        ("EMPTY", ""),
    ]);
    assert_eq!(
        expand_sub_path_expr("logs/$(POD)", &env).unwrap(),
        "logs/web-0"
    );
    // $$ escapes the operator; a missing or empty variable is an error (kubelet).
    assert_eq!(expand_sub_path_expr("$$(POD)", &env).unwrap(), "$(POD)");
    assert_eq!(
        expand_sub_path_expr("$(NOPE)/$(EMPTY)/$(POD)", &env).unwrap_err(),
        "subPathExpr \"$(NOPE)/$(EMPTY)/$(POD)\": missing value for EMPTY, NOPE"
    );
    assert!(expand_sub_path_expr("$(UP)/x", &env).is_err());
    assert!(expand_sub_path_expr("$(ABS)", &env).is_err());
}

#[test]
fn quantities_compare_across_units() {
    assert_eq!(quantity_value("100m"), Some(0.1));
    assert_eq!(quantity_value("1Gi"), Some(1073741824.0));
    assert_eq!(quantity_value("1e3"), Some(1000.0));
    assert_eq!(quantity_value("x"), None);
}

#[test]
fn a_plan_survives_its_json_round_trip() {
    let p = plan(&format!(
        "{SECRET}{}",
        pod("{initContainers: [{name: s, image: x, restartPolicy: Always}], containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}], readinessProbe: {httpGet: {port: http}}, lifecycle: {preStop: {sleep: {seconds: 1}}}, env: [{name: P, valueFrom: {secretKeyRef: {name: creds, key: password}}}], volumeMounts: [{name: s, mountPath: /s}]}], volumes: [{name: s, secret: {secretName: creds}}]}")
    ));
    let json = serde_json::to_string(&p).unwrap();
    let back: PodPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
}
