//! The whole supervisor loop with plain host processes standing in for containers: every
//! ordering rule of the plan is exercised through real processes, pidfds and pipes, without
//! root. Each "container" runs its `command` + `args` with `$SHARED` naming a per-test folder.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use k8s_openapi::api::core::v1::Pod;
use minipod_manifest::ContainerPlan;

use crate::spec::ContainerKind;
use serde_json::json;

use super::*;

struct HostProcesses {
    pod: PodPlan,
    shared: PathBuf,
    pids: BTreeMap<String, i32>,
    torn_down: bool,
}

impl HostProcesses {
    fn container(&self, name: &str) -> ContainerPlan {
        self.pod.container(name).unwrap().clone()
    }

    // The supervisor's reactor reaps these children by pidfd, not through std's Child.
    #[allow(clippy::zombie_processes)]
    fn spawn(&self, argv: &[String]) -> std::io::Result<StartedProcess> {
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env("SHARED", &self.shared)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Like a container's init: its own process group, so a stop signal reaches the shell
        // and its children alike.
        cmd.process_group(0);
        let mut child = cmd.spawn()?;
        Ok(StartedProcess {
            pid: child.id() as i32,
            backend_reaps: false,
            stdout: child.stdout.take().map(OwnedFd::from),
            stderr: child.stderr.take().map(OwnedFd::from),
        })
    }
}

impl PodBackend for HostProcesses {
    fn create_sandbox(&mut self) -> Result<Option<String>, BackendError> {
        Ok(Some("10.0.0.2".into()))
    }

    fn start_container(
        &mut self,
        name: &str,
        _kind: ContainerKind,
        _index: usize,
        attempt: i32,
    ) -> Result<StartedContainer, StartError> {
        let c = self.container(name);
        let mut argv = c.command.clone().unwrap_or_default();
        argv.extend(c.args.clone().unwrap_or_default());
        // A command that cannot be executed: the runtime's container exists, its process
        // does not (containerd's StartError).
        let p = self
            .spawn(&argv)
            .map_err(|e| StartError::RunContainerError {
                container_id: format!("test://{name}-{attempt}"),
                message: e.to_string(),
            })?;
        self.pids.insert(name.to_owned(), p.pid);
        Ok(StartedContainer {
            process: p,
            container_id: format!("test://{name}-{attempt}"),
            image_id: None,
            stop_signal: None,
        })
    }

    fn run_handler(
        &mut self,
        _name: &str,
        _hook: Hook,
        handler: &Handler,
        _host: &str,
    ) -> HookLaunch {
        let Handler::Exec { command } = handler else {
            return HookLaunch::Finished(Err(format!("unsupported in tests: {handler:?}")));
        };
        match self.spawn(command) {
            Ok(p) => HookLaunch::Process(p),
            Err(e) => HookLaunch::Finished(Err(e.to_string())),
        }
    }

    fn handler_exited(&mut self, _name: &str, _hook: Hook) {}

    fn kill_handler(&mut self, _name: &str, _hook: Hook) {}

    fn signal(&mut self, name: &str, signal: Signal) -> Result<(), BackendError> {
        let pid = self.pids[name];
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), signal)
            .map_err(|e| BackendError::KillContainer(e.to_string()))
    }

    fn container_exited(&mut self, _name: &str) -> ExitDetails {
        ExitDetails::default()
    }

    fn teardown(&mut self) -> Result<(), BackendError> {
        self.torn_down = true;
        Ok(())
    }
}

struct Fixture {
    _root: tempfile::TempDir,
    shared: PathBuf,
    store: PodStore,
    uid: String,
}

fn fixture(spec: serde_json::Value) -> (Fixture, HostProcesses) {
    let root = tempfile::tempdir().unwrap();
    let shared = root.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    // Accepted as `run` accepts a pod: its plan (every container runs busybox's name).
    let mut spec = spec;
    for list in ["initContainers", "containers"] {
        for c in spec[list].as_array_mut().into_iter().flatten() {
            if c.get("image").is_none() {
                c["image"] = json!("busybox");
            }
        }
    }
    let input = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": spec,
    });
    let manifest = minipod_manifest::load(
        &[minipod_manifest::Input::new("p.json", input.to_string())],
        &minipod_manifest::LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut pod = manifest.pods.into_iter().next().unwrap();
    pod.uid = "uid-1".into();
    pod.pod.metadata.uid = Some("uid-1".into());
    let store = PodStore::open(root.path()).unwrap();
    store.create(&pod.pod).unwrap();
    let backend = HostProcesses {
        pod,
        shared: shared.clone(),
        pids: BTreeMap::new(),
        torn_down: false,
    };
    (
        Fixture {
            _root: root,
            shared,
            store,
            uid: "uid-1".into(),
        },
        backend,
    )
}

fn fast_backoff() -> BackoffPolicy {
    BackoffPolicy {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(400),
    }
}

fn sh(script: &str) -> serde_json::Value {
    json!(["/bin/sh", "-c", script])
}

/// A container that appends "<name> Starting/Exiting" lines with the clock to $SHARED/log.
fn logging(name: &str, body: &str) -> serde_json::Value {
    sh(&format!(
        "echo {name} Starting >> $SHARED/log; {body}; rc=$?; echo {name} Exiting >> $SHARED/log; exit $rc"
    ))
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn run(f: &Fixture, backend: HostProcesses) -> (Outcome, Pod) {
    let plan = backend.pod.clone();
    assert_eq!(plan.uid, f.uid);
    let sup = Supervisor::new(f.store.clone(), plan, backend, fast_backoff()).unwrap();
    let outcome = sup.run().unwrap();
    let pod = f.store.load(&f.uid).unwrap().unwrap().pod;
    (outcome, pod)
}

fn reasons(f: &Fixture) -> Vec<String> {
    f.store
        .events(&f.uid)
        .unwrap()
        .into_iter()
        .map(|e| {
            format!(
                "{} {}",
                e.reason.unwrap_or_default(),
                e.involved_object.field_path.unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn init_containers_run_in_order_before_the_app_and_the_pod_succeeds() {
    let (f, b) = fixture(json!({
        "restartPolicy": "Never",
        "initContainers": [
            {"name": "init-1", "image": "x", "command": logging("init-1", "sleep 0.2")},
            {"name": "init-2", "image": "x", "command": logging("init-2", "true")},
        ],
        "containers": [{"name": "app", "image": "x", "command": logging("app", "echo hello; echo warn >&2")}],
    }));
    let (outcome, pod) = run(&f, b);
    assert_eq!(outcome, Outcome::Finished(PodPhase::Succeeded));
    assert_eq!(
        lines(&f.shared.join("log")),
        [
            "init-1 Starting",
            "init-1 Exiting",
            "init-2 Starting",
            "init-2 Exiting",
            "app Starting",
            "app Exiting"
        ]
    );
    let status = pod.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Succeeded"));
    let app = &status.container_statuses.unwrap()[0];
    let term = app.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(
        (term.exit_code, term.reason.as_deref()),
        (0, Some("Completed"))
    );
    // The CRI log of attempt 0 has both streams.
    let log = std::fs::read_to_string(f.store.pod_dir(&f.uid).join("logs/app/0.log")).unwrap();
    assert!(log.contains(" stdout F hello\n"), "{log}");
    assert!(log.contains(" stderr F warn\n"), "{log}");
    let ev = reasons(&f);
    assert_eq!(ev[0], "Scheduled ");
    assert!(ev.contains(&"Started spec.initContainers{init-1}".to_string()));
    assert!(ev.contains(&"Started spec.containers{app}".to_string()));
}

#[test]
fn a_command_that_cannot_run_is_a_start_error_that_fails_a_never_pod() {
    let (f, b) = fixture(json!({
        "restartPolicy": "Never",
        "containers": [{"name": "app", "image": "x", "command": ["/no/such/binary"]}],
    }));
    let (outcome, pod) = run(&f, b);
    assert_eq!(outcome, Outcome::Finished(PodPhase::Failed));
    let app = &pod.status.unwrap().container_statuses.unwrap()[0];
    let term = app.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(
        (term.exit_code, term.reason.as_deref()),
        (128, Some("StartError"))
    );
    assert!(term.message.as_deref().is_some_and(|m| !m.is_empty()));
    assert_eq!(app.restart_count, 0);
    let ev = reasons(&f);
    assert!(
        ev.contains(&"Created spec.containers{app}".to_string()),
        "{ev:?}"
    );
    assert!(
        ev.contains(&"Failed spec.containers{app}".to_string()),
        "{ev:?}"
    );
}

#[test]
fn a_failed_init_container_under_never_fails_the_pod_and_apps_never_start() {
    let (f, b) = fixture(json!({
        "restartPolicy": "Never",
        "initContainers": [{"name": "init", "image": "x", "command": logging("init", "(exit 3)")}],
        "containers": [{"name": "app", "image": "x", "command": logging("app", "true")}],
    }));
    let (outcome, pod) = run(&f, b);
    assert_eq!(outcome, Outcome::Finished(PodPhase::Failed));
    assert_eq!(
        lines(&f.shared.join("log")),
        ["init Starting", "init Exiting"]
    );
    let status = pod.status.unwrap();
    let init = &status.init_container_statuses.unwrap()[0];
    let term = init.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((term.exit_code, term.reason.as_deref()), (3, Some("Error")));
    let app = &status.container_statuses.unwrap()[0];
    let waiting = app.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("PodInitializing"));
}

#[test]
fn a_failed_init_container_under_on_failure_is_restarted_then_the_app_runs() {
    let (f, b) = fixture(json!({
        "restartPolicy": "OnFailure",
        "initContainers": [{"name": "init", "image": "x", "command": logging("init",
            "if [ -e $SHARED/second ]; then true; else touch $SHARED/second; false; fi")}],
        "containers": [{"name": "app", "image": "x", "command": logging("app", "true")}],
    }));
    let (outcome, pod) = run(&f, b);
    assert_eq!(outcome, Outcome::Finished(PodPhase::Succeeded));
    assert_eq!(
        lines(&f.shared.join("log")),
        [
            "init Starting",
            "init Exiting",
            "init Starting",
            "init Exiting",
            "app Starting",
            "app Exiting"
        ]
    );
    let init = &pod.status.unwrap().init_container_statuses.unwrap()[0];
    assert_eq!(init.restart_count, 1);
    let last = init
        .last_state
        .as_ref()
        .unwrap()
        .terminated
        .as_ref()
        .unwrap();
    assert_eq!(last.exit_code, 1);
}

#[test]
fn post_start_runs_beside_the_entrypoint_and_blocks_the_next_container() {
    let (f, b) = fixture(json!({
        "restartPolicy": "Never",
        "containers": [
            {"name": "first", "image": "x",
             "command": logging("first", "until [ -e $SHARED/hooked ]; do sleep 0.05; done"),
             "lifecycle": {"postStart": {"exec": {"command":
                sh("sleep 0.3; echo first PostStart >> $SHARED/log; touch $SHARED/hooked")}}}},
            {"name": "second", "image": "x", "command": logging("second", "true")},
        ],
    }));
    let (outcome, _) = run(&f, b);
    assert_eq!(outcome, Outcome::Finished(PodPhase::Succeeded));
    let log = lines(&f.shared.join("log"));
    // The entrypoint starts before the hook ends, and the second container waits for it.
    let pos = |s: &str| log.iter().position(|l| l == s).unwrap();
    assert!(pos("first Starting") < pos("first PostStart"), "{log:?}");
    assert!(pos("first PostStart") < pos("second Starting"), "{log:?}");
}

#[test]
fn a_failing_post_start_hook_kills_the_container_and_records_the_event() {
    let (f, b) = fixture(json!({
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 5,
        "containers": [{"name": "app", "image": "x", "command": logging("app", "sleep 30"),
            "lifecycle": {"postStart": {"exec": {"command": sh("echo nope; exit 7")}}}}],
    }));
    let start = Instant::now();
    let (outcome, pod) = run(&f, b);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(outcome, Outcome::Finished(PodPhase::Failed));
    let ev = reasons(&f);
    assert!(
        ev.contains(&"FailedPostStartHook spec.containers{app}".to_string()),
        "{ev:?}"
    );
    assert!(
        ev.contains(&"Killing spec.containers{app}".to_string()),
        "{ev:?}"
    );
    // The kubelet's message, without the hook's output (it may carry secrets).
    let events = f.store.events(&f.uid).unwrap();
    let failed = events
        .iter()
        .find(|e| e.reason.as_deref() == Some("FailedPostStartHook"))
        .unwrap();
    assert_eq!(failed.message.as_deref(), Some("PostStartHook failed"));
    let app = &pod.status.unwrap().container_statuses.unwrap()[0];
    let term = app.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(term.exit_code, 143, "SIGTERM ends it: {term:?}");
}

#[test]
fn an_app_container_that_fails_under_always_is_restarted_with_back_off() {
    let (f, b) = fixture(json!({
        "restartPolicy": "OnFailure",
        "containers": [{"name": "app", "image": "x", "command": logging("app",
            "n=$(cat $SHARED/n 2>/dev/null || echo 0); echo $((n+1)) > $SHARED/n; [ $n -ge 2 ]")}],
    }));
    let (outcome, pod) = run(&f, b);
    assert_eq!(outcome, Outcome::Finished(PodPhase::Succeeded));
    let app = &pod.status.unwrap().container_statuses.unwrap()[0];
    assert_eq!(app.restart_count, 2);
    assert!(reasons(&f).iter().any(|r| r.starts_with("BackOff")));
    // Only the last two attempts' logs are kept (what `logs` and `logs -p` read): the
    // first run's file was removed when the third started.
    let log = |attempt: i32| {
        f.store
            .pod_dir(&f.uid)
            .join(format!("logs/app/{attempt}.log"))
    };
    assert!(!log(0).exists());
    assert!(log(1).exists() && log(2).exists());
}

#[test]
fn the_termination_message_from_logs_is_the_tail_of_both_streams() {
    let log = b"2026-01-01T00:00:00Z stdout F one\n\
2026-01-01T00:00:00Z stderr P par\n\
2026-01-01T00:00:01Z stdout F two\n\
2026-01-01T00:00:02Z stderr F tial\n";
    assert_eq!(log_tail_message(log), "one\ntwo\npartial\n");
    // At most 80 lines, then at most the last 2 KiB.
    let many: Vec<u8> = (0..100)
        .flat_map(|i| format!("2026-01-01T00:00:00Z stdout F {i}\n").into_bytes())
        .collect();
    let m = log_tail_message(&many);
    assert!(m.starts_with("20\n") && m.ends_with("99\n"), "{m}");
    let long = format!("2026-01-01T00:00:00Z stdout F {}\n", "x".repeat(3000));
    assert_eq!(log_tail_message(long.as_bytes()).len(), 2048);
    assert_eq!(log_tail_message(b""), "");
}

#[test]
fn a_container_exiting_during_its_sleep_post_start_is_no_hook_failure() {
    let (f, b) = fixture(json!({
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 5,
        "containers": [{"name": "app", "image": "x", "command": sh("sleep 0.2"),
            "lifecycle": {"postStart": {"sleep": {"seconds": 3}}}}],
    }));
    let (outcome, pod) = run(&f, b);
    assert_eq!(outcome, Outcome::Finished(PodPhase::Succeeded));
    let ev = reasons(&f);
    assert!(
        !ev.iter().any(|e| e.starts_with("FailedPostStartHook")),
        "{ev:?}"
    );
    let app = &pod.status.unwrap().container_statuses.unwrap()[0];
    let term = app.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(term.exit_code, 0);
}
