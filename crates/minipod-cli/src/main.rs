//! `minipod`: run Kubernetes Pod manifests on one Linux host.
//!
//! The binary is thin: clap structs (no side effects) → each verb's module validates its
//! arguments into a config, then calls into the library crates. Only this crate decides exit
//! codes and sets up logging.

mod exit;
mod global;
mod image;
mod validate;

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
    /// Load, list, inspect and remove OCI images.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Check manifests the way the API server and the kubelet would, without side effects.
    Validate(validate::ValidateArgs),
}

impl Command {
    /// Verbs that change or read host state need root; pure ones do not.
    fn needs_root(&self) -> bool {
        !matches!(self, Command::Validate(_))
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
    let result = match cli.command {
        Command::Image(cmd) => image::run(cmd, &cli.global),
        Command::Validate(args) => validate::run(args, &cli.global),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line: the whole context chain joined by ": ", no backtrace.
            eprintln!("error: {err:#}");
            if err.chain().any(|e| e.is::<InputError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
