use super::*;
use crate::env::RuntimeFacts;
use crate::load::tests::run;

fn v(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

fn image(entrypoint: &[&str], cmd: &[&str]) -> ImageProcessDefaults {
    ImageProcessDefaults {
        entrypoint: v(entrypoint),
        cmd: v(cmd),
        ..Default::default()
    }
}

#[test]
fn command_args_versus_entrypoint_cmd() {
    // define-command-argument-container: the four cases, plus empty lists and docker's [""].
    let img = image(&["/entry"], &["--cmd"]);
    type Case = (
        Option<Vec<String>>,
        Option<Vec<String>>,
        ImageProcessDefaults,
        Vec<String>,
    );
    let cases: Vec<Case> = vec![
        (None, None, img.clone(), v(&["/entry", "--cmd"])),
        (Some(v(&["/bin/sh"])), None, img.clone(), v(&["/bin/sh"])),
        (
            None,
            Some(v(&["--arg"])),
            img.clone(),
            v(&["/entry", "--arg"]),
        ),
        (
            Some(v(&["/bin/sh"])),
            Some(v(&["-c", "x"])),
            img.clone(),
            v(&["/bin/sh", "-c", "x"]),
        ),
        (
            Some(vec![]),
            Some(vec![]),
            img.clone(),
            v(&["/entry", "--cmd"]),
        ),
        (None, None, image(&[], &["/cmd-only"]), v(&["/cmd-only"])),
        (None, Some(v(&["a"])), image(&[], &["/cmd"]), v(&["a"])),
        (None, None, image(&[""], &["/cmd"]), v(&["/cmd"])),
        (None, None, image(&[], &[]), vec![]),
        (Some(v(&["x"])), None, image(&[], &[]), v(&["x"])),
        (
            None,
            None,
            image(&["/a", "b"], &["c", "d"]),
            v(&["/a", "b", "c", "d"]),
        ),
    ];
    for (command, args, img, want) in cases {
        assert_eq!(
            resolve_args(command.as_deref(), args.as_deref(), &[], &img),
            want,
            "{command:?} {args:?} {img:?}"
        );
    }
}

#[test]
fn only_command_and_args_are_expanded_against_pod_env() {
    let env = vec![("MSG".to_string(), "hi".to_string())];
    let img = image(&["/echo", "$(MSG)"], &["$(MSG)"]);
    assert_eq!(
        resolve_args(None, None, &env, &img),
        v(&["/echo", "$(MSG)", "$(MSG)"])
    );
    assert_eq!(
        resolve_args(
            None,
            Some(&v(&["$(MSG)", "$$(MSG)", "$(NOPE)"])),
            &env,
            &img
        ),
        v(&["/echo", "$(MSG)", "hi", "$(MSG)", "$(NOPE)"])
    );
    assert_eq!(
        resolve_args(
            Some(&v(&["sh", "-c", "echo $(MSG) $MSG"])),
            None,
            &env,
            &img
        ),
        v(&["sh", "-c", "echo hi $MSG"])
    );
}

#[test]
fn env_merge_order() {
    let merged = merge_env(
        Some("web"),
        &v(&["PATH=/img/bin", "A=image", "B=image", "NOEQ"]),
        &[
            ("B".into(), "pod".into()),
            ("C".into(), "pod".into()),
            ("HOSTNAME".into(), "mine".into()),
        ],
    );
    assert_eq!(
        merged,
        v(&[
            "PATH=/img/bin",
            "HOSTNAME=mine",
            "A=image",
            "B=pod",
            "NOEQ=",
            "C=pod"
        ])
    );
    assert_eq!(
        merge_env(None, &[], &[]),
        v(&[&format!("PATH={DEFAULT_PATH}")])
    );
    // Values may contain '='.
    assert_eq!(merge_env(None, &v(&["X=a=b"]), &[])[1], "X=a=b");
}

#[test]
fn whole_process_of_a_planned_container() {
    let m = run("apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: c
    image: x:1
    args: ['--greeting=$(GREETING)', '--ip=$(MY_IP)', '--path=$(PATH)']
    env:
    - {name: GREETING, value: hello}
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    securityContext: {runAsUser: 1001}
  - name: d
    image: x:1
    workingDir: /work
")
    .unwrap();
    let p = &m.pods[0];
    let facts = RuntimeFacts {
        pod_ips: vec!["10.1.2.3".into()],
        host_ips: vec![],
    };
    let img = ImageProcessDefaults {
        entrypoint: v(&["/server"]),
        cmd: v(&["--default"]),
        env: v(&["PATH=/usr/bin", "GREETING=from-image"]),
        working_dir: Some("/srv".into()),
        user: Some("app".into()),
    };
    let proc = resolve_process(&p.containers[0], &facts, Some(&p.sandbox.hostname), &img).unwrap();
    // $(PATH) is the image's ENV, which expansion does not see.
    assert_eq!(
        proc.args,
        v(&[
            "/server",
            "--greeting=hello",
            "--ip=10.1.2.3",
            "--path=$(PATH)"
        ])
    );
    assert_eq!(
        proc.env,
        v(&[
            "PATH=/usr/bin",
            "HOSTNAME=web",
            "GREETING=hello",
            "MY_IP=10.1.2.3"
        ])
    );
    assert_eq!(proc.cwd, "/srv");
    assert_eq!(
        proc.user,
        ProcessUser {
            uid: Some(1001),
            gid: None,
            image_user: None
        }
    );
    let proc = resolve_process(&p.containers[1], &facts, None, &img).unwrap();
    assert_eq!(proc.args, v(&["/server", "--default"]));
    assert_eq!(proc.cwd, "/work");
    assert_eq!(proc.user.image_user.as_deref(), Some("app"));
    let err = resolve_process(
        &p.containers[1],
        &facts,
        None,
        &ImageProcessDefaults::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        ProcessError::NoCommand {
            container: "d".into()
        }
    );
    assert!(err.to_string().contains("no command specified"));
    let proc = resolve_process(
        &p.containers[0],
        &facts,
        None,
        &ImageProcessDefaults {
            working_dir: Some(String::new()),
            ..img
        },
    )
    .unwrap();
    assert_eq!(proc.cwd, "/");
}
