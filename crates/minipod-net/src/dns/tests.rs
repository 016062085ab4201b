//! The kubelet's dns_test.go cases that apply to one node, as rows.

use super::*;

const HOST: &str = "# generated\nnameserver 198.18.0.53\nnameserver 198.18.0.54\nsearch corp.example. lab.example\noptions ndots:2 timeout:1\n";

fn host() -> ResolvConf {
    ResolvConf::parse(HOST)
}

fn cluster() -> ClusterDns {
    ClusterDns {
        servers: vec!["10.96.0.10".into()],
        domain: "cluster.local".into(),
    }
}

struct Row {
    name: &'static str,
    policy: DnsPolicy,
    host_network: bool,
    dns_config: Option<PodDnsConfig>,
    cluster: bool,
    want: &'static str,
    warnings: &'static [&'static str],
}

#[test]
fn pod_dns_follows_the_policy() {
    let extra = PodDnsConfig {
        nameservers: vec!["198.18.0.99".into(), "198.18.0.53".into()],
        searches: vec!["my.example".into(), "corp.example".into()],
        options: vec![("ndots".into(), Some("1".into())), ("edns0".into(), None)],
    };
    let rows = vec![
        Row {
            name: "Default: the host's configuration",
            policy: DnsPolicy::Default,
            host_network: false,
            dns_config: None,
            cluster: true,
            want: "search corp.example lab.example\nnameserver 198.18.0.53\nnameserver 198.18.0.54\noptions ndots:2 timeout:1\n",
            warnings: &[],
        },
        Row {
            name: "ClusterFirst without cluster DNS falls back to Default with an event",
            policy: DnsPolicy::ClusterFirst,
            host_network: false,
            dns_config: None,
            cluster: false,
            want: "search corp.example lab.example\nnameserver 198.18.0.53\nnameserver 198.18.0.54\noptions ndots:2 timeout:1\n",
            warnings: &["MissingClusterDNS"],
        },
        Row {
            name: "ClusterFirst with cluster DNS",
            policy: DnsPolicy::ClusterFirst,
            host_network: false,
            dns_config: None,
            cluster: true,
            want: "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n",
            warnings: &[],
        },
        Row {
            name: "ClusterFirst on the host network is Default",
            policy: DnsPolicy::ClusterFirst,
            host_network: true,
            dns_config: None,
            cluster: true,
            want: "search corp.example lab.example\nnameserver 198.18.0.53\nnameserver 198.18.0.54\noptions ndots:2 timeout:1\n",
            warnings: &[],
        },
        Row {
            name: "ClusterFirstWithHostNet uses the cluster on the host network",
            policy: DnsPolicy::ClusterFirstWithHostNet,
            host_network: true,
            dns_config: None,
            cluster: true,
            want: "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n",
            warnings: &[],
        },
        Row {
            name: "None: dnsConfig only",
            policy: DnsPolicy::None,
            host_network: false,
            dns_config: Some(extra.clone()),
            cluster: true,
            want: "search my.example corp.example\nnameserver 198.18.0.99\nnameserver 198.18.0.53\noptions ndots:1 edns0\n",
            warnings: &[],
        },
        Row {
            name: "dnsConfig is merged into Default without duplicates, its options win",
            policy: DnsPolicy::Default,
            host_network: false,
            dns_config: Some(extra.clone()),
            cluster: true,
            want: "search corp.example lab.example my.example\nnameserver 198.18.0.53\nnameserver 198.18.0.54\nnameserver 198.18.0.99\noptions ndots:1 timeout:1 edns0\n",
            warnings: &[],
        },
        Row {
            name: "more than three nameservers are cut with an event",
            policy: DnsPolicy::Default,
            host_network: false,
            dns_config: Some(PodDnsConfig {
                nameservers: vec!["198.18.0.1".into(), "198.18.0.2".into()],
                ..PodDnsConfig::default()
            }),
            cluster: false,
            want: "search corp.example lab.example\nnameserver 198.18.0.53\nnameserver 198.18.0.54\nnameserver 198.18.0.1\noptions ndots:2 timeout:1\n",
            warnings: &["DNSConfigForming"],
        },
        Row {
            name: "None without dnsConfig is empty",
            policy: DnsPolicy::None,
            host_network: false,
            dns_config: None,
            cluster: true,
            want: "",
            warnings: &[],
        },
    ];
    let host = host();
    let cluster = cluster();
    let mut failures = Vec::new();
    for row in &rows {
        let got = pod_dns(&PodDnsInput {
            policy: row.policy,
            host_network: row.host_network,
            namespace: "shop",
            pod_display: "web_shop(u1)",
            dns_config: row.dns_config.as_ref(),
            host: &host,
            cluster: row.cluster.then_some(&cluster),
        });
        let reasons: Vec<&str> = got.warnings.iter().map(|(r, _)| *r).collect();
        if got.conf.render() != row.want || reasons != row.warnings {
            failures.push(format!(
                "{}:\n want {:?} {:?}\n  got {:?} {:?}",
                row.name,
                row.want,
                row.warnings,
                got.conf.render(),
                reasons
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_missing_cluster_dns_event_reads_like_the_kubelets() {
    let got = pod_dns(&PodDnsInput {
        policy: DnsPolicy::ClusterFirst,
        host_network: false,
        namespace: "default",
        pod_display: "web_default(u1)",
        dns_config: None,
        host: &host(),
        cluster: None,
    });
    assert_eq!(
        got.warnings[0].1,
        "pod: \"web_default(u1)\". kubelet does not have ClusterDNS IP configured and cannot create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy."
    );
}

#[test]
fn search_lines_are_cut_to_the_apis_limits() {
    let long = "a".repeat(254);
    let mut searches: Vec<String> = (0..40).map(|i| format!("d{i}.example")).collect();
    searches.insert(0, long);
    let got = pod_dns(&PodDnsInput {
        policy: DnsPolicy::None,
        host_network: false,
        namespace: "default",
        pod_display: "p",
        dns_config: Some(&PodDnsConfig {
            searches,
            ..PodDnsConfig::default()
        }),
        host: &ResolvConf::default(),
        cluster: None,
    });
    assert_eq!(
        got.conf.searches.len(),
        31,
        "32 kept, then the over-long one dropped"
    );
    assert_eq!(got.conf.searches[0], "d0.example");
    assert_eq!(got.warnings.len(), 1);
    assert!(got.warnings[0]
        .1
        .starts_with("Search Line limits were exceeded"));
}

#[test]
fn a_loopback_stub_resolver_is_replaced_by_systemd_resolveds_upstreams() {
    let stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n";
    let upstream = "nameserver 198.18.0.53\nnameserver 198.18.0.54\nsearch corp.example\n";
    let got = host_resolv_conf(stub, Some(upstream), false);
    assert_eq!(got.nameservers, ["198.18.0.53", "198.18.0.54"]);
    assert_eq!(got.options, ["edns0", "trust-ad"]);
    assert_eq!(got.searches, ["corp.example"]);
    // Without systemd-resolved's file, a loopback server is useless inside a pod.
    assert!(host_resolv_conf(stub, None, false).nameservers.is_empty());
    // On the host's network it works, and is kept.
    assert_eq!(
        host_resolv_conf(stub, None, true).nameservers,
        ["127.0.0.53"]
    );
    // A host with real servers is left as it is.
    assert_eq!(
        host_resolv_conf(HOST, Some(upstream), false).nameservers,
        ["198.18.0.53", "198.18.0.54"]
    );
}

#[test]
fn resolv_conf_parsing_follows_the_kubelet() {
    let c = ResolvConf::parse("search a.example\nnameserver 1.1.1.1\n  # x\nsearch b.example. c.example\nnameserver\noptions a\noptions b:1\n");
    assert_eq!(
        c.searches,
        ["b.example", "c.example"],
        "the last search line wins"
    );
    assert_eq!(c.nameservers, ["1.1.1.1"]);
    assert_eq!(c.options, ["b:1"]);
}
