//! The parts of an `ADD` result minipod reads (CNI spec 1.0.0 "Success"): the addresses given
//! to the interfaces inside the sandbox. The result itself is kept as the plugin printed it,
//! because it is passed on verbatim as the next plugin's (and `DEL`'s) `prevResult`.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
struct Wire {
    #[serde(default)]
    interfaces: Vec<WireInterface>,
    #[serde(default)]
    ips: Vec<WireIp>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct WireInterface {
    #[serde(default)]
    name: String,
    #[serde(default)]
    sandbox: String,
}

#[derive(Debug, Clone, Deserialize)]
struct WireIp {
    address: String,
    #[serde(default)]
    interface: Option<usize>,
}

/// An address a plugin assigned, with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub ip: IpAddr,
    pub prefix: u8,
}

/// The addresses of the interfaces inside the sandbox (those with a `sandbox` path), in result
/// order; addresses whose interface is not known count too, as the kubelet's CNI glue (and
/// containerd's go-cni) do when a plugin leaves `interface` out. IPv4 first, as `status.podIPs`
/// lists the primary family first.
pub fn sandbox_ips(result: &Value) -> Vec<Assigned> {
    let Ok(wire) = serde_json::from_value::<Wire>(result.clone()) else {
        return Vec::new();
    };
    let mut out: Vec<Assigned> = wire
        .ips
        .iter()
        .filter(|ip| match ip.interface {
            Some(i) => wire
                .interfaces
                .get(i)
                .is_some_and(|itf| !itf.sandbox.is_empty() || itf.name.is_empty()),
            None => true,
        })
        .filter_map(|ip| parse_cidr(&ip.address))
        .collect();
    out.sort_by_key(|a| !a.ip.is_ipv4());
    out
}

fn parse_cidr(s: &str) -> Option<Assigned> {
    let (ip, prefix) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(Assigned { ip, prefix })
}
