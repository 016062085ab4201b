//! A pod's `/etc/resolv.conf`, decided the kubelet's way (pkg/kubelet/network/dns/dns.go
//! `GetPodDNS`) and written the way containerd's CRI plugin writes it (`search`, then
//! `nameserver` lines, then `options`).
//!
//! Pure: the host's resolver configuration comes in as text, warnings go out as the events the
//! kubelet would record.

/// The parts of a resolv.conf the kubelet reads (`parseResolvConf`): nameservers accumulate,
/// the last `search` and the last `options` line win, a trailing dot on a search domain is
/// dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

/// The API's limits (pkg/apis/core/validation `MaxDNSNameservers`, `MaxDNSSearchPaths`,
/// `MaxDNSSearchListChars`) and a DNS-1123 subdomain's length.
const MAX_NAMESERVERS: usize = 3;
const MAX_SEARCH_PATHS: usize = 32;
const MAX_SEARCH_LIST_CHARS: usize = 2048;
const MAX_DOMAIN_LENGTH: usize = 253;

impl ResolvConf {
    pub fn parse(text: &str) -> ResolvConf {
        let mut conf = ResolvConf::default();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            match fields.next() {
                Some("nameserver") => conf.nameservers.extend(fields.next().map(str::to_string)),
                Some("search") => {
                    conf.searches = fields
                        .map(|s| s.strip_suffix('.').unwrap_or(s).to_string())
                        .collect()
                }
                Some("options") => conf.options = fields.map(str::to_string).collect(),
                _ => {}
            }
        }
        conf
    }

    /// containerd's CRI `parseDNSOptions` layout; empty when there is nothing to say.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.searches.is_empty() {
            out.push_str(&format!("search {}\n", self.searches.join(" ")));
        }
        for ns in &self.nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.options.is_empty() {
            out.push_str(&format!("options {}\n", self.options.join(" ")));
        }
        out
    }
}

/// `spec.dnsPolicy` (defaulted to ClusterFirst by the API server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsPolicy {
    ClusterFirst,
    ClusterFirstWithHostNet,
    Default,
    None,
}

impl DnsPolicy {
    pub fn parse(s: &str) -> Option<DnsPolicy> {
        Some(match s {
            "ClusterFirst" => DnsPolicy::ClusterFirst,
            "ClusterFirstWithHostNet" => DnsPolicy::ClusterFirstWithHostNet,
            "Default" => DnsPolicy::Default,
            "None" => DnsPolicy::None,
            _ => return None,
        })
    }
}

/// `spec.dnsConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodDnsConfig {
    pub nameservers: Vec<String>,
    pub searches: Vec<String>,
    /// `options[]`: name and optional value.
    pub options: Vec<(String, Option<String>)>,
}

/// The cluster's DNS service, once there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDns {
    pub servers: Vec<String>,
    /// `cluster.local`.
    pub domain: String,
}

/// What the kubelet decides for one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodDns {
    pub conf: ResolvConf,
    /// Warning events for the pod: (reason, message).
    pub warnings: Vec<(&'static str, String)>,
}

/// One pod's resolver configuration.
pub struct PodDnsInput<'a> {
    pub policy: DnsPolicy,
    pub host_network: bool,
    pub namespace: &'a str,
    /// kubelet's `format.Pod`: `name_namespace(uid)`, for the MissingClusterDNS message.
    pub pod_display: &'a str,
    pub dns_config: Option<&'a PodDnsConfig>,
    /// The node's resolver configuration (see [`host_resolv_conf`]).
    pub host: &'a ResolvConf,
    pub cluster: Option<&'a ClusterDns>,
}

enum Kind {
    Cluster,
    Host,
    None,
}

/// kubelet `GetPodDNS`.
pub fn pod_dns(input: &PodDnsInput<'_>) -> PodDns {
    let mut warnings = Vec::new();
    let kind = match input.policy {
        DnsPolicy::None => Kind::None,
        DnsPolicy::ClusterFirstWithHostNet => Kind::Cluster,
        DnsPolicy::ClusterFirst if !input.host_network => Kind::Cluster,
        DnsPolicy::ClusterFirst | DnsPolicy::Default => Kind::Host,
    };
    let mut conf = match kind {
        Kind::None => ResolvConf::default(),
        Kind::Cluster => match input.cluster.filter(|c| !c.servers.is_empty()) {
            Some(cluster) => {
                let mut searches = vec![
                    format!("{}.svc.{}", input.namespace, cluster.domain),
                    format!("svc.{}", cluster.domain),
                    cluster.domain.clone(),
                ];
                searches.extend(input.host.searches.iter().cloned());
                ResolvConf {
                    nameservers: cluster.servers.clone(),
                    searches: omit_duplicates(searches),
                    options: vec!["ndots:5".to_string()],
                }
            }
            None => {
                warnings.push((
                    "MissingClusterDNS",
                    format!(
                        "pod: {:?}. kubelet does not have ClusterDNS IP configured and cannot create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy.",
                        input.pod_display
                    ),
                ));
                input.host.clone()
            }
        },
        Kind::Host => input.host.clone(),
    };
    if let Some(extra) = input.dns_config {
        let mut servers = std::mem::take(&mut conf.nameservers);
        servers.extend(extra.nameservers.iter().cloned());
        conf.nameservers = omit_duplicates(servers);
        let mut searches = std::mem::take(&mut conf.searches);
        searches.extend(extra.searches.iter().cloned());
        conf.searches = omit_duplicates(searches);
        conf.options = merge_options(&conf.options, &extra.options);
    }
    fit_limits(&mut conf, &mut warnings);
    PodDns { conf, warnings }
}

fn omit_duplicates(list: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    list.into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

/// kubelet `mergeDNSOptions`: the pod's options replace the same-named ones. The kubelet goes
/// through a Go map (random order); here the first appearance keeps its place.
fn merge_options(existing: &[String], pod: &[(String, Option<String>)]) -> Vec<String> {
    let mut merged: Vec<(String, String)> = Vec::new();
    let mut set = |name: &str, value: &str| match merged.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value.to_string(),
        None => merged.push((name.to_string(), value.to_string())),
    };
    for op in existing {
        match op.split_once(':') {
            Some((n, v)) => set(n, v),
            None => set(op, ""),
        }
    }
    for (n, v) in pod {
        set(n, v.as_deref().unwrap_or(""));
    }
    merged
        .into_iter()
        .map(|(n, v)| if v.is_empty() { n } else { format!("{n}:{v}") })
        .collect()
}

/// kubelet `formDNSConfigFitsLimits`, with its DNSConfigForming warnings.
fn fit_limits(conf: &mut ResolvConf, warnings: &mut Vec<(&'static str, String)>) {
    if conf.nameservers.len() > MAX_NAMESERVERS {
        conf.nameservers.truncate(MAX_NAMESERVERS);
        warnings.push((
            "DNSConfigForming",
            format!(
                "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: {}",
                conf.nameservers.join(" ")
            ),
        ));
    }
    let mut exceeded = false;
    if conf.searches.len() > MAX_SEARCH_PATHS {
        conf.searches.truncate(MAX_SEARCH_PATHS);
        exceeded = true;
    }
    let before = conf.searches.len();
    conf.searches.retain(|s| s.len() <= MAX_DOMAIN_LENGTH);
    exceeded |= conf.searches.len() != before;
    while conf.searches.join(" ").len() > MAX_SEARCH_LIST_CHARS {
        conf.searches.pop();
        exceeded = true;
    }
    if exceeded {
        warnings.push((
            "DNSConfigForming",
            format!(
                "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: {}",
                conf.searches.join(" ")
            ),
        ));
    }
}

/// The node's resolver configuration for pods in their own network namespace. A loopback
/// resolver (systemd-resolved's stub at 127.0.0.53, a local dnsmasq) cannot be reached from a
/// pod, so, as kubeadm and k3s point the kubelet's `--resolv-conf` at
/// `/run/systemd/resolve/resolv.conf` on such hosts, that file's upstream servers are used
/// when it exists; loopback servers that remain are dropped, except for a pod on the host's
/// network, which can reach them.
pub fn host_resolv_conf(
    etc_resolv_conf: &str,
    systemd_resolved: Option<&str>,
    host_network: bool,
) -> ResolvConf {
    let mut conf = ResolvConf::parse(etc_resolv_conf);
    if !conf.nameservers.is_empty() && conf.nameservers.iter().all(|s| is_loopback(s)) {
        if let Some(upstream) = systemd_resolved {
            let upstream = ResolvConf::parse(upstream);
            if !upstream.nameservers.is_empty() {
                conf.nameservers = upstream.nameservers;
                if conf.searches.is_empty() {
                    conf.searches = upstream.searches;
                }
            }
        }
    }
    if !host_network {
        conf.nameservers.retain(|s| !is_loopback(s));
    }
    conf
}

fn is_loopback(server: &str) -> bool {
    server
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests;
