//! One pod sandbox on the network: the configured (or default) list attached to the sandbox's
//! namespace, with the host prepared for it first, and detached again from the cache.
//!
//! This is the whole interface the pod supervisor needs: [`attach`] when the sandbox's
//! namespace exists, [`detach`] at teardown (also for a pod whose supervisor died, and after
//! a reboot, from the cache alone).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::cni::{
    pod_args, port_mappings_arg, Attachment, CniError, CniRunner, NetworkList, PortMapping,
};
use crate::default_network::{load_or_write_default, DefaultNetwork, DEFAULT_CONF_DIR};
use crate::host::{self, HostError, Ipv4Net, NFT_TABLE};

/// The interface name inside the pod (what the kubelet's CRI runtimes use).
pub const POD_IFNAME: &str = "eth0";

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Cni(#[from] CniError),
    #[error(transparent)]
    Host(#[from] HostError),
}

/// Where networks are configured and plugins found.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// minipod's configuration directory (`/etc/minipod/net.d`).
    pub conf_dir: PathBuf,
    pub runner: CniRunner,
    /// Written to `conf_dir` when it has no list.
    pub default: DefaultNetwork,
    /// minipod's nftables table.
    pub nft_table: String,
}

impl NetworkConfig {
    /// The configuration for a minipod root: `MINIPOD_CNI_CONF_DIR` and `MINIPOD_CNI_PATH`
    /// (a `:`-separated plugin search path) override the defaults, `MINIPOD_POD_CIDR` the
    /// default network's range.
    pub fn for_root(root: &Path) -> NetworkConfig {
        let mut runner = CniRunner::default();
        if let Some(path) = std::env::var_os("MINIPOD_CNI_PATH") {
            runner.plugin_path = std::env::split_paths(&path).collect();
        }
        let mut default = DefaultNetwork::for_root(root);
        if let Ok(cidr) = std::env::var("MINIPOD_POD_CIDR") {
            default.subnet = cidr;
        }
        NetworkConfig {
            conf_dir: std::env::var_os("MINIPOD_CNI_CONF_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CONF_DIR)),
            runner,
            default,
            nft_table: NFT_TABLE.to_string(),
        }
    }
}

/// The pod a sandbox belongs to.
#[derive(Debug, Clone)]
pub struct SandboxRef<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    /// The sandbox's id (`K8S_POD_INFRA_CONTAINER_ID`, `CNI_CONTAINERID`).
    pub sandbox_id: &'a str,
    /// The sandbox's network namespace file.
    pub netns: &'a Path,
}

/// The IPv4 ranges host-local hands out in a list (`ipam.ranges[][].subnet`, or the older
/// `ipam.subnet`), which is what leaves the host masqueraded.
pub fn pod_ranges(list: &NetworkList) -> Vec<Ipv4Net> {
    let mut out = Vec::new();
    for p in &list.plugins {
        let Some(ipam) = p.get("ipam").and_then(Value::as_object) else {
            continue;
        };
        if ipam.get("type").and_then(Value::as_str) != Some("host-local") {
            continue;
        }
        let mut subnets: Vec<&str> = ipam
            .get("ranges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|r| r.get("subnet").and_then(Value::as_str))
            .collect();
        subnets.extend(ipam.get("subnet").and_then(Value::as_str));
        out.extend(subnets.into_iter().filter_map(|s| Ipv4Net::parse(s).ok()));
    }
    out
}

/// The bridge a list's bridge plugin uses, where the pod range's own address and route live.
fn bridge_of(list: &NetworkList) -> Option<&str> {
    list.plugins
        .iter()
        .find(|p| p.get("type").and_then(Value::as_str) == Some("bridge"))
        .and_then(|p| p.get("bridge").and_then(Value::as_str))
}

/// Prepares the host for a list: each pod range checked against the host's addresses and
/// routes, masqueraded in minipod's table, and IPv4 forwarding on.
pub fn prepare_host(cfg: &NetworkConfig, list: &NetworkList) -> Result<(), NetError> {
    let ranges = pod_ranges(list);
    let Some(range) = ranges.first() else {
        return Ok(());
    };
    let bridge = bridge_of(list).unwrap_or("cni0");
    for r in &ranges {
        host::check_pod_range(r, bridge)?;
    }
    host::apply_nft(&host::masquerade_ruleset(&cfg.nft_table, range))?;
    host::enable_ip_forward()?;
    Ok(())
}

/// Attaches a sandbox: the list of `cfg.conf_dir` (written from the default first when there
/// is none), the host prepared, `ADD` with the pod's `hostPort`s, the attachment cached at
/// `cache`. The returned attachment's [`Attachment::ips`] are the pod's IPs.
pub fn attach(
    cfg: &NetworkConfig,
    sandbox: &SandboxRef<'_>,
    ports: &[PortMapping],
    cache: &Path,
) -> Result<Attachment, NetError> {
    let list = load_or_write_default(&cfg.conf_dir, &cfg.default)?;
    prepare_host(cfg, &list)?;
    let mut caps = Map::new();
    if let Some(pm) = port_mappings_arg(ports) {
        caps.insert("portMappings".into(), pm);
    }
    let a = Attachment::new(
        &list,
        sandbox.sandbox_id,
        sandbox.netns,
        POD_IFNAME,
        pod_args(
            sandbox.namespace,
            sandbox.name,
            sandbox.sandbox_id,
            sandbox.uid,
        ),
        caps,
    );
    Ok(cfg.runner.add(&list, a, cache)?)
}

/// Detaches what the cache at `cache` describes; `Ok(false)` when there is nothing cached.
pub fn detach(cfg: &NetworkConfig, cache: &Path) -> Result<bool, NetError> {
    Ok(cfg.runner.del_cached(cache)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_pod_ranges_are_host_locals_subnets() {
        let list = NetworkList::from_value(
            json!({"cniVersion": "1.0.0", "name": "n", "plugins": [
                {"type": "bridge", "bridge": "br9", "ipam": {"type": "host-local",
                    "ranges": [[{"subnet": "10.1.0.0/16"}, {"subnet": "fd00::/64"}], [{"subnet": "10.2.0.0/16"}]]}},
                {"type": "ptp", "ipam": {"type": "host-local", "subnet": "10.3.0.0/24"}},
                {"type": "macvlan", "ipam": {"type": "dhcp"}},
                {"type": "portmap"}
            ]}),
            Path::new("x.conflist"),
        )
        .unwrap();
        let got: Vec<String> = pod_ranges(&list).iter().map(|r| r.to_string()).collect();
        assert_eq!(got, ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/24"]);
        assert_eq!(bridge_of(&list), Some("br9"));
    }
}
