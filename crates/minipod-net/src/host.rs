//! What the host must provide for pods to reach beyond the bridge, and checks that the pod
//! range fits the host.
//!
//! - Masquerading: one nftables table of minipod's own (`table ip minipod`), replaced as a
//!   whole in one `nft -f` transaction, so its rules are never half-applied and never mixed
//!   into another program's tables (the bridge plugin's own `ipMasq` leaks its rules when the
//!   namespace is gone, containernetworking/plugins#810).
//! - `net.ipv4.ip_forward`: switched on when a pod needs it and the host has it off, and never
//!   switched off again (other software may rely on it from then on); docs/networking.md lists
//!   it.
//! - The pod range must not overlap an address or a route of the host: such a range would
//!   hijack the host's own traffic.

use std::fmt;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use serde::Deserialize;

/// The table minipod owns.
pub const NFT_TABLE: &str = "minipod";

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("{0:?} is not an IPv4 range (a.b.c.d/n)")]
    BadRange(String),
    #[error("the pod range {range} overlaps {what} of this host; choose another range")]
    Overlap { range: Ipv4Net, what: String },
    #[error("{command}: {message}")]
    Command { command: String, message: String },
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// An IPv4 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub fn parse(s: &str) -> Result<Ipv4Net, HostError> {
        let bad = || HostError::BadRange(s.to_string());
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        Ok(Ipv4Net { addr, prefix })
    }

    fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Net {
        Ipv4Net {
            addr: Ipv4Addr::from(u32::from(self.addr) & self.mask()),
            prefix: self.prefix,
        }
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// Two prefixes overlap when the shorter one contains the other's network address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        let shorter = if self.prefix <= other.prefix {
            self
        } else {
            other
        };
        let longer = if self.prefix <= other.prefix {
            other
        } else {
            self
        };
        shorter.contains(longer.addr)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An address or route of the host, as `ip -j` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPrefix {
    pub net: Ipv4Net,
    /// The interface it is on.
    pub dev: String,
    /// "address" or "route".
    pub kind: &'static str,
}

/// The first host address or route the pod range overlaps. The default route overlaps
/// everything and is not a conflict; neither is anything on the pod bridge itself (minipod's
/// own address and route there).
pub fn find_overlap<'a>(
    range: &Ipv4Net,
    bridge: &str,
    host: &'a [HostPrefix],
) -> Option<&'a HostPrefix> {
    host.iter()
        .filter(|h| h.dev != bridge)
        .filter(|h| !(h.kind == "route" && h.net.prefix == 0))
        .find(|h| h.net.overlaps(range))
}

/// Refuses a pod range that overlaps the host's addresses or routes.
pub fn check_pod_range(range: &Ipv4Net, bridge: &str) -> Result<(), HostError> {
    let host = read_host_prefixes()?;
    match find_overlap(range, bridge, &host) {
        Some(h) => Err(HostError::Overlap {
            range: *range,
            what: format!("the {} {} on {}", h.kind, h.net, h.dev),
        }),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
struct IpAddrJson {
    #[serde(default)]
    ifname: String,
    #[serde(default)]
    addr_info: Vec<AddrInfo>,
}

#[derive(Deserialize)]
struct AddrInfo {
    #[serde(default)]
    family: String,
    #[serde(default)]
    local: String,
    #[serde(default)]
    prefixlen: u8,
}

#[derive(Deserialize)]
struct RouteJson {
    dst: String,
    #[serde(default)]
    dev: String,
}

/// Parses `ip -j -4 addr show` and `ip -j -4 route show table all` output.
pub fn parse_host_prefixes(addr_json: &str, route_json: &str) -> Vec<HostPrefix> {
    let mut out = Vec::new();
    let addrs: Vec<IpAddrJson> = serde_json::from_str(addr_json).unwrap_or_default();
    for link in addrs {
        for a in link.addr_info.iter().filter(|a| a.family == "inet") {
            if let Ok(addr) = a.local.parse::<Ipv4Addr>() {
                out.push(HostPrefix {
                    net: Ipv4Net {
                        addr,
                        prefix: a.prefixlen,
                    }
                    .network(),
                    dev: link.ifname.clone(),
                    kind: "address",
                });
            }
        }
    }
    let routes: Vec<RouteJson> = serde_json::from_str(route_json).unwrap_or_default();
    for r in routes {
        let net = match r.dst.as_str() {
            "default" => Some(Ipv4Net {
                addr: Ipv4Addr::UNSPECIFIED,
                prefix: 0,
            }),
            d if d.contains('/') => Ipv4Net::parse(d).ok(),
            d => d
                .parse::<Ipv4Addr>()
                .ok()
                .map(|addr| Ipv4Net { addr, prefix: 32 }),
        };
        if let Some(net) = net {
            out.push(HostPrefix {
                net,
                dev: r.dev,
                kind: "route",
            });
        }
    }
    out
}

fn run(cmd: &str, args: &[&str], stdin: Option<&str>) -> Result<String, HostError> {
    let command = format!("{cmd} {}", args.join(" "));
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| HostError::Io {
            what: format!("run {cmd}"),
            source,
        })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|source| HostError::Io {
        what: format!("run {cmd}"),
        source,
    })?;
    if !out.status.success() {
        return Err(HostError::Command {
            command,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The host's IPv4 addresses and routes (all routing tables).
pub fn read_host_prefixes() -> Result<Vec<HostPrefix>, HostError> {
    let addrs = run("ip", &["-j", "-4", "addr", "show"], None)?;
    let routes = run("ip", &["-j", "-4", "route", "show", "table", "all"], None)?;
    Ok(parse_host_prefixes(&addrs, &routes))
}

/// minipod's nftables table: traffic from the pod range to anything outside it leaves with
/// the host's address. The first three lines replace an existing table in the same
/// transaction (an `add` makes the `delete` valid when there is none yet).
pub fn masquerade_ruleset(table: &str, pod_range: &Ipv4Net) -> String {
    let range = pod_range.network();
    format!(
        "add table ip {table}\n\
         delete table ip {table}\n\
         table ip {table} {{\n\
         \tchain postrouting {{\n\
         \t\ttype nat hook postrouting priority srcnat; policy accept;\n\
         \t\tip saddr {range} ip daddr != {range} masquerade\n\
         \t}}\n\
         }}\n"
    )
}

/// Loads a ruleset with `nft -f -` (one atomic transaction).
pub fn apply_nft(ruleset: &str) -> Result<(), HostError> {
    run("nft", &["-f", "-"], Some(ruleset)).map(|_| ())
}

/// Removes a table of minipod's (tests, and `minipod` when its last network goes).
pub fn delete_nft_table(table: &str) -> Result<(), HostError> {
    let script = format!("add table ip {table}\ndelete table ip {table}\n");
    run("nft", &["-f", "-"], Some(&script)).map(|_| ())
}

/// Switches on IPv4 forwarding when it is off. Returns true when this call changed it.
pub fn enable_ip_forward() -> Result<bool, HostError> {
    const PATH: &str = "/proc/sys/net/ipv4/ip_forward";
    let io = |what: &str| {
        let what = what.to_string();
        move |source| HostError::Io { what, source }
    };
    let now = std::fs::read_to_string(PATH).map_err(io("read net.ipv4.ip_forward"))?;
    if now.trim() == "1" {
        return Ok(false);
    }
    std::fs::write(PATH, "1").map_err(io("enable net.ipv4.ip_forward"))?;
    log::info!("enabled net.ipv4.ip_forward (pods reach beyond the host through it)");
    Ok(true)
}

#[cfg(test)]
mod tests;
