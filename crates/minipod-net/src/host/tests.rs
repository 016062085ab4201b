//! Pod-range checks and the nftables table, without root (parsing, overlap, ruleset text);
//! the table is loaded into the kernel by the privileged test in tests/host.rs.

use super::*;

fn net(s: &str) -> Ipv4Net {
    Ipv4Net::parse(s).unwrap()
}

#[test]
fn ranges_parse_and_overlap() {
    for bad in ["10.87.0.0", "10.87.0.0/33", "x/16", "10.87.0/16", ""] {
        assert!(Ipv4Net::parse(bad).is_err(), "{bad}");
    }
    let rows = [
        ("10.87.0.0/16", "10.87.3.0/24", true),
        ("10.87.3.0/24", "10.87.0.0/16", true),
        ("10.87.0.0/16", "10.88.0.0/16", false),
        ("10.0.0.0/8", "10.87.0.5/32", true),
        ("192.168.1.0/24", "192.168.2.0/24", false),
        ("0.0.0.0/0", "198.18.0.0/15", true),
    ];
    for (a, b, want) in rows {
        assert_eq!(net(a).overlaps(&net(b)), want, "{a} ~ {b}");
    }
    assert_eq!(net("10.87.1.2/16").network().to_string(), "10.87.0.0/16");
}

const ADDRS: &str = r#"[
 {"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
 {"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.2","prefixlen":24},{"family":"inet6","local":"fe80::1","prefixlen":64}]},
 {"ifname":"minipod0","addr_info":[{"family":"inet","local":"10.87.0.1","prefixlen":16}]}
]"#;
const ROUTES: &str = r#"[
 {"dst":"default","gateway":"192.0.2.1","dev":"eth0"},
 {"dst":"192.0.2.0/24","dev":"eth0"},
 {"dst":"172.20.0.0/16","gateway":"192.0.2.9","dev":"eth0"},
 {"dst":"10.87.0.0/16","dev":"minipod0"},
 {"type":"local","dst":"192.0.2.2","dev":"eth0","table":"local"}
]"#;

#[test]
fn the_host_addresses_and_routes_are_read_from_ip_json() {
    let host = parse_host_prefixes(ADDRS, ROUTES);
    let got: Vec<String> = host
        .iter()
        .map(|h| format!("{} {} {}", h.kind, h.net, h.dev))
        .collect();
    assert_eq!(
        got,
        [
            "address 127.0.0.0/8 lo",
            "address 192.0.2.0/24 eth0",
            "address 10.87.0.0/16 minipod0",
            "route 0.0.0.0/0 eth0",
            "route 192.0.2.0/24 eth0",
            "route 172.20.0.0/16 eth0",
            "route 10.87.0.0/16 minipod0",
            "route 192.0.2.2/32 eth0",
        ]
    );
    assert!(parse_host_prefixes("garbage", "").is_empty());
}

#[test]
fn a_pod_range_over_a_host_address_or_route_is_refused_but_its_own_bridge_and_the_default_route_are_not(
) {
    let host = parse_host_prefixes(ADDRS, ROUTES);
    let rows = [
        ("10.87.0.0/16", None),
        ("198.19.0.0/16", None),
        ("192.0.2.128/25", Some("address 192.0.2.0/24 eth0")),
        ("172.20.5.0/24", Some("route 172.20.0.0/16 eth0")),
        ("127.1.0.0/16", Some("address 127.0.0.0/8 lo")),
        ("172.0.0.0/8", Some("route 172.20.0.0/16 eth0")),
    ];
    for (range, want) in rows {
        let got = find_overlap(&net(range), "minipod0", &host)
            .map(|h| format!("{} {} {}", h.kind, h.net, h.dev));
        assert_eq!(got.as_deref(), want, "{range}");
    }
    // Under another bridge name, the range minipod0 already uses is taken.
    assert!(find_overlap(&net("10.87.0.0/16"), "other0", &host).is_some());
    let err = HostError::Overlap {
        range: net("172.20.5.0/24"),
        what: "the route 172.20.0.0/16 on eth0".into(),
    };
    assert_eq!(
        err.to_string(),
        "the pod range 172.20.5.0/24 overlaps the route 172.20.0.0/16 on eth0 of this host; choose another range"
    );
}

#[test]
fn the_masquerade_table_replaces_itself_in_one_transaction() {
    let rules = masquerade_ruleset("minipod", &net("10.87.0.0/16"));
    let lines: Vec<&str> = rules.lines().map(str::trim).collect();
    assert_eq!(lines[0], "add table ip minipod");
    assert_eq!(lines[1], "delete table ip minipod");
    assert!(lines.contains(&"type nat hook postrouting priority srcnat; policy accept;"));
    assert!(lines.contains(&"ip saddr 10.87.0.0/16 ip daddr != 10.87.0.0/16 masquerade"));
}
