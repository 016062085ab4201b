//! A pod namespace on minipod's default network, end to end with the real plugins and the
//! kernel (privileged): it gets an address from the pod range, reaches a "remote host" (a
//! namespace of the test's own on 198.18.0.0/15, joined to the host by a veth pair) through
//! the bridge, and the remote host sees the traffic masqueraded to the host's address. Then
//! detach leaves no veth and no lease. Everything the test makes has a name of its own and is
//! removed even when it fails, and `net.ipv4.ip_forward` is put back as it was.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use minipod_net::cni::CniRunner;
use minipod_net::default_network::DefaultNetwork;
use minipod_net::host::delete_nft_table;
use minipod_net::pod::{attach, detach, NetworkConfig, SandboxRef};

fn ip(args: &[&str]) -> (bool, String) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn must(args: &[&str]) {
    let (ok, text) = ip(args);
    assert!(ok, "ip {}: {text}", args.join(" "));
}

/// Everything the test creates on the host, undone on drop.
struct World {
    pod_ns: String,
    remote_ns: String,
    host_veth: String,
    bridge: String,
    nft_table: String,
    ip_forward: String,
    httpd: Option<Child>,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(mut c) = self.httpd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = ip(&["netns", "delete", &self.pod_ns]);
        let _ = ip(&["netns", "delete", &self.remote_ns]);
        let _ = ip(&["link", "delete", &self.host_veth]);
        let _ = ip(&["link", "delete", &self.bridge, "type", "bridge"]);
        let _ = delete_nft_table(&self.nft_table);
        let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", &self.ip_forward);
    }
}

fn plugins_dir() -> PathBuf {
    ["/usr/lib/cni", "/opt/cni/bin"]
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("bridge").exists())
        .expect("the CNI plugins (scripts/install-deps.sh installs containernetworking-plugins)")
}

#[test]
fn a_pod_reaches_a_remote_host_masqueraded_and_detach_leaves_nothing() {
    if !minipod_testsupport::privileged() {
        return;
    }
    let pid = std::process::id();
    let k = pid % 250;
    let mut w = World {
        pod_ns: format!("mppod-{pid}"),
        remote_ns: format!("mpremote-{pid}"),
        host_veth: format!("mpr{}", pid % 100_000),
        bridge: format!("mpb{}", pid % 100_000),
        nft_table: format!("minipod_test_{pid}"),
        ip_forward: std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        httpd: None,
    };
    // The remote host: 198.18.k.2/24 behind a veth whose host end is 198.18.k.1.
    let (host_addr, remote_addr) = (format!("198.18.{k}.1"), format!("198.18.{k}.2"));
    must(&["netns", "add", &w.remote_ns]);
    must(&["netns", "add", &w.pod_ns]);
    must(&[
        "link",
        "add",
        &w.host_veth,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &w.remote_ns,
    ]);
    must(&[
        "addr",
        "add",
        &format!("{host_addr}/24"),
        "dev",
        &w.host_veth,
    ]);
    must(&["link", "set", &w.host_veth, "up"]);
    must(&[
        "-n",
        &w.remote_ns,
        "addr",
        "add",
        &format!("{remote_addr}/24"),
        "dev",
        "eth0",
    ]);
    must(&["-n", &w.remote_ns, "link", "set", "eth0", "up"]);
    must(&["-n", &w.remote_ns, "link", "set", "lo", "up"]);
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("hello.txt"), "hello from the remote host\n").unwrap();
    let log = www.path().join("httpd.log");
    w.httpd = Some(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &w.remote_ns,
                "busybox",
                "httpd",
                "-f",
                "-vv",
            ])
            .arg("-p")
            .arg(format!("{remote_addr}:8080"))
            .arg("-h")
            .arg(www.path())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .expect("busybox httpd"),
    );

    let state = tempfile::tempdir().unwrap();
    let cfg = NetworkConfig {
        conf_dir: state.path().join("net.d"),
        runner: CniRunner {
            plugin_path: vec![plugins_dir()],
            ..CniRunner::default()
        },
        default: DefaultNetwork {
            name: "minipod-test".into(),
            bridge: w.bridge.clone(),
            subnet: format!("198.19.{k}.0/24"),
            ipam_dir: state.path().join("ipam"),
        },
        nft_table: w.nft_table.clone(),
    };
    let netns = Path::new("/run/netns").join(&w.pod_ns);
    let cache = state.path().join("network.json");
    let sandbox = SandboxRef {
        namespace: "default",
        name: "web",
        uid: "uid-1",
        sandbox_id: "sandbox-1",
        netns: &netns,
    };
    let a = attach(&cfg, &sandbox, &[], &cache).unwrap();
    let pod_ip = a.ips()[0].ip.to_string();
    assert!(pod_ip.starts_with(&format!("198.19.{k}.")), "{pod_ip}");
    assert!(cfg.conf_dir.join("10-minipod.conflist").exists());

    // The pod fetches from the remote host (retrying while httpd starts).
    let url = format!("http://{remote_addr}:8080/hello.txt");
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        // (busybox 1.35's wget crashes with -q -T here; coreutils' timeout bounds it instead.)
        let out = Command::new("timeout")
            .args([
                "3", "ip", "netns", "exec", &w.pod_ns, "busybox", "wget", "-O", "-", &url,
            ])
            .output()
            .unwrap();
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        if Instant::now() >= deadline {
            let (_, routes) = ip(&["-n", &w.pod_ns, "route"]);
            let (_, addrs) = ip(&["-n", &w.pod_ns, "-o", "addr"]);
            let (_, host_routes) = ip(&["route"]);
            let nft = Command::new("nft")
                .args(["list", "ruleset"])
                .output()
                .unwrap();
            panic!(
                "the pod cannot reach {url}: {}\npod routes:\n{routes}\npod addrs:\n{addrs}\nhost routes:\n{host_routes}\nip_forward={}\nnft:\n{}\nhttpd: {}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
                String::from_utf8_lossy(&nft.stdout),
                std::fs::read_to_string(&log).unwrap_or_default(),
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(body, "hello from the remote host\n");
    let seen = std::fs::read_to_string(&log).unwrap();
    assert!(
        seen.contains(&host_addr),
        "the remote host sees the host's address: {seen}"
    );
    assert!(!seen.contains(&pod_ip), "and never the pod's: {seen}");

    assert!(detach(&cfg, &cache).unwrap());
    let (_, ports) = ip(&["-o", "link", "show", "master", &w.bridge]);
    assert_eq!(ports.trim(), "", "no veth left on the bridge");
    let leases = state.path().join("ipam").join("minipod-test");
    assert!(!leases.join(&pod_ip).exists(), "the lease is released");
    assert!(!cache.exists());
}
