//! `minipod exec POD [-c CONTAINER] [-i] [-t] [-q] -- COMMAND [ARG...]`: run a command in a
//! running container, as `kubectl exec` does.
//!
//! The process is started by this process (not the pod's supervisor) from what is on disk:
//! the pod's status names the running container's id, and the runtime loads the container's
//! bundle and state from there ([`ExecTarget::load`]). It runs with the container's user,
//! env, cwd, capabilities, namespaces and cgroup, like the supervisor's hooks and probes.
//! Without a tty the command never gets a terminal of the caller, as with kubectl (which
//! streams stdin, stdout and stderr separately): stdin is a pipe this process feeds from its
//! own stdin with `-i` (else /dev/null), and stdout and stderr are this process's own when
//! they are files or pipes, or pipes relayed to them when they are terminals (a terminal fd
//! in the container would let it read the caller's keystrokes or inject input with
//! TIOCSTI). With `-it` on a terminal it relays between the local terminal (in raw mode) and
//! a pty made in the container. Messages and decisions follow kubectl's exec.go and
//! podcmd.FindOrDefaultContainerByName.

use std::io::{self, IsTerminal, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use minipod_pod::store::PodStore;
use minipod_runtime::config::ProcessConfig;
use minipod_runtime::container::{ContainerError, ContainerPaths, ContainerStdio, ExecTarget};
use minipod_runtime::terminal::{self, WindowSize};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, SetArg, Termios};

use crate::exit::input;
use crate::get::not_found;
use crate::global::GlobalArgs;
use crate::pods::run_dir_of;

/// kubectl's annotation naming the container `logs`/`exec` pick by default.
const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";
/// The prefix of the containerIDs the supervisor reports.
const CONTAINER_ID_SCHEME: &str = "minipod://";

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The pod (NAME or pod/NAME).
    #[arg(value_name = "POD")]
    pub pod: String,
    /// The container (default: the kubectl.kubernetes.io/default-container annotation, else
    /// the first container).
    #[arg(short, long, value_name = "NAME")]
    pub container: Option<String>,
    /// Pass stdin to the command.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Stdin is a TTY: run the command on a pseudo-terminal (needs -i).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Print only what the command prints.
    #[arg(short, long)]
    pub quiet: bool,
    /// The namespace.
    #[arg(short, long, value_name = "NS", default_value = "default")]
    pub namespace: String,
    /// A command given without `--` (kubectl's old form), refused with kubectl's message.
    #[arg(value_name = "COMMAND", hide = true)]
    pub command_without_dash: Vec<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// How the command's stdio is wired (kubectl StreamOptions.SetupTTY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stdio {
    /// stdin is /dev/null; stdout and stderr are ours (relayed when terminals).
    NoStdin,
    /// stdin is a pipe fed from ours; stdout and stderr as for `NoStdin`.
    Stdin,
    /// A pty in the container, relayed to our terminal in raw mode.
    Tty,
}

/// A failure kubectl reports with its own wording (already printed), exit 1.
struct Reported;

pub fn run(args: ExecArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let pod_name = crate::get::pod_name_arg(&args.pod)?;
    if pod_name.is_empty() {
        return Err(input(anyhow::anyhow!(
            "pod, type/name or --filename must be specified"
        )));
    }
    // kubectl exec.go Complete: the form without `--` was removed.
    if !args.command_without_dash.is_empty() {
        return Err(input(anyhow::anyhow!(
            "exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead"
        )));
    }
    // kubectl exec.go Validate.
    if args.command.is_empty() {
        return Err(input(anyhow::anyhow!(
            "you must specify at least one command for the container"
        )));
    }
    // CVE-2019-5736: the exec'd process is cloned from this process inside the container's
    // namespaces, so run from a sealed copy of the binary, as the supervisor does. It
    // re-executes this process: nothing is printed before this point.
    minipod_runtime::seal::ensure_sealed().context("seal the minipod binary")?;

    let store = PodStore::open(&global.root_dir()).context("open pod store")?;
    let Some(record) = store.find(&args.namespace, &pod_name).context("read pod")? else {
        eprintln!("{}", not_found(&pod_name));
        return Ok(ExitCode::from(1));
    };
    let pod = &record.pod;
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if let Some(phase @ ("Succeeded" | "Failed")) = phase {
        anyhow::bail!("cannot exec into a container in a completed pod; current phase is {phase}");
    }
    let container = find_or_default_container(pod, args.container.as_deref(), args.quiet)?;
    let id = running_container_id(pod, &container)?;
    let paths = ContainerPaths::in_pod_run_dir(&run_dir_of(global, record.uid()), &container);
    let target = match ExecTarget::load(&container, &id, &paths) {
        Ok(t) => t,
        Err(ContainerError::NotRunning { .. }) => {
            anyhow::bail!("container {container} is not running in pod {pod_name}")
        }
        Err(e) => return Err(runtime(e)),
    };

    let stdio = setup_stdio(&args);
    let process = ProcessConfig {
        args: args.command.clone(),
        env: Vec::new(),
        cwd: None,
        tty: stdio == Stdio::Tty,
        stdin: stdio != Stdio::NoStdin,
        // Set in the container before the command starts: it never sees 0x0.
        console_size: (stdio == Stdio::Tty)
            .then(|| local_window_size().ok())
            .flatten(),
    };
    let code = match stdio {
        Stdio::Tty => match run_on_pty(&target, &process)? {
            Ok(code) => code,
            Err(Reported) => return Ok(ExitCode::from(1)),
        },
        Stdio::Stdin | Stdio::NoStdin => run_on_pipes(&target, &process)?,
    };
    if code != 0 {
        // kubectl: cmdutil.CheckErr on the exec's CodeExitError.
        eprintln!("command terminated with exit code {code}");
    }
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// The runtime's errors print their causes already: `{:#}` in main would repeat them.
fn runtime(e: ContainerError) -> anyhow::Error {
    anyhow::Error::msg(e.to_string())
}

/// kubectl StreamOptions.SetupTTY: a tty needs stdin, and stdin must be a terminal.
fn setup_stdio(args: &ExecArgs) -> Stdio {
    if !args.stdin {
        return Stdio::NoStdin;
    }
    if !args.tty {
        return Stdio::Stdin;
    }
    if !io::stdin().is_terminal() {
        if !args.quiet {
            eprintln!("Unable to use a TTY - input is not a terminal or the right kind of file");
        }
        return Stdio::Stdin;
    }
    Stdio::Tty
}

/// Our side of the command's stdio: what this process relays.
struct Relayed {
    /// The write end of the command's stdin pipe (`None`: /dev/null).
    stdin: Option<OwnedFd>,
    /// The read end of the command's stdout pipe (`None`: it writes to our stdout itself).
    stdout: Option<OwnedFd>,
    /// The same for stderr.
    stderr: Option<OwnedFd>,
}

/// The command's stdio without a tty: a pipe (or /dev/null) for stdin, never our stdin
/// itself; our stdout and stderr when they are not terminals, else pipes. Our ends are
/// non-blocking (they are our own file descriptions: the caller's terminal is left alone).
fn pipe_stdio(with_stdin: bool) -> anyhow::Result<(ContainerStdio, Relayed)> {
    let (mut stdio, pipes) = ContainerStdio::pipes(with_stdin).context("make stdio pipes")?;
    let direct = |fd: BorrowedFd<'_>, what: &str| {
        fd.try_clone_to_owned()
            .with_context(|| format!("duplicate {what}"))
    };
    let stdout = if io::stdout().is_terminal() {
        Some(pipes.stdout)
    } else {
        stdio.stdout = direct(io::stdout().as_fd(), "stdout")?;
        None
    };
    let stderr = if io::stderr().is_terminal() {
        Some(pipes.stderr)
    } else {
        stdio.stderr = direct(io::stderr().as_fd(), "stderr")?;
        None
    };
    let relayed = Relayed {
        stdin: pipes.stdin,
        stdout,
        stderr,
    };
    for fd in [&relayed.stdin, &relayed.stdout, &relayed.stderr]
        .into_iter()
        .flatten()
    {
        set_nonblocking(fd)?;
    }
    Ok((stdio, relayed))
}

fn set_nonblocking(fd: &OwnedFd) -> anyhow::Result<()> {
    let flags = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL)
        .context("read pipe flags")?;
    let flags = nix::fcntl::OFlag::from_bits_retain(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(flags))
        .context("make a pipe non-blocking")?;
    Ok(())
}

/// Runs the command without a tty and relays its pipes until it ends; returns its exit code.
fn run_on_pipes(target: &ExecTarget, process: &ProcessConfig) -> anyhow::Result<i32> {
    let (stdio, relayed) = pipe_stdio(process.stdin)?;
    // `stdio` (the command's ends) is consumed and closed here once the process has them:
    // our stdout pipes then end when the command's last writer closes them.
    let mut exec = target.exec(process, stdio).map_err(runtime)?;
    let pidfd = exec.pidfd().context("pidfd of the exec'd process")?;
    relay_pipes(relayed, &pidfd)?;
    Ok(exec.wait().map_err(runtime)?.code)
}

/// The poll loop without a tty: our stdin → the command's stdin pipe, its stdout and stderr
/// pipes → ours, until the command exits (what it wrote before is copied out first). Our
/// stdin is read only once the pipe took the previous chunk, so a command that does not read
/// cannot make us block; EOF on our stdin closes the pipe, so the command sees EOF.
fn relay_pipes(relayed: Relayed, pidfd: &OwnedFd) -> anyhow::Result<()> {
    let Relayed {
        mut stdin,
        mut stdout,
        mut stderr,
    } = relayed;
    let local_in = io::stdin();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let want_input = stdin.is_some() && pending.is_empty();
        let none = || PollFd::new(pidfd.as_fd(), PollFlags::empty());
        let mut fds = [
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
            stdout
                .as_ref()
                .map_or_else(none, |f| PollFd::new(f.as_fd(), PollFlags::POLLIN)),
            stderr
                .as_ref()
                .map_or_else(none, |f| PollFd::new(f.as_fd(), PollFlags::POLLIN)),
            match &stdin {
                Some(w) if !pending.is_empty() => PollFd::new(w.as_fd(), PollFlags::POLLOUT),
                _ => none(),
            },
            if want_input {
                PollFd::new(local_in.as_fd(), PollFlags::POLLIN)
            } else {
                none()
            },
        ];
        match nix::poll::poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("poll"),
        }
        let ready = |i: usize| fds[i].revents().unwrap_or(PollFlags::empty());
        let (exited, out_ready, err_ready, pipe_ready, input) =
            (ready(0), ready(1), ready(2), ready(3), ready(4));
        let readable = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
        if out_ready.intersects(readable) && !copy_pipe(&mut stdout, &mut io::stdout(), &mut buf)? {
            stdout = None;
        }
        if err_ready.intersects(readable) && !copy_pipe(&mut stderr, &mut io::stderr(), &mut buf)? {
            stderr = None;
        }
        if !exited.is_empty() {
            // What the command wrote before it ended is in the pipes: copy what is there now
            // (a child it left behind may keep them open: do not wait for their end).
            copy_pipe(&mut stdout, &mut io::stdout(), &mut buf)?;
            copy_pipe(&mut stderr, &mut io::stderr(), &mut buf)?;
            return Ok(());
        }
        if pipe_ready.intersects(PollFlags::POLLOUT | PollFlags::POLLERR) {
            if let Some(w) = &stdin {
                match nix::unistd::write(w, &pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    // The command closed its stdin: nothing more goes there.
                    Err(Errno::EPIPE) => {
                        stdin = None;
                        pending.clear();
                    }
                    Err(e) => return Err(e).context("write to the command's stdin"),
                }
            }
        }
        if input.intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
            match nix::unistd::read(local_in.as_raw_fd(), &mut buf) {
                // EOF: closing the pipe passes it on.
                Ok(0) => stdin = None,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => return Err(e).context("read stdin"),
            }
        } else if input.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL) {
            stdin = None;
        }
    }
}

/// Copies what pipe `from` has now to `out`. Returns false once the pipe is closed (every
/// writer gone); a missing pipe copies nothing.
fn copy_pipe(
    from: &mut Option<OwnedFd>,
    out: &mut impl Write,
    buf: &mut [u8],
) -> anyhow::Result<bool> {
    let Some(fd) = from else {
        return Ok(false);
    };
    loop {
        match nix::unistd::read(fd.as_raw_fd(), buf) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                out.write_all(&buf[..n]).context("write output")?;
                out.flush().context("write output")?;
            }
            Err(Errno::EAGAIN) => return Ok(true),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("read the command's output"),
        }
    }
}

/// kubectl podcmd.FindOrDefaultContainerByName: `-c` (any kind of container), else the
/// default-container annotation, else the first app container, with a notice on stderr when
/// the pod has others.
fn find_or_default_container(pod: &Pod, name: Option<&str>, quiet: bool) -> anyhow::Result<String> {
    let spec = pod.spec.clone().unwrap_or_default();
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    let init = spec.init_containers.as_deref().unwrap_or_default();
    let ephemeral = spec.ephemeral_containers.as_deref().unwrap_or_default();
    let exists = |n: &str| {
        spec.containers.iter().any(|c| c.name == n)
            || init.iter().any(|c| c.name == n)
            || ephemeral.iter().any(|c| c.name == n)
    };
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        anyhow::ensure!(exists(name), "container {name} not found in pod {pod_name}");
        return Ok(name.to_owned());
    }
    let Some(first) = spec.containers.first() else {
        anyhow::bail!(
            "pod {}/{pod_name} does not have any containers",
            pod.metadata.namespace.as_deref().unwrap_or("default")
        );
    };
    let annotated = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DEFAULT_CONTAINER_ANNOTATION))
        .filter(|n| !n.is_empty() && exists(n));
    if let Some(name) = annotated {
        return Ok(name.clone());
    }
    if !quiet && (spec.containers.len() > 1 || !init.is_empty() || !ephemeral.is_empty()) {
        // podcmd.AllContainerNames: containers, then ephemeral, then init containers.
        let all: Vec<String> = spec
            .containers
            .iter()
            .map(|c| c.name.clone())
            .chain(ephemeral.iter().map(|c| format!("{} (ephem)", c.name)))
            .chain(init.iter().map(|c| format!("{} (init)", c.name)))
            .collect();
        eprintln!(
            "Defaulted container {:?} out of: {}",
            first.name,
            all.join(", ")
        );
    }
    Ok(first.name.clone())
}

/// The runtime id of container `name` from the pod's status, which must show it running.
fn running_container_id(pod: &Pod, name: &str) -> anyhow::Result<String> {
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    let status = pod.status.as_ref();
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default()
        .iter()
        .chain(
            status
                .and_then(|s| s.init_container_statuses.as_deref())
                .unwrap_or_default(),
        );
    let found: Option<&ContainerStatus> = statuses.into_iter().find(|s| s.name == name);
    let running = found.filter(|s| s.state.as_ref().is_some_and(|st| st.running.is_some()));
    let Some(cs) = running else {
        let why = found
            .and_then(|s| s.state.as_ref())
            .and_then(|st| {
                st.waiting
                    .as_ref()
                    .map(|w| format!("waiting: {}", w.reason.as_deref().unwrap_or("unknown")))
                    .or_else(|| {
                        st.terminated.as_ref().map(|t| {
                            format!("terminated: {}", t.reason.as_deref().unwrap_or("unknown"))
                        })
                    })
            })
            .unwrap_or_else(|| "not started".to_owned());
        anyhow::bail!("container {name} is not running in pod {pod_name} ({why})");
    };
    cs.container_id
        .as_deref()
        .and_then(|id| id.strip_prefix(CONTAINER_ID_SCHEME))
        .map(str::to_owned)
        .with_context(|| format!("container {name} in pod {pod_name} has no minipod containerID"))
}

/// kubectl term.TTY.GetSize: the size of the terminal on stdout (else on stdin).
fn local_window_size() -> io::Result<WindowSize> {
    terminal::window_size(io::stdout()).or_else(|_| terminal::window_size(io::stdin()))
}

/// Restores the terminal's settings when dropped: every return, `?` and panic leaves the
/// terminal as it was.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> anyhow::Result<RawMode> {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(&stdin).context("read terminal settings")?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(&stdin, SetArg::TCSANOW, &raw).context("set terminal raw")?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}

/// Runs the command on a pty and relays until it ends; returns its exit code. The local
/// terminal is in raw mode meanwhile (so ^C, ^Z and friends reach the command), and window
/// size changes follow it into the container.
fn run_on_pty(
    target: &ExecTarget,
    process: &ProcessConfig,
) -> anyhow::Result<Result<i32, Reported>> {
    let mut exec = target
        .exec(process, ContainerStdio::null().context("open /dev/null")?)
        .map_err(runtime)?;
    let master = exec
        .take_pty_master()
        .context("the runtime returned no pty master")?;
    // Registered after the exec: libcontainer clones from this process, which must not hold
    // handlers (or threads) then. The pipe handlers start no thread.
    let (winch, winch_w) = UnixStream::pair().context("signal pipe")?;
    let (interrupt, interrupt_w) = UnixStream::pair().context("signal pipe")?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGWINCH, winch_w)
        .context("handle SIGWINCH")?;
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGQUIT,
        signal_hook::consts::SIGINT,
    ] {
        let w = interrupt_w.try_clone().context("signal pipe")?;
        signal_hook::low_level::pipe::register(signal, w).context("handle signals")?;
    }
    drop(interrupt_w);
    nix::fcntl::fcntl(
        master.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .context("make the pty master non-blocking")?;
    let pidfd = exec.pidfd().context("pidfd of the exec'd process")?;

    let raw = RawMode::enter()?;
    let ended = relay(&master, &pidfd, &winch, &interrupt);
    drop(raw);
    match ended? {
        Relay::Done => Ok(Ok(exec.wait().map_err(runtime)?.code)),
        Relay::Interrupted => {
            // kubectl's interrupt handler: restore the terminal, exit 1. Closing the master
            // hangs up the command's terminal (SIGHUP to its session).
            drop(master);
            let _ = exec.try_wait();
            Ok(Err(Reported))
        }
    }
}

enum Relay {
    /// The command ended (or closed its terminal).
    Done,
    /// We were asked to stop (SIGTERM, SIGHUP, SIGQUIT, SIGINT).
    Interrupted,
}

/// The poll loop: stdin → master, master → stdout, window size changes → master.
fn relay(
    master: &OwnedFd,
    pidfd: &OwnedFd,
    winch: &UnixStream,
    interrupt: &UnixStream,
) -> anyhow::Result<Relay> {
    let stdin = io::stdin();
    let mut stdout = io::stdout().lock();
    let mut stdin_open = true;
    // Bytes read from stdin that the pty did not take yet: stdin is read again only once
    // they are written, so a command that does not read cannot make us block.
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let master_events = if pending.is_empty() {
            PollFlags::POLLIN
        } else {
            PollFlags::POLLIN | PollFlags::POLLOUT
        };
        let stdin_events = if stdin_open && pending.is_empty() {
            PollFlags::POLLIN
        } else {
            PollFlags::empty()
        };
        let mut fds = [
            PollFd::new(master.as_fd(), master_events),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(winch.as_fd(), PollFlags::POLLIN),
            PollFd::new(interrupt.as_fd(), PollFlags::POLLIN),
            PollFd::new(stdin.as_fd(), stdin_events),
        ];
        match nix::poll::poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("poll"),
        }
        let ready = |i: usize| fds[i].revents().unwrap_or(PollFlags::empty());
        let (m, exited, resized, interrupted, input) =
            (ready(0), ready(1), ready(2), ready(3), ready(4));
        if !interrupted.is_empty() {
            return Ok(Relay::Interrupted);
        }
        if !resized.is_empty() {
            drain(winch);
            if let Ok(size) = local_window_size() {
                let _ = terminal::set_window_size(master, size);
            }
        }
        if m.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
            && !copy_output(master, &mut stdout, &mut buf)?
        {
            return Ok(Relay::Done);
        }
        if !exited.is_empty() {
            // The command is gone: what it wrote before is still in the pty.
            copy_output(master, &mut stdout, &mut buf)?;
            return Ok(Relay::Done);
        }
        if m.contains(PollFlags::POLLOUT) && !pending.is_empty() {
            match nix::unistd::write(master, &pending) {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(Errno::EIO) => return Ok(Relay::Done),
                Err(e) => return Err(e).context("write to the pty"),
            }
        }
        if input.intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
            match nix::unistd::read(stdin.as_raw_fd(), &mut buf) {
                Ok(0) => stdin_open = false,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => return Err(e).context("read stdin"),
            }
        } else if input.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL) {
            stdin_open = false;
        }
    }
}

/// Copies what the pty has now to stdout. Returns false once the pty is closed (EIO: no
/// process has the terminal open any more).
fn copy_output(master: &OwnedFd, out: &mut impl Write, buf: &mut [u8]) -> anyhow::Result<bool> {
    loop {
        match nix::unistd::read(master.as_raw_fd(), buf) {
            Ok(0) | Err(Errno::EIO) => return Ok(false),
            Ok(n) => {
                out.write_all(&buf[..n]).context("write stdout")?;
                out.flush().context("write stdout")?;
            }
            Err(Errno::EAGAIN) => return Ok(true),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("read the pty"),
        }
    }
}

/// Empties a signal pipe (one byte per delivered signal).
fn drain(pipe: &UnixStream) {
    let mut b = [0u8; 64];
    while let Ok(n) = nix::sys::socket::recv(
        pipe.as_raw_fd(),
        &mut b,
        nix::sys::socket::MsgFlags::MSG_DONTWAIT,
    ) {
        if n == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use std::collections::BTreeMap;

    fn pod(apps: &[&str], inits: &[&str], default: Option<&str>) -> Pod {
        let c = |n: &&str| Container {
            name: (*n).to_owned(),
            ..Default::default()
        };
        let mut p = Pod {
            spec: Some(PodSpec {
                containers: apps.iter().map(c).collect(),
                init_containers: Some(inits.iter().map(c).collect()),
                ..Default::default()
            }),
            ..Default::default()
        };
        p.metadata.name = Some("web".into());
        if let Some(d) = default {
            p.metadata.annotations = Some(BTreeMap::from([(
                DEFAULT_CONTAINER_ANNOTATION.to_owned(),
                d.to_owned(),
            )]));
        }
        p
    }

    #[test]
    fn the_flag_wins_and_may_name_an_init_container() {
        let p = pod(&["a", "b"], &["init"], Some("b"));
        assert_eq!(
            find_or_default_container(&p, Some("init"), false).unwrap(),
            "init"
        );
        assert_eq!(
            find_or_default_container(&p, Some("a"), false).unwrap(),
            "a"
        );
    }

    #[test]
    fn an_unknown_container_is_kubectls_error() {
        let p = pod(&["a"], &[], None);
        let err = find_or_default_container(&p, Some("x"), false).unwrap_err();
        assert_eq!(err.to_string(), "container x not found in pod web");
    }

    #[test]
    fn the_annotation_then_the_first_container() {
        assert_eq!(
            find_or_default_container(&pod(&["a", "b"], &[], Some("b")), None, true).unwrap(),
            "b"
        );
        // An annotation naming no container falls back to the first one.
        assert_eq!(
            find_or_default_container(&pod(&["a", "b"], &[], Some("zz")), None, true).unwrap(),
            "a"
        );
    }
}
