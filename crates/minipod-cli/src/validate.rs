//! `minipod validate -f FILE...`: schema, API-server and kubelet validation without side
//! effects. Every error is printed on its own line, warnings as `warning: ...`; exit 2 when
//! there is any error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use minipod_manifest::{load, read_inputs, LoadOptions, Manifest};

use crate::exit::input;
use crate::global::GlobalArgs;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest file (YAML or JSON, several documents allowed), a directory of them, or `-` for
    /// standard input.
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(args: ValidateArgs, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let inputs = read_inputs(&args.files).map_err(input)?;
    // A fixed seed: validation output is reproducible.
    match load(&inputs, &LoadOptions::default()) {
        Ok(manifest) => {
            for w in &manifest.warnings {
                eprintln!("warning: {w}");
            }
            print_summary(&manifest);
            Ok(ExitCode::SUCCESS)
        }
        Err(rejected) => {
            for w in &rejected.warnings {
                eprintln!("warning: {w}");
            }
            for e in &rejected.errors {
                eprintln!("error: {e}");
            }
            Ok(ExitCode::from(2))
        }
    }
}

/// One line per pod that would run, on stdout.
fn print_summary(m: &Manifest) {
    for p in &m.pods {
        let from = match &p.controller {
            Some(c) => format!(" (from {} {:?})", c.kind, c.name),
            None => String::new(),
        };
        let containers = p.init_containers.len() + p.containers.len();
        println!(
            "pod/{} valid: {} container{}{from}",
            p.name,
            containers,
            if containers == 1 { "" } else { "s" }
        );
    }
}
