//! `minipod version`, `minipod completion SHELL` and the hidden `minipod __man DIR`: what the
//! binary is, and the shell/man integration generated from its own clap definitions (so they
//! can never drift from the real flags).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Output format.
    #[arg(short, long, value_enum)]
    pub output: Option<VersionFormat>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VersionFormat {
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write minipod.1 and minipod-VERB.1 into (created if missing).
    pub dir: PathBuf,
}

/// What `version` reports: this binary and the pieces that decide its behaviour.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo {
    minipod_version: &'static str,
    /// The Kubernetes API version the manifests are read and printed as.
    kubernetes_api_version: &'static str,
    /// youki's libcontainer, which creates the containers.
    libcontainer_version: &'static str,
    platform: String,
}

fn version_info() -> VersionInfo {
    VersionInfo {
        minipod_version: env!("CARGO_PKG_VERSION"),
        kubernetes_api_version: "v1.35",
        libcontainer_version: "0.7.0",
        platform: format!(
            "{}/{}",
            std::env::consts::OS,
            minipod_image::platform::host_go_arch()
        ),
    }
}

pub fn run(args: VersionArgs) -> anyhow::Result<ExitCode> {
    let info = version_info();
    let text = match args.output {
        Some(VersionFormat::Json) => serde_json::to_string_pretty(&info)? + "\n",
        Some(VersionFormat::Yaml) => serde_saphyr::to_string(&info)?,
        None => format!(
            "minipod version: v{}\nKubernetes API: {}\nlibcontainer: {}\nplatform: {}\n",
            info.minipod_version,
            info.kubernetes_api_version,
            info.libcontainer_version,
            info.platform
        ),
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

pub fn completion<C: CommandFactory>(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = without_hidden_verbs(C::command());
    clap_complete::generate(args.shell, &mut cmd, "minipod", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// The command with its internal verbs (`__supervise`...) left out: clap_complete would
/// otherwise offer them, hidden or not.
fn without_hidden_verbs(cmd: clap::Command) -> clap::Command {
    let visible: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let mut out = clap::Command::new("minipod")
        .args(cmd.get_arguments().cloned())
        .subcommands(visible);
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    out
}

pub fn man<C: CommandFactory>(args: ManArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("create {}", args.dir.display()))?;
    let cmd = C::command();
    // One page per visible verb (and per nested verb, e.g. minipod-image-load.1).
    clap_mangen::generate_to(cmd, &args.dir)
        .with_context(|| format!("write man pages into {}", args.dir.display()))?;
    Ok(ExitCode::SUCCESS)
}
