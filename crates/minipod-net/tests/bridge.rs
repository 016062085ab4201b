//! The CNI client with Debian's real plugins (`containernetworking-plugins`): a bridge and
//! host-local addresses attached to a network namespace this test makes, then removed again.
//! Privileged. The test's bridge, range (inside 198.18.0.0/15, the benchmarking range test
//! hosts use) and namespace are its own and are removed even when it fails. `isGateway` is off
//! so the bridge plugin leaves the host's `ip_forward` alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use minipod_net::cni::{pod_args, Attachment, CniRunner, NetworkList};
use serde_json::{json, Map};

fn ip(args: &[&str]) -> (bool, String) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The namespace and bridge of one test, removed on drop.
struct Host {
    netns: String,
    bridge: String,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = ip(&["netns", "delete", &self.netns]);
        let _ = ip(&["link", "delete", &self.bridge, "type", "bridge"]);
    }
}

fn plugins_dir() -> Option<PathBuf> {
    ["/usr/lib/cni", "/opt/cni/bin"]
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("bridge").exists())
}

#[test]
fn del_with_the_namespace_present_removes_the_interface_the_veth_and_the_lease() {
    attach_and_detach(false);
}

#[test]
fn del_after_the_namespace_is_gone_still_releases_the_lease() {
    attach_and_detach(true);
}

fn attach_and_detach(namespace_gone_first: bool) {
    if !minipod_testsupport::privileged() {
        return;
    }
    let plugins = plugins_dir()
        .expect("the CNI plugins (scripts/install-deps.sh installs containernetworking-plugins)");
    // nextest runs each test in a process of its own: the pid keeps names apart.
    let n = std::process::id() % 250;
    let host = Host {
        netns: format!("mpnet-test-{}", std::process::id()),
        bridge: format!("mpt{}", std::process::id() % 100_000),
    };
    let (ok, _) = ip(&["netns", "add", &host.netns]);
    assert!(ok, "ip netns add {}", host.netns);
    let netns_path = Path::new("/run/netns").join(&host.netns);
    let state = tempfile::tempdir().unwrap();
    let ipam_dir = state.path().join("ipam");
    let subnet = format!("198.19.{n}.0/24");
    let list = NetworkList::from_value(
        json!({
            "cniVersion": "1.0.0",
            "name": "minipod-test",
            "plugins": [{
                "type": "bridge",
                "bridge": host.bridge,
                "isGateway": false,
                "ipMasq": false,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]], "dataDir": ipam_dir}
            }]
        }),
        Path::new("test.conflist"),
    )
    .unwrap();
    let runner = CniRunner {
        plugin_path: vec![plugins],
        ..CniRunner::default()
    };
    let cache = state.path().join("network.json");
    let a = Attachment::new(
        &list,
        "sandbox-test",
        &netns_path,
        "eth0",
        pod_args("default", "web", "sandbox-test", "uid-test"),
        Map::new(),
    );
    let a = runner.add(&list, a, &cache).unwrap();
    let ips = a.ips();
    assert_eq!(ips.len(), 1, "{:?}", a.result);
    let pod_ip = ips[0].ip.to_string();
    assert!(pod_ip.starts_with(&format!("198.19.{n}.")), "{pod_ip}");
    let (_, addrs) = ip(&["-n", &host.netns, "-4", "-o", "addr", "show", "dev", "eth0"]);
    assert!(addrs.contains(&format!("{pod_ip}/24")), "{addrs}");
    let lease = ipam_dir.join("minipod-test").join(&pod_ip);
    assert!(lease.exists(), "host-local lease {}", lease.display());
    let (_, ports) = ip(&["-o", "link", "show", "master", &host.bridge]);
    assert_eq!(ports.lines().count(), 1, "one veth on the bridge: {ports}");

    if namespace_gone_first {
        // As after a crash or a reboot: DEL gets an empty CNI_NETNS and still frees the lease.
        let (ok, _) = ip(&["netns", "delete", &host.netns]);
        assert!(ok);
    }
    assert!(runner.del_cached(&cache).unwrap());
    if !namespace_gone_first {
        let (ok, _) = ip(&["-n", &host.netns, "link", "show", "eth0"]);
        assert!(!ok, "eth0 is gone from the namespace");
    }
    assert!(!lease.exists(), "the lease is released");
    // The kernel destroys a deleted namespace (and the veth end in it) asynchronously.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let ports = loop {
        let (_, ports) = ip(&["-o", "link", "show", "master", &host.bridge]);
        if ports.trim().is_empty() || std::time::Instant::now() > deadline {
            break ports;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(ports.trim(), "", "no veth left on the bridge");
    assert!(!cache.exists());
}
