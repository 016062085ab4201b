//! `minipod __netcheck`: one httpGet or tcpSocket check for a probe or hook, started by the
//! supervisor, inside the pod's network namespace. Exit 0 is success.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use minipod_pod::handlers;
use minipod_runtime::netcheck::{self, NetCheck, NetOutcome};

#[derive(Debug, Args)]
pub struct NetCheckArgs {
    /// The network namespace file to enter first.
    #[arg(long)]
    pub netns: Option<PathBuf>,
    /// Extra request header, `Name: value`.
    #[arg(long = "header")]
    pub headers: Vec<String>,
    /// Any HTTP response is a success (lifecycle hooks); else 200–399 (probes).
    #[arg(long)]
    pub any_response: bool,
    /// `http` or `tcp`.
    pub kind: String,
    pub host: String,
    pub port: u16,
    /// The HTTP path.
    pub path: Option<String>,
}

/// The supervisor enforces the probe's own timeoutSeconds; this only bounds a stuck check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(args: NetCheckArgs) -> anyhow::Result<ExitCode> {
    if let Some(ns) = &args.netns {
        netcheck::enter_netns(ns)?;
    }
    let check = match args.kind.as_str() {
        "tcp" => NetCheck::Tcp {
            host: args.host,
            port: args.port,
        },
        "http" => NetCheck::Http {
            host: args.host,
            port: args.port,
            path: args.path.unwrap_or_else(|| "/".into()),
            headers: args
                .headers
                .iter()
                .filter_map(|h| h.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect(),
        },
        other => anyhow::bail!("unknown check {other:?} (http or tcp)"),
    };
    let ok = match netcheck::check(&check, CHECK_TIMEOUT) {
        NetOutcome::Connected => true,
        NetOutcome::Response { status, line } => {
            println!("{line}");
            if args.any_response {
                handlers::http_hook_success(true)
            } else {
                handlers::http_probe_success(status)
            }
        }
        NetOutcome::Failed(msg) => {
            println!("{msg}");
            false
        }
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
