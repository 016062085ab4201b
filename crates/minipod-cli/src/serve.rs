//! `minipod serve [--listen ADDR:PORT] [--kubeconfig FILE]`: a local Kubernetes API over this
//! root's pods, for the real kubectl (the server is the minipod-api crate; `docs/api.md`).
//!
//! This module gives the server the CLI's own rules, so that `kubectl get pods` and
//! `minipod get pods` select and print alike: the `-l` selector parser and the `-o wide`
//! cells.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use k8s_openapi::api::core::v1::Pod;
use minipod_api::{CliRules, LabelMatcher, ServeConfig};
use minipod_pod::time::Timestamp;

use crate::get::LabelSelector;
use crate::global::GlobalArgs;
use crate::printers::{PodTable, TableOptions};

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
        rules: Arc::new(Rules),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The CLI's selector and printer, for the server.
struct Rules;

impl CliRules for Rules {
    fn label_selector(&self, selector: &str) -> Result<LabelMatcher, String> {
        let selector: LabelSelector = selector.parse().map_err(|e| format!("{e}"))?;
        Ok(Box::new(move |labels| selector.matches(labels)))
    }

    fn wide_pod_cells(&self, pod: &Pod) -> [String; 4] {
        // The wide cells of `minipod get pods -o wide`, taken from its own one-row table: the
        // printer's cell function is private to printers.rs, and none of these four cells
        // (IP, node, nominated node, readiness gates) contains a space.
        let mut table = PodTable::new(TableOptions {
            wide: true,
            no_headers: true,
            ..TableOptions::default()
        });
        let line = table.render(&[pod], Timestamp::now());
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut cells: [String; 4] = Default::default();
        if words.len() >= 4 {
            for (cell, word) in cells.iter_mut().zip(&words[words.len() - 4..]) {
                *cell = (*word).to_owned();
            }
        }
        cells
    }
}
