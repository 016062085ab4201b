//! `minipod image ...` (owned by the image work; placeholder until it lands).

use std::process::ExitCode;

use clap::Subcommand;

use crate::global::GlobalArgs;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {}

pub fn run(cmd: ImageCommand, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match cmd {}
}
