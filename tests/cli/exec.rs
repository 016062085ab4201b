//! `minipod exec` end to end against real pods: the command runs as the container's process
//! would (user, env, hostname, volumes), its exit code and streams come back as kubectl
//! gives them, `-it` gets a pty of the caller's terminal size, and every refusal uses
//! kubectl's words. Privileged: they need root and fail without it (MINIPOD_SKIP_PRIVILEGED=1 skips them).

use std::io::Write;
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::common::minipod_at;
use crate::pods::{all_running, stderr, stdout, PodRoot};
use minipod_testsupport::or_skip;

/// A pod whose app containers keep running: `a` (uid 1000, env, writes into an emptyDir)
/// and `b`, after an init container.
const WEB: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  securityContext: {runAsUser: 1000}
  volumes: [{name: data, emptyDir: {}}]
  initContainers:
  - {name: init-x, image: busybox:1.35, command: [sh, -c, "true"]}
  containers:
  - name: a
    image: busybox:1.35
    command: [sh, -c, "echo written-by-a > /data/f; sleep 3600"]
    env: [{name: GREETING, value: hello from the manifest}]
    volumeMounts: [{name: data, mountPath: /data}]
  - name: b
    image: busybox:1.35
    command: [sleep, "3600"]
    env: [{name: WHO, value: b}]
"#;

/// A root with `web` applied and both app containers running.
fn web() -> Option<PodRoot> {
    let root = PodRoot::new()?;
    let file = root.manifest("web.yaml", WEB);
    root.apply(&file, &[]);
    root.wait_for("web", "running", all_running);
    Some(root)
}

/// `minipod exec ARGS...` with `input` on its stdin.
fn exec_with_input(root: &PodRoot, args: &[&str], input: &[u8]) -> Output {
    let mut child = minipod_at(root.path())
        .arg("exec")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn exec(root: &PodRoot, args: &[&str]) -> Output {
    let mut full = vec!["exec"];
    full.extend_from_slice(args);
    root.minipod(&full)
}

#[test]
fn exec_runs_as_the_container_with_its_env_hostname_and_volumes() {
    let root = or_skip!(web());
    let out = exec(
        &root,
        &[
            "web",
            "--",
            "sh",
            "-c",
            "id -u; echo $GREETING; cat /data/f; hostname",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "1000\nhello from the manifest\nwritten-by-a\nweb\n"
    );
    // kubectl podcmd: the first container, named among all of them, init containers last.
    assert_eq!(
        stderr(&out),
        "Defaulted container \"a\" out of: a, b, init-x (init)\n"
    );

    // -c picks the second container: its own env, no notice.
    let out = exec(
        &root,
        &["pod/web", "-c", "b", "--", "sh", "-c", "echo $WHO"],
    );
    assert_eq!((stdout(&out).as_str(), stderr(&out).as_str()), ("b\n", ""));
    // -q keeps the notice back.
    let out = exec(&root, &["web", "-q", "--", "true"]);
    assert_eq!((out.status.code(), stderr(&out).as_str()), (Some(0), ""));
}

#[test]
fn the_default_container_annotation_is_honoured_quietly() {
    let root = or_skip!(PodRoot::new());
    root.apply_yaml(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: annotated
  annotations: {kubectl.kubernetes.io/default-container: second}
spec:
  containers:
  - {name: first, image: busybox:1.35, command: [sleep, "3600"], env: [{name: WHO, value: first}]}
  - {name: second, image: busybox:1.35, command: [sleep, "3600"], env: [{name: WHO, value: second}]}
"#,
    );
    root.wait_for("annotated", "running", all_running);
    let out = exec(&root, &["annotated", "--", "sh", "-c", "echo $WHO"]);
    assert_eq!(
        (stdout(&out).as_str(), stderr(&out).as_str()),
        ("second\n", "")
    );
}

#[test]
fn exit_codes_propagate_and_stdout_and_stderr_stay_apart() {
    let root = or_skip!(web());
    let out = exec(
        &root,
        &[
            "web",
            "-c",
            "a",
            "--",
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stdout(&out), "to-out\n");
    assert_eq!(
        stderr(&out),
        "to-err\ncommand terminated with exit code 3\n"
    );

    // A command that cannot be found is the runtime's error, not a hang.
    let out = exec(&root, &["web", "-c", "a", "--", "/no/such/binary"]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("/no/such/binary"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // Nothing is left in the bundle by any of these execs.
    let bundles: Vec<String> = walk(root.path())
        .into_iter()
        .filter(|p| p.contains("/bundle/") && !p.ends_with("/config.json"))
        .collect();
    assert!(bundles.is_empty(), "{bundles:#?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let ft = e.file_type().unwrap();
        // Root filesystems are mounted under the run dir: do not descend into them.
        if ft.is_dir() && !p.ends_with("rootfs") {
            out.extend(walk(&p));
        } else if !ft.is_dir() {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn stdin_reaches_the_command_only_with_i() {
    let root = or_skip!(web());
    let out = exec_with_input(&root, &["-i", "web", "-c", "b", "--", "wc", "-c"], b"12345");
    assert_eq!(
        (out.status.code(), stdout(&out).trim()),
        (Some(0), "5"),
        "{}",
        stderr(&out)
    );
    let out = exec_with_input(&root, &["web", "-i", "-c", "b", "--", "cat"], b"piped\n");
    assert_eq!(stdout(&out), "piped\n");
    // Without -i the command reads /dev/null.
    let out = exec_with_input(&root, &["web", "-c", "b", "--", "cat"], b"ignored\n");
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), ""));
    // -t without -i: no tty, silently (kubectl SetupTTY).
    let out = exec_with_input(&root, &["web", "-t", "-c", "b", "--", "tty"], b"");
    assert_eq!(stdout(&out), "not a tty\n");
    assert_eq!(stderr(&out), "command terminated with exit code 1\n");
    // -it with stdin not a terminal: kubectl's notice, then on without a tty.
    let out = exec_with_input(
        &root,
        &["web", "-it", "-c", "b", "--", "cat"],
        b"still piped\n",
    );
    assert_eq!(stdout(&out), "still piped\n");
    assert_eq!(
        stderr(&out),
        "Unable to use a TTY - input is not a terminal or the right kind of file\n"
    );
}

/// Runs `argv` on a fresh pty of 33 rows and 101 columns (set before it starts), feeds it
/// `script`'s steps, and prints a JSON object {output, exit_code}. Each step is either bytes
/// to type then a marker to wait for, or a new window size.
const PTY_DRIVER: &str = r#"
import fcntl, json, os, pty, select, struct, sys, termios, time
def size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    size(0, 33, 101)
    os.execv(sys.argv[2], sys.argv[2:])
out = b''
def read_until(marker, timeout):
    global out
    end = time.time() + timeout
    while marker.encode() not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return
            if not d:
                return
            out += d
for step in steps:
    if 'resize' in step:
        size(fd, *step['resize'])
        time.sleep(0.2)
    else:
        os.write(fd, step['type'].encode())
        read_until(step['until'], 30)
read_until('\0never', 30)
_, status = os.waitpid(pid, 0)
print(json.dumps({'output': out.decode(errors='replace'),
                  'exit_code': os.waitstatus_to_exitcode(status)}))
"#;

fn on_pty(root: &PodRoot, steps: Value, args: &[&str]) -> (String, i64) {
    let out = root.exec_under(PTY_DRIVER, &[&steps.to_string()], args);
    let v: Value = serde_json::from_str(&out).unwrap();
    (
        v["output"].as_str().unwrap().to_owned(),
        v["exit_code"].as_i64().unwrap(),
    )
}

#[test]
fn it_on_a_terminal_gets_a_pty_of_its_size_that_follows_resizes() {
    let root = or_skip!(web());
    // Run straight away: the size must already be there when the command starts.
    for _ in 0..3 {
        let (output, code) = on_pty(
            &root,
            serde_json::json!([]),
            &[
                "-it",
                "web",
                "-c",
                "b",
                "--",
                "sh",
                "-c",
                "tty; stty size; exit 4",
            ],
        );
        assert_eq!(code, 4, "{output}");
        let lines: Vec<&str> = output.lines().map(|l| l.trim_end_matches('\r')).collect();
        assert!(lines[0].starts_with("/dev/pts/"), "{output:?}");
        assert_eq!(lines[1], "33 101", "{output:?}");
        assert_eq!(
            lines[2], "command terminated with exit code 4",
            "{output:?}"
        );
    }

    // An interactive shell: keystrokes in, a resize followed, its exit code out.
    let (output, code) = on_pty(
        &root,
        serde_json::json!([
            {"type": "stty size; echo mark-$((40+2))\n", "until": "mark-42"},
            {"resize": [40, 120]},
            {"type": "stty size; echo mark-$((40+3))\n", "until": "mark-43"},
            {"type": "exit 7\n", "until": "exit code 7"},
        ]),
        &["-it", "web", "-c", "b", "--", "sh"],
    );
    assert_eq!(code, 7, "{output}");
    let lines: Vec<&str> = output.lines().map(|l| l.trim_end_matches('\r')).collect();
    let after = |marker: &str| {
        let i = lines.iter().position(|l| *l == marker).unwrap_or_else(|| {
            panic!("{marker} not in {output:?}");
        });
        lines[i - 1]
    };
    assert_eq!(after("mark-42"), "33 101", "{output:?}");
    assert_eq!(after("mark-43"), "40 120", "{output:?}");
}

#[test]
fn refusals_use_kubectls_words() {
    let root = or_skip!(PodRoot::new());
    root.apply_yaml(
        "pods.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: done}
spec:
  restartPolicy: Never
  containers: [{name: app, image: busybox:1.35, command: ["true"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: half}
spec:
  restartPolicy: Never
  containers:
  - {name: runs, image: busybox:1.35, command: [sleep, "3600"]}
  - {name: ended, image: busybox:1.35, command: ["true"]}
"#,
    );
    root.wait_for_phase("done", "Succeeded");
    root.wait_for("half", "one running, one ended", |p| {
        p["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|cs| {
                cs.iter().any(|c| c["state"]["running"].is_object())
                    && cs.iter().any(|c| c["state"]["terminated"].is_object())
            })
    });

    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["nope", "--", "true"],
            1,
            "Error from server (NotFound): pods \"nope\" not found\n",
        ),
        (
            &["done", "--", "true"],
            1,
            "error: cannot exec into a container in a completed pod; current phase is Succeeded\n",
        ),
        (
            &["half", "-c", "zz", "--", "true"],
            1,
            "error: container zz not found in pod half\n",
        ),
        (
            &["half", "-c", "ended", "--", "true"],
            1,
            "error: container ended is not running in pod half (terminated: Completed)\n",
        ),
        (
            &["half"],
            2,
            "error: you must specify at least one command for the container\n",
        ),
        (
            &["half", "ls", "/"],
            2,
            "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\n",
        ),
        (
            &["deployment/half", "--", "true"],
            2,
            "error: the server doesn't have a resource type \"deployment\"\n",
        ),
    ];
    for (args, code, message) in cases {
        let out = exec(&root, args);
        assert_eq!(
            (out.status.code(), stderr(&out).as_str()),
            (Some(*code), *message),
            "{args:?}"
        );
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    // The running container of the same pod still takes execs.
    let out = exec(&root, &["pod/half", "-q", "--", "echo", "ok"]);
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "ok\n")
    );

    // Bad flags are usage errors (exit 2), before anything is looked up.
    for args in [
        &["half", "--no-such-flag", "--", "true"][..],
        &["--", "true"][..],
        &["half", "-c"][..],
    ] {
        let out = exec(&root, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}
