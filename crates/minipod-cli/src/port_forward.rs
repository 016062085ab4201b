//! `minipod port-forward` (being built).

use std::process::ExitCode;

use clap::Args;

use crate::global::GlobalArgs;

#[derive(Debug, Args)]
pub struct PortForwardArgs {}

pub fn run(_args: PortForwardArgs, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
