//! `minipod validate -f FILE` (owned by the manifest work; placeholder until it lands).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::global::GlobalArgs;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest file (YAML or JSON, several documents allowed).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub fn run(_args: ValidateArgs, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("validate: not built yet")
}
