//! `minipod wait` (being built).

use std::process::ExitCode;

use clap::Args;

use crate::global::GlobalArgs;

#[derive(Debug, Args)]
pub struct WaitArgs {}

pub fn run(_args: WaitArgs, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
