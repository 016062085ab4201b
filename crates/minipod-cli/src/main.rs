//! `minipod`: run Kubernetes Pod manifests on one Linux host.
//!
//! The binary is thin: clap structs (no side effects) → each verb's module validates its
//! arguments into a config, then calls into the library crates. Only this crate decides exit
//! codes and sets up logging.

#![forbid(unsafe_code)]

mod control;
mod delete;
mod describe;
mod exec;
mod exit;
mod get;
mod global;
mod image;
mod logs;
mod netcheck;
mod pods;
mod port_forward;
mod printers;
mod progress;
mod run;
mod serve;
mod supervise;
mod validate;
mod version;
mod wait;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::InputError;
use crate::global::GlobalArgs;

#[derive(Debug, Parser)]
#[command(
    name = "minipod",
    version,
    about = "Run Kubernetes Pod manifests on one Linux host"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the pods of a manifest; in the foreground, follow them until they finish.
    Run(run::RunArgs),
    /// Create the pods of a manifest and return (`run -d`).
    Apply(run::RunArgs),
    /// Delete pods gracefully (preStop hooks, stop signal, grace period).
    Delete(delete::DeleteArgs),
    /// Load, pull, list, inspect and remove OCI images.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Check manifests the way the API server and the kubelet would, without side effects.
    Validate(validate::ValidateArgs),
    /// List pods (kubectl's columns and STATUS strings).
    Get(get::GetArgs),
    /// Show a pod in detail: containers, conditions, volumes, events.
    Describe(describe::DescribeArgs),
    /// Print a container's logs.
    Logs(logs::LogsArgs),
    /// Run a command in a running container.
    Exec(exec::ExecArgs),
    /// Forward local ports to ports inside a pod's network namespace.
    PortForward(port_forward::PortForwardArgs),
    /// Wait until pods meet a condition (Ready, a jsonpath value, deletion).
    Wait(wait::WaitArgs),
    /// Serve a local Kubernetes API over this root's pods, for kubectl (HTTPS, client certificates).
    Serve(serve::ServeArgs),
    /// Print the version of minipod and what it is built with.
    Version(version::VersionArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion(version::CompletionArgs),
    /// Write man pages for minipod and each of its verbs into a directory.
    #[command(name = "__man", hide = true)]
    Man(version::ManArgs),
    /// The per-pod supervisor process (started by `run`).
    #[command(name = "__supervise", hide = true)]
    Supervise { uid: String },
    /// A workload controller (a Job's or an OrderedReady StatefulSet's, started by `run`).
    #[command(name = "__control", hide = true)]
    Control { dir: std::path::PathBuf },
    /// One httpGet/tcpSocket check inside a pod's network (started by the supervisor).
    #[command(name = "__netcheck", hide = true)]
    NetCheck(netcheck::NetCheckArgs),
}

impl Command {
    /// Verbs that change or read host state need root; pure ones do not.
    fn needs_root(&self) -> bool {
        !matches!(
            self,
            Command::Validate(_) | Command::Version(_) | Command::Completion(_) | Command::Man(_)
        )
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    global::init_logging(&cli.global);
    if cli.command.needs_root() && !nix::unistd::geteuid().is_root() {
        eprintln!("error: minipod needs root (try sudo)");
        return ExitCode::from(2);
    }
    if cli.command.needs_root() {
        if let Err(e) = cli.global.tighten_state_dirs() {
            eprintln!("error: make minipod's state directories private: {e}");
            return ExitCode::from(1);
        }
    }
    let result = match cli.command {
        Command::Image(cmd) => image::run(cmd, &cli.global),
        Command::Validate(args) => validate::run(args, &cli.global),
        Command::Get(args) => get::run(args, &cli.global),
        Command::Describe(args) => describe::run(args, &cli.global),
        Command::Logs(args) => logs::run(args, &cli.global),
        Command::Exec(args) => exec::run(args, &cli.global),
        Command::PortForward(args) => port_forward::run(args, &cli.global),
        Command::Wait(args) => wait::run(args, &cli.global),
        Command::Serve(args) => serve::run(args, &cli.global),
        Command::Version(args) => version::run(args),
        Command::Completion(args) => version::completion::<Cli>(args),
        Command::Man(args) => version::man::<Cli>(args),
        Command::Run(args) => run::run(args, &cli.global),
        Command::Apply(mut args) => {
            args.detach = true;
            args.apply = true;
            run::run(args, &cli.global)
        }
        Command::Delete(args) => delete::run(args, &cli.global),
        Command::Supervise { uid } => supervise::run(&uid, &cli.global),
        Command::NetCheck(args) => netcheck::run(args),
        Command::Control { dir } => control::run(&dir, &cli.global),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            if err.chain().any(|e| e.is::<InputError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// One line: the error's context chain joined by ": ", no backtrace. A cause whose text the
/// message already carries (errors that print their source themselves) is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[derive(Debug, thiserror::Error)]
    #[error("read /x: {source}")]
    struct Read {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let err = anyhow::Error::new(Read { source: io }).context("load pod");
        assert_eq!(one_line(&err), "load pod: read /x: gone");
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(one_line(&plain), "outer: inner");
    }
}
