//! Facts about the node a pod runs on, as the plan and the downward API need them.

use serde::{Deserialize, Serialize};

/// Facts about the host minipod runs on that end up in pods (spec.nodeName, resource
/// limits of unlimited containers as the downward API reports them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// `spec.nodeName` (the host's name).
    pub name: String,
    /// Allocatable CPU in millicores (what `limits.cpu` reads when unset).
    pub cpu_millis: i64,
    /// Allocatable memory in bytes.
    pub memory_bytes: i64,
    /// Allocatable ephemeral storage in bytes.
    pub ephemeral_storage_bytes: i64,
    /// DNS cluster domain used for `<subdomain>.<ns>.svc.<domain>`.
    pub cluster_domain: String,
}

impl Default for NodeInfo {
    fn default() -> Self {
        NodeInfo {
            name: "localhost".to_string(),
            cpu_millis: 1000,
            memory_bytes: 1 << 30,
            ephemeral_storage_bytes: 10 << 30,
            cluster_domain: "cluster.local".to_string(),
        }
    }
}
