//! `minipod serve`: the part of the Kubernetes API that the real kubectl needs, served over
//! HTTPS from minipod's own pod store, so that `kubectl get pods` shows what
//! `minipod get pods` shows.
//!
//! Layout:
//! - [`tls`]: the CA, server and client certificates under `<root>/serve/`, the kubeconfig,
//!   and the rustls configuration that refuses clients without a certificate of that CA;
//! - [`server`]: the accept loop (tokio + hyper, HTTP/1.1 only) and the stop on SIGINT/SIGTERM;
//! - [`router`]: request paths and query parameters to handlers;
//! - [`discovery`]: `/version`, `/api`, `/apis` (aggregated discovery v2 and the legacy
//!   lists), `/api/v1`;
//! - [`objects`]: pods, namespaces and events from the store, with selectors and paging;
//! - [`table`]: the `meta.k8s.io/v1` `Table` kubectl asks for, with kubectl's pod columns;
//! - [`status`]: errors as `Status` objects;
//! - [`watch`]: `?watch=1` on pods, by polling the store.
//!
//! What is served follows the API server's handlers (k8s.io/apiserver/pkg/endpoints) as far as
//! kubectl can observe them; `docs/api.md` lists what is served and what is not yet.

#![forbid(unsafe_code)]

pub mod discovery;
pub mod objects;
pub mod router;
pub mod selectors;
pub mod server;
pub mod status;
pub mod table;
pub mod tls;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use server::serve;

/// How `minipod serve` runs.
pub struct ServeConfig {
    /// minipod's root: the pod store is `<root>/pods`, the server's files `<root>/serve`.
    pub root: PathBuf,
    /// Where to listen (loopback by default).
    pub listen: SocketAddr,
    /// Where to write the kubeconfig (default `<root>/serve/kubeconfig`).
    pub kubeconfig: Option<PathBuf>,
}

impl ServeConfig {
    /// The directory of the server's certificates and keys.
    pub fn serve_dir(&self) -> PathBuf {
        self.root.join("serve")
    }

    pub fn kubeconfig_path(&self) -> PathBuf {
        self.kubeconfig
            .clone()
            .unwrap_or_else(|| self.serve_dir().join("kubeconfig"))
    }
}

/// The Kubernetes version the server reports: kubectl wrappers pick their client binary by
/// its minor version.
pub const KUBE_MAJOR: &str = "1";
pub const KUBE_MINOR: &str = "32";

#[cfg(test)]
mod testutil;
