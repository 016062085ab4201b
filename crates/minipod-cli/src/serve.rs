//! `minipod serve [--listen ADDR:PORT] [--kubeconfig FILE]`: a local Kubernetes API over this
//! root's pods, for the real kubectl (the server is the minipod-api crate; `docs/api.md`).
//! The server selects and prints pods with the same code as `minipod get pods`
//! (`minipod_pod::selector`, `minipod_pod::kubectl`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use minipod_api::ServeConfig;

use crate::global::GlobalArgs;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (HTTPS; loopback unless you choose otherwise).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Where to write the kubeconfig for this server [default: ROOT/serve/kubeconfig].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

pub fn run(args: ServeArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    minipod_api::serve(ServeConfig {
        root: global.root_dir(),
        listen: args.listen,
        kubeconfig: args.kubeconfig,
    })?;
    Ok(ExitCode::SUCCESS)
}
