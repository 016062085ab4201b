//! Test driver for minipod-runtime: runs one scenario in a single-threaded process (libcontainer
//! must not be called from a multi-threaded process such as a `cargo test` harness) and prints
//! what happened as JSON on stdout.
//!
//! ```text
//! minipod-runtime-probe scenario FILE.json   # pods and containers, see `Scenario`
//! minipod-runtime-probe gc ROOT UID...          # clean up pods from disk (dead supervisor)
//! minipod-runtime-probe bundle BUNDLE RUNDIR ID  # create+start+wait+delete of an OCI bundle (bench)
//! ```
//! Every container is deleted and every sandbox torn down before the process exits, also when
//! a step fails; the JSON then carries the error.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use minipod_runtime::config::{
    ContainerConfig, Mount, MountSource, NamespaceMode, Namespaces, ProcessConfig, Propagation,
    Resources, SandboxConfig, SecurityConfig,
};
use minipod_runtime::container::{Container, ContainerPaths, ContainerStdio, StdioPipes};
use minipod_runtime::logs::{CriLogWriter, LogStream};
use minipod_runtime::sandbox::PodSandbox;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    /// Run root: pods live in `<root>/pods/<uid>`.
    root: PathBuf,
    /// Re-exec from a sealed memfd first.
    #[serde(default)]
    seal: bool,
    /// Exit right after the last container started, cleaning nothing up: a supervisor that
    /// died. `gc` cleans up after it.
    #[serde(default)]
    abandon: bool,
    pods: Vec<PodSpec>,
    /// Containers in the order they are started.
    containers: Vec<ContainerSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PodSpec {
    uid: String,
    name: String,
    hostname: String,
    #[serde(default)]
    host_network: bool,
    #[serde(default)]
    share_process_namespace: bool,
    #[serde(default)]
    memory_limit: Option<i64>,
    #[serde(default)]
    pids_limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContainerSpec {
    pod: String,
    name: String,
    rootfs: PathBuf,
    args: Vec<String>,
    #[serde(default)]
    env: Vec<(String, String)>,
    #[serde(default)]
    restart_count: u32,
    /// Run to completion before the next container starts; otherwise it runs in the
    /// background until `background_timeout_ms` after the last container, then is killed.
    #[serde(default = "yes")]
    wait: bool,
    #[serde(default)]
    memory_limit: Option<i64>,
    #[serde(default)]
    pids_limit: Option<i64>,
    #[serde(default)]
    read_only_root: bool,
    #[serde(default)]
    mounts: Vec<MountSpec>,
    #[serde(default)]
    security: Option<SecuritySpec>,
    /// Kill (SIGKILL) if still running after this long.
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
    /// Send SIGTERM to the container's init after this long (graceful stop).
    #[serde(default)]
    stop_after_ms: Option<u64>,
    /// Leave the processes for the sandbox teardown instead of deleting the container first
    /// (straggler test).
    #[serde(default)]
    skip_delete: bool,
    /// Give the container a pty (`tty: true`); its output is read from the pty master.
    #[serde(default)]
    tty: bool,
    /// Commands to exec into the container right after it started, one after the other.
    #[serde(default)]
    exec: Vec<Vec<String>>,
    /// Give the exec'd processes a pty.
    #[serde(default)]
    exec_tty: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MountSpec {
    host: PathBuf,
    dest: PathBuf,
    #[serde(default)]
    read_only: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecuritySpec {
    #[serde(default)]
    run_as_user: Option<i64>,
    #[serde(default)]
    run_as_group: Option<i64>,
    #[serde(default)]
    allow_privilege_escalation: Option<bool>,
    #[serde(default)]
    runtime_default_seccomp: bool,
    #[serde(default)]
    capabilities_drop: Vec<String>,
    #[serde(default)]
    capabilities_add: Vec<String>,
    #[serde(default)]
    privileged: bool,
}

fn yes() -> bool {
    true
}
fn default_timeout() -> u64 {
    20_000
}

#[derive(Debug, Serialize, Default)]
struct Report {
    /// The probe ran from a sealed memfd copy of its binary.
    sealed: bool,
    containers: Vec<ContainerReport>,
    errors: Vec<String>,
}

#[derive(Debug, Serialize, Default)]
struct ContainerReport {
    pod: String,
    name: String,
    id: String,
    pid: i32,
    exit_code: Option<i32>,
    signal: Option<i32>,
    oom_killed: bool,
    reason: String,
    log: PathBuf,
    stdout: String,
    stderr: String,
    error: Option<String>,
    execs: Vec<ExecReport>,
}

#[derive(Debug, Serialize, Default)]
struct ExecReport {
    exit_code: Option<i32>,
    stdout: String,
    stderr: String,
    error: Option<String>,
}

/// One started container and the supervisor's side of its pipes.
struct Running {
    report_index: usize,
    container: Container,
    log: Option<CriLogWriter>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    out_text: Vec<u8>,
    err_text: Vec<u8>,
    deadline: Instant,
    stop_at: Option<Instant>,
    skip_delete: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("scenario") if args.len() == 3 => run_scenario_file(Path::new(&args[2])),
        Some("gc") if args.len() >= 4 => gc(Path::new(&args[2]), &args[3..]),
        Some("bundle") if args.len() == 5 => {
            run_bundle(Path::new(&args[2]), Path::new(&args[3]), &args[4])
        }
        _ => {
            eprintln!(
                "usage: minipod-runtime-probe scenario FILE | gc ROOT UID... | bundle BUNDLE RUNDIR ID"
            );
            ExitCode::from(2)
        }
    }
}

fn run_scenario_file(path: &Path) -> ExitCode {
    let scenario: Scenario = match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    if scenario.seal {
        if let Err(e) = minipod_runtime::seal::ensure_sealed() {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    let report = run_scenario(&scenario);
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// What `delete`/`gc` does for a pod whose supervisor died: every container left on disk is
/// deleted, then the sandbox is torn down from its run directory and pod cgroup.
fn gc(root: &Path, uids: &[String]) -> ExitCode {
    let mut errors = Vec::new();
    for uid in uids {
        let p = PodSpec {
            uid: uid.clone(),
            name: uid.clone(),
            hostname: String::new(),
            host_network: false,
            share_process_namespace: false,
            memory_limit: None,
            pids_limit: None,
        };
        let cfg = sandbox_config(root, &p);
        if let Ok(rd) = std::fs::read_dir(cfg.run_dir.join("containers")) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let paths = ContainerPaths::in_pod_run_dir(&cfg.run_dir, &name);
                for id in Container::ids_on_disk(&paths) {
                    if let Err(e) = Container::delete_from_disk(&paths, &id, &name) {
                        errors.push(e.to_string());
                    }
                }
            }
        }
        match PodSandbox::open(&cfg).and_then(PodSandbox::teardown) {
            Ok(()) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    println!("{}", serde_json::json!({ "errors": errors }));
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn sandbox_config(root: &Path, p: &PodSpec) -> SandboxConfig {
    SandboxConfig {
        pod_uid: p.uid.clone(),
        pod_name: p.name.clone(),
        namespace: "default".into(),
        hostname: p.hostname.clone(),
        fqdn: None,
        host_network: p.host_network,
        host_ipc: false,
        host_pid: false,
        share_process_namespace: p.share_process_namespace,
        host_aliases: vec![],
        run_dir: root.join("pods").join(&p.uid),
        cgroup_parent: format!("minipod/{}", p.uid),
        resources: Resources {
            memory_limit: p.memory_limit,
            pids_limit: p.pids_limit,
            ..Resources::default()
        },
    }
}

fn run_scenario(s: &Scenario) -> Report {
    let mut report = Report {
        sealed: minipod_runtime::seal::is_sealed(),
        ..Report::default()
    };
    let mut sandboxes: BTreeMap<String, (PodSandbox, SandboxConfig)> = BTreeMap::new();
    for p in &s.pods {
        let cfg = sandbox_config(&s.root, p);
        match PodSandbox::create(&cfg) {
            Ok(sb) => {
                sandboxes.insert(p.name.clone(), (sb, cfg));
            }
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    let mut running: Vec<Running> = Vec::new();
    if report.errors.is_empty() {
        for c in &s.containers {
            let Some((sb, sb_cfg)) = sandboxes.get(&c.pod) else {
                report
                    .errors
                    .push(format!("container {}: no pod {}", c.name, c.pod));
                break;
            };
            let mut rep = ContainerReport {
                pod: c.pod.clone(),
                name: c.name.clone(),
                id: format!("{}-{}-{}", sb_cfg.pod_uid, c.name, c.restart_count),
                log: sb_cfg
                    .run_dir
                    .join("logs")
                    .join(&c.name)
                    .join(format!("{}.log", c.restart_count)),
                ..Default::default()
            };
            match start_container(sb, sb_cfg, c, &rep.id, &rep.log) {
                Ok(mut r) => {
                    rep.pid = r.container.pid();
                    rep.execs = c
                        .exec
                        .iter()
                        .map(|args| exec_in(&r.container, args, c.exec_tty))
                        .collect();
                    r.report_index = report.containers.len();
                    report.containers.push(rep);
                    running.push(r);
                    if c.wait {
                        let idx = running.len() - 1;
                        pump(&mut running, Some(idx));
                        finish(&mut running, idx, &mut report);
                    }
                }
                Err(e) => {
                    rep.error = Some(e.clone());
                    report.containers.push(rep);
                    report.errors.push(e);
                    break;
                }
            }
        }
    }
    if s.abandon {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        std::process::exit(0);
    }
    // Background containers: until they exit or their deadline passes.
    while let Some(idx) = running
        .iter()
        .position(|r| r.container.exit_status().is_none() && !r.skip_delete)
    {
        pump(&mut running, Some(idx));
        finish(&mut running, idx, &mut report);
    }
    let mut stragglers = Vec::new();
    for mut r in running.drain(..) {
        drain_pipes(&mut r);
        if r.skip_delete {
            // Left running for the sandbox teardown to find and kill.
            stragglers.push((r.report_index, r.container));
            continue;
        }
        if let Err(e) = r.container.delete() {
            report.errors.push(e.to_string());
        }
    }
    for (_, (sb, _)) in sandboxes {
        if let Err(e) = sb.teardown() {
            report.errors.push(e.to_string());
        }
    }
    for (i, c) in stragglers {
        match c.delete() {
            Ok(st) => {
                if let Some(rep) = report.containers.get_mut(i) {
                    rep.exit_code = Some(st.code);
                    rep.signal = st.signal;
                    rep.reason = st.reason().to_string();
                }
            }
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    report
}

/// Runs `args` in the container, collecting its output (small outputs only: the pipes are
/// read after the process exits).
fn exec_in(container: &Container, args: &[String], tty: bool) -> ExecReport {
    let mut rep = ExecReport::default();
    let run = || -> Result<(i32, Vec<u8>, Vec<u8>), String> {
        let (stdio, pipes) = if tty {
            let (_, pipes) = ContainerStdio::pipes(false).map_err(|e| e.to_string())?;
            (ContainerStdio::null().map_err(|e| e.to_string())?, pipes)
        } else {
            ContainerStdio::pipes(false).map_err(|e| e.to_string())?
        };
        let process = ProcessConfig {
            args: args.to_vec(),
            tty,
            ..ProcessConfig::default()
        };
        let mut p = container.exec(&process, stdio).map_err(|e| e.to_string())?;
        let master = p.take_pty_master();
        let st = p.wait().map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let mut err = Vec::new();
        let stdout = master.unwrap_or(pipes.stdout);
        // A pty master reports EIO once the slave side is gone: that is its end of file.
        let _ = std::fs::File::from(stdout).read_to_end(&mut out);
        if !tty {
            std::fs::File::from(pipes.stderr)
                .read_to_end(&mut err)
                .map_err(|e| e.to_string())?;
        }
        Ok((st.code, out, err))
    };
    match run() {
        Ok((code, out, err)) => {
            rep.exit_code = Some(code);
            rep.stdout = String::from_utf8_lossy(&out).into_owned();
            rep.stderr = String::from_utf8_lossy(&err).into_owned();
        }
        Err(e) => rep.error = Some(e),
    }
    rep
}

fn start_container(
    sb: &PodSandbox,
    sb_cfg: &SandboxConfig,
    c: &ContainerSpec,
    id: &str,
    log_path: &Path,
) -> Result<Running, String> {
    let mut mounts = sb.etc_mounts();
    mounts.extend(c.mounts.iter().map(|m| Mount {
        source: MountSource::Bind(m.host.clone()),
        destination: m.dest.clone(),
        read_only: m.read_only,
        propagation: Propagation::Private,
    }));
    let sec = c.security.as_ref();
    let mut security = SecurityConfig {
        read_only_root_filesystem: c.read_only_root,
        ..SecurityConfig::default()
    };
    if let Some(sec) = sec {
        security.user.run_as_user = sec.run_as_user;
        security.user.run_as_group = sec.run_as_group;
        security.allow_privilege_escalation = sec.allow_privilege_escalation;
        security.capabilities_drop = sec.capabilities_drop.clone();
        security.capabilities_add = sec.capabilities_add.clone();
        security.privileged = sec.privileged;
        if sec.runtime_default_seccomp {
            security.seccomp = minipod_runtime::config::Seccomp::RuntimeDefault;
        }
    }
    let cfg = ContainerConfig {
        id: id.to_string(),
        name: c.name.clone(),
        rootfs: c.rootfs.clone(),
        process: ProcessConfig {
            args: c.args.clone(),
            // What an image's ENV would give, then the container's own.
            env: std::iter::once((
                "PATH".to_string(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            ))
            .chain(c.env.iter().cloned())
            .collect(),
            tty: c.tty,
            ..ProcessConfig::default()
        },
        security,
        resources: Resources {
            memory_limit: c.memory_limit,
            pids_limit: c.pids_limit,
            ..Resources::default()
        },
        mounts,
        namespaces: sb.namespaces(),
        hostname: Some(sb_cfg.hostname.clone()),
        cgroups_path: sb.container_cgroups_path(id),
        stop_signal: libc::SIGTERM,
        annotations: BTreeMap::new(),
    };
    let spec = spec_for(&cfg)?;
    let paths = ContainerPaths::in_pod_run_dir(&sb_cfg.run_dir, &c.name);
    let (stdio, pipes) = if c.tty {
        // The pty replaces stdio; the pipes are only placeholders.
        let (_, pipes) = ContainerStdio::pipes(false).map_err(|e| e.to_string())?;
        (ContainerStdio::null().map_err(|e| e.to_string())?, pipes)
    } else {
        ContainerStdio::pipes(false).map_err(|e| e.to_string())?
    };
    let StdioPipes { stdout, stderr, .. } = pipes;
    let log = CriLogWriter::create(log_path).map_err(|e| e.to_string())?;
    let mut container = Container::create(&cfg, spec, &paths, stdio).map_err(|e| e.to_string())?;
    let (stdout, stderr) = match container.take_pty_master() {
        Some(master) => (master, None),
        None => (stdout, Some(stderr)),
    };
    if let Err(e) = container.start() {
        let msg = e.to_string();
        let _ = container.delete();
        return Err(msg);
    }
    Ok(Running {
        report_index: 0,
        container,
        log: Some(log),
        stdout: Some(stdout),
        stderr,
        out_text: Vec::new(),
        err_text: Vec::new(),
        deadline: Instant::now() + Duration::from_millis(c.timeout_ms),
        stop_at: c
            .stop_after_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms)),
        skip_delete: c.skip_delete,
    })
}

/// Reads every pipe of every running container into its log until the container `wait_for`
/// has exited and its pipes are closed, or its deadline passed (then it is killed).
fn pump(running: &mut [Running], wait_for: Option<usize>) {
    let pidfd = wait_for.and_then(|i| running[i].container.pidfd().ok());
    loop {
        if let Some(i) = wait_for {
            let r = &running[i];
            let exited = pidfd.as_ref().is_none_or(readable_now);
            if exited && r.stdout.is_none() && r.stderr.is_none() {
                return;
            }
            if r.stop_at.is_some_and(|t| Instant::now() > t) {
                running[i].stop_at = None;
                let _ = running[i]
                    .container
                    .signal(nix::sys::signal::Signal::SIGTERM, false);
            }
            let r = &running[i];
            if Instant::now() > r.deadline {
                let _ = running[i]
                    .container
                    .signal(nix::sys::signal::Signal::SIGKILL, true);
                running[i].deadline = Instant::now() + Duration::from_secs(5);
            }
        }
        let mut fds: Vec<(usize, LogStream, i32)> = Vec::new();
        for (i, r) in running.iter().enumerate() {
            if let Some(fd) = &r.stdout {
                fds.push((i, LogStream::Stdout, fd.as_raw_fd()));
            }
            if let Some(fd) = &r.stderr {
                fds.push((i, LogStream::Stderr, fd.as_raw_fd()));
            }
        }
        let mut pfds: Vec<PollFd> = Vec::new();
        for (i, stream, _) in &fds {
            let r = &running[*i];
            let fd = match stream {
                LogStream::Stdout => r.stdout.as_ref(),
                LogStream::Stderr => r.stderr.as_ref(),
            };
            if let Some(fd) = fd {
                pfds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
        }
        if let Some(fd) = &pidfd {
            pfds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        let _ = poll(&mut pfds, PollTimeout::from(100u16));
        let ready: Vec<bool> = pfds
            .iter()
            .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(pfds);
        for (k, (i, stream, _)) in fds.iter().enumerate() {
            if ready[k] {
                read_pipe(&mut running[*i], *stream);
            }
        }
        if wait_for.is_none() && fds.is_empty() {
            return;
        }
    }
}

fn readable_now(fd: &OwnedFd) -> bool {
    let mut p = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut p, PollTimeout::ZERO), Ok(n) if n > 0)
}

fn read_pipe(r: &mut Running, stream: LogStream) {
    let slot = match stream {
        LogStream::Stdout => &mut r.stdout,
        LogStream::Stderr => &mut r.stderr,
    };
    let Some(fd) = slot.as_ref() else { return };
    let mut buf = [0u8; 65536];
    let mut f = std::fs::File::from(match fd.try_clone() {
        Ok(f) => f,
        Err(_) => return,
    });
    match f.read(&mut buf) {
        Ok(0) | Err(_) => {
            *slot = None;
            if let Some(log) = r.log.as_mut() {
                let _ = log.finish_stream(stream);
            }
        }
        Ok(n) => {
            if let Some(log) = r.log.as_mut() {
                let _ = log.write_chunk(stream, &buf[..n]);
            }
            match stream {
                LogStream::Stdout => r.out_text.extend_from_slice(&buf[..n]),
                LogStream::Stderr => r.err_text.extend_from_slice(&buf[..n]),
            }
        }
    }
}

fn drain_pipes(r: &mut Running) {
    // Non-blocking leftovers only: a straggler may still hold the pipe open.
    for stream in [LogStream::Stdout, LogStream::Stderr] {
        let fd = match stream {
            LogStream::Stdout => r.stdout.as_ref(),
            LogStream::Stderr => r.stderr.as_ref(),
        };
        if fd.is_some_and(readable_now) {
            read_pipe(r, stream);
        }
    }
}

fn finish(running: &mut [Running], idx: usize, report: &mut Report) {
    let r = &mut running[idx];
    let Some(rep) = report.containers.get_mut(r.report_index) else {
        return;
    };
    match r.container.wait() {
        Ok(st) => {
            rep.exit_code = Some(st.code);
            rep.signal = st.signal;
            rep.oom_killed = st.oom_killed;
            rep.reason = st.reason().to_string();
        }
        Err(e) => rep.error = Some(e.to_string()),
    }
    drain_pipes(r);
    rep.stdout = String::from_utf8_lossy(&r.out_text).into_owned();
    rep.stderr = String::from_utf8_lossy(&r.err_text).into_owned();
    if r.stdout.is_none() && r.stderr.is_none() {
        if let Some(log) = r.log.take() {
            let _ = log.finish();
        }
    }
}

/// The OCI spec of a container, from spec.rs (as the supervisor makes it).
fn spec_for(cfg: &ContainerConfig) -> Result<oci_spec::runtime::Spec, String> {
    use minipod_runtime::spec;
    let host = spec::HostFacts::probe().map_err(|e| e.to_string())?;
    let inputs = spec::prepare_inputs(cfg).map_err(|e| error_chain(&e))?;
    spec::build_spec(cfg, &inputs, &host).map_err(|e| error_chain(&e))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `bundle BUNDLE RUNDIR ID`: one create+start+wait+delete of the OCI bundle's process, stdio
/// on /dev/null: the same work as `runc run -b BUNDLE ID` (benchmarks).
fn run_bundle(bundle: &Path, run_dir: &Path, id: &str) -> ExitCode {
    let t_main = Instant::now();
    let run = || -> Result<i32, String> {
        let spec = oci_spec::runtime::Spec::load(bundle.join("config.json"))
            .map_err(|e| format!("load {}/config.json: {e}", bundle.display()))?;
        let root = spec
            .root()
            .as_ref()
            .map(|r| r.path().clone())
            .ok_or("bundle spec has no root")?;
        let rootfs = if root.is_absolute() {
            root
        } else {
            bundle.join(root)
        };
        let cfg = ContainerConfig {
            id: id.to_string(),
            name: "bundle".into(),
            rootfs,
            process: ProcessConfig::default(),
            security: SecurityConfig::default(),
            resources: Resources::default(),
            mounts: vec![],
            namespaces: Namespaces {
                network: NamespaceMode::Private,
                ipc: NamespaceMode::Private,
                uts: NamespaceMode::Private,
                pid: NamespaceMode::Private,
            },
            hostname: None,
            cgroups_path: format!("minipod/{id}"),
            stop_signal: libc::SIGTERM,
            annotations: BTreeMap::new(),
        };
        let paths = ContainerPaths::in_pod_run_dir(run_dir, id);
        let stdio = ContainerStdio::null().map_err(|e| e.to_string())?;
        // MINIPOD_PROBE_TIMING=1: how long each step took, on stderr.
        let timing = std::env::var_os("MINIPOD_PROBE_TIMING").is_some();
        let mut t = t_main;
        let mut lap = |step: &str| {
            if timing {
                eprintln!("{step}: {:?}", t.elapsed());
                t = Instant::now();
            }
        };
        lap("prep");
        let mut c = Container::create(&cfg, spec, &paths, stdio).map_err(|e| e.to_string())?;
        lap("create");
        if let Err(e) = c.start() {
            let _ = c.delete();
            return Err(e.to_string());
        }
        lap("start");
        let st = c.wait().map_err(|e| e.to_string());
        lap("wait");
        c.delete().map_err(|e| e.to_string())?;
        lap("delete");
        Ok(st?.code)
    };
    let r = run();
    if std::env::var_os("MINIPOD_PROBE_TIMING").is_some() {
        eprintln!("total: {:?}", t_main.elapsed());
    }
    match r {
        Ok(0) => ExitCode::SUCCESS,
        Ok(code) => {
            eprintln!("error: container exited with {code}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
