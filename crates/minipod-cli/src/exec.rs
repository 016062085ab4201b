//! `minipod exec` (being built).

use std::process::ExitCode;

use clap::Args;

use crate::global::GlobalArgs;

#[derive(Debug, Args)]
pub struct ExecArgs {}

pub fn run(_args: ExecArgs, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
