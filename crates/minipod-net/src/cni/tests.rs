//! The client against fake plugins: shell scripts that log what they were given and print a
//! result, so the protocol (environment, stdin, order, caching) is checked without root.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::*;

/// A directory of fake plugins, each logging `<type> <command> netns=<netns> args=<args>` and
/// its stdin (one line each) to `log`, and answering as its script says.
struct Fakes {
    dir: tempfile::TempDir,
}

impl Fakes {
    fn new() -> Fakes {
        Fakes {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// A plugin whose ADD prints `add_result` (and DEL nothing); `extra` runs first.
    fn plugin(&self, name: &str, extra: &str, add_result: &Value) {
        fs::create_dir_all(self.bin()).unwrap();
        let script = format!(
            "#!/bin/sh\nconf=$(cat)\nprintf '%s\\n' \"{name} $CNI_COMMAND netns=$CNI_NETNS ifname=$CNI_IFNAME id=$CNI_CONTAINERID args=$CNI_ARGS path=$CNI_PATH\" >> {log}\nprintf '%s\\n' \"$conf\" >> {log}\n{extra}\nif [ \"$CNI_COMMAND\" = ADD ]; then printf '%s' '{result}'; fi\n",
            log = self.log().display(),
            result = add_result,
        );
        let path = self.bin().join(name);
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn runner(&self) -> CniRunner {
        CniRunner {
            plugin_path: vec![self.dir.path().join("missing"), self.bin()],
            timeout: Duration::from_secs(20),
        }
    }

    /// The log as (header line, stdin JSON) pairs.
    fn calls(&self) -> Vec<(String, Value)> {
        let text = fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines
            .chunks(2)
            .map(|c| (c[0].to_string(), serde_json::from_str(c[1]).unwrap()))
            .collect()
    }
}

fn list(plugins: Value) -> NetworkList {
    let raw = json!({"cniVersion": "1.0.0", "name": "testnet", "plugins": plugins});
    NetworkList::from_value(raw, Path::new("/test/10-test.conflist")).unwrap()
}

fn bridge_result() -> Value {
    json!({
        "cniVersion": "1.0.0",
        "interfaces": [
            {"name": "mp0", "mac": "aa:bb:cc:dd:ee:01"},
            {"name": "veth1", "mac": "aa:bb:cc:dd:ee:02"},
            {"name": "eth0", "mac": "aa:bb:cc:dd:ee:03", "sandbox": "/run/netns/x"}
        ],
        "ips": [
            {"address": "fd00::5/64", "interface": 2},
            {"address": "10.87.0.5/16", "gateway": "10.87.0.1", "interface": 2},
            {"address": "10.87.0.1/16", "interface": 0}
        ]
    })
}

fn attachment(l: &NetworkList, netns: &Path, caps: Map<String, Value>) -> Attachment {
    Attachment::new(
        l,
        "sandbox-1",
        netns,
        "eth0",
        pod_args("default", "web", "sandbox-1", "u-1"),
        caps,
    )
}

#[test]
fn the_first_conflist_in_lexical_order_is_used() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        NetworkList::load_first(&dir.path().join("none")).unwrap(),
        None
    );
    assert_eq!(NetworkList::load_first(dir.path()).unwrap(), None);
    let conf =
        |name: &str| json!({"cniVersion": "1.0.0", "name": name, "plugins": [{"type": "bridge"}]});
    fs::write(dir.path().join("20-b.conflist"), conf("b").to_string()).unwrap();
    fs::write(dir.path().join("10-a.conflist"), conf("a").to_string()).unwrap();
    fs::write(dir.path().join("05-c.conf"), conf("c").to_string()).unwrap();
    fs::create_dir(dir.path().join("00-dir.conflist")).unwrap();
    let l = NetworkList::load_first(dir.path()).unwrap().unwrap();
    assert_eq!(l.name, "a");
    assert_eq!(l.source, dir.path().join("10-a.conflist"));
}

#[test]
fn a_bad_list_is_refused_naming_the_file_and_the_field() {
    let rows: [(&str, &str); 8] = [
        ("{", "not a JSON network configuration list"),
        ("[]", "must be a JSON object"),
        (
            r#"{"cniVersion":"1.0.0","plugins":[{"type":"x"}]}"#,
            "field name",
        ),
        (
            r#"{"name":"n","plugins":[{"type":"x"}]}"#,
            "field cniVersion: a string",
        ),
        (
            r#"{"name":"n","cniVersion":"9.9.9","plugins":[{"type":"x"}]}"#,
            "\"9.9.9\" is not supported",
        ),
        (
            r#"{"name":"n","cniVersion":"1.0.0","plugins":[]}"#,
            "field plugins: a non-empty list",
        ),
        (
            r#"{"name":"n","cniVersion":"1.0.0","plugins":[3]}"#,
            "field plugins[0]: must be an object",
        ),
        (
            r#"{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"../sh"}]}"#,
            "field plugins[0].type",
        ),
    ];
    for (text, want) in rows {
        let err = NetworkList::parse(text.as_bytes(), Path::new("/etc/minipod/net.d/x.conflist"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/etc/minipod/net.d/x.conflist: "),
            "{text}: {err}"
        );
        assert!(err.contains(want), "{text}: want {want:?} in {err:?}");
    }
}

#[test]
fn each_plugin_gets_name_version_prev_result_and_only_its_declared_capabilities() {
    let l = list(json!([
        {"type": "bridge", "bridge": "mp0", "runtimeConfig": {"stale": true}},
        {"type": "portmap", "capabilities": {"portMappings": true, "bandwidth": false}}
    ]));
    let mut caps = Map::new();
    caps.insert("portMappings".into(), json!([{"hostPort": 8080}]));
    caps.insert("bandwidth".into(), json!({"ingressRate": 1}));
    let first = l.plugin_config(0, None, &caps);
    assert_eq!(
        first,
        json!({"type": "bridge", "bridge": "mp0", "name": "testnet", "cniVersion": "1.0.0"})
    );
    let prev = json!({"cniVersion": "1.0.0", "ips": []});
    let second = l.plugin_config(1, Some(&prev), &caps);
    assert_eq!(second["prevResult"], prev);
    assert_eq!(
        second["runtimeConfig"],
        json!({"portMappings": [{"hostPort": 8080}]})
    );
    assert_eq!(second["name"], "testnet");
}

#[test]
fn add_chains_results_and_caches_them_then_del_runs_in_reverse_with_the_cache() {
    let f = Fakes::new();
    let netns = f.dir.path().join("netns");
    fs::write(&netns, "").unwrap();
    f.plugin("bridge", "", &bridge_result());
    let mut after_portmap = bridge_result();
    after_portmap["portmapped"] = json!(true);
    f.plugin("portmap", "", &after_portmap);
    let l = list(json!([
        {"type": "bridge"},
        {"type": "portmap", "capabilities": {"portMappings": true}}
    ]));
    let caps: Map<String, Value> = [(
        "portMappings".to_string(),
        port_mappings_arg(&[
            PortMapping {
                host_port: 8080,
                container_port: 80,
                protocol: "TCP".into(),
                host_ip: String::new(),
            },
            PortMapping {
                host_port: 0,
                container_port: 81,
                protocol: "TCP".into(),
                host_ip: String::new(),
            },
        ])
        .unwrap(),
    )]
    .into_iter()
    .collect();
    let cache = f.dir.path().join("network.json");
    let a = f
        .runner()
        .add(&l, attachment(&l, &netns, caps), &cache)
        .unwrap();
    assert_eq!(a.result.as_ref().unwrap()["portmapped"], true);
    assert_eq!(Attachment::load(&cache).unwrap().unwrap(), a);
    assert_eq!(
        fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let ips = a.ips();
    assert_eq!(ips.len(), 2, "{ips:?}");
    assert_eq!(ips[0].ip.to_string(), "10.87.0.5");
    assert_eq!(ips[0].prefix, 16);
    assert_eq!(ips[1].ip.to_string(), "fd00::5");

    let calls = f.calls();
    assert_eq!(calls.len(), 2);
    let args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sandbox-1;K8S_POD_UID=u-1";
    assert_eq!(
        calls[0].0,
        format!(
            "bridge ADD netns={} ifname=eth0 id=sandbox-1 args={args} path={}:{}",
            netns.display(),
            f.dir.path().join("missing").display(),
            f.bin().display()
        )
    );
    assert!(calls[0].1.get("prevResult").is_none());
    assert!(calls[1].0.starts_with("portmap ADD"));
    assert_eq!(calls[1].1["prevResult"], bridge_result());
    assert_eq!(
        calls[1].1["runtimeConfig"],
        json!({"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]})
    );

    // The namespace is gone and the conflist changed on disk: DEL still uses what ADD used.
    fs::remove_file(&netns).unwrap();
    fs::remove_file(f.log()).unwrap();
    assert!(f.runner().del_cached(&cache).unwrap());
    let calls = f.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[0].0.starts_with("portmap DEL netns= ifname=eth0"),
        "{}",
        calls[0].0
    );
    assert!(
        calls[1].0.starts_with("bridge DEL netns= "),
        "{}",
        calls[1].0
    );
    assert_eq!(calls[0].1["prevResult"], after_portmap);
    assert_eq!(
        calls[0].1["runtimeConfig"]["portMappings"][0]["hostPort"],
        8080
    );
    assert!(!cache.exists());
    assert!(
        !f.runner().del_cached(&cache).unwrap(),
        "a second DEL finds nothing to do"
    );
}

#[test]
fn a_failing_plugin_reports_its_own_message_and_what_ran_is_undone() {
    let f = Fakes::new();
    let netns = f.dir.path().join("netns");
    fs::write(&netns, "").unwrap();
    f.plugin("bridge", "", &bridge_result());
    f.plugin(
        "portmap",
        r#"if [ "$CNI_COMMAND" = ADD ]; then printf '%s' '{"cniVersion":"1.0.0","code":999,"msg":"port 8080 is in use","details":"bind: address already in use"}'; exit 1; fi"#,
        &json!({}),
    );
    let l = list(json!([{"type": "bridge"}, {"type": "portmap"}]));
    let cache = f.dir.path().join("network.json");
    let err = f
        .runner()
        .add(&l, attachment(&l, &netns, Map::new()), &cache)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "CNI plugin portmap (ADD): port 8080 is in use: bind: address already in use (code 999)"
    );
    let order: Vec<String> = f
        .calls()
        .iter()
        .map(|(h, _)| h.split(" netns").next().unwrap().to_string())
        .collect();
    assert_eq!(
        order,
        ["bridge ADD", "portmap ADD", "portmap DEL", "bridge DEL"]
    );
    assert!(!cache.exists());
}

#[test]
fn a_missing_plugin_is_refused_before_anything_runs() {
    let f = Fakes::new();
    f.plugin("bridge", "", &bridge_result());
    let l = list(json!([{"type": "bridge"}, {"type": "nosuch"}]));
    let cache = f.dir.path().join("network.json");
    let err = f
        .runner()
        .add(
            &l,
            attachment(&l, Path::new("/proc/self/ns/net"), Map::new()),
            &cache,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("CNI plugin \"nosuch\" not found in "),
        "{err}"
    );
    assert!(f.calls().is_empty());
    assert!(!cache.exists());
}

#[test]
fn plugin_messages_fall_back_to_stderr_then_the_exit_status() {
    assert_eq!(
        exec::plugin_error_message(
            br#"{"code":7,"msg":"no IP addresses available"}"#,
            b"",
            "exit status: 1"
        ),
        "no IP addresses available (code 7)"
    );
    assert_eq!(
        exec::plugin_error_message(b"", b"  failed to open netns\n", "exit status: 1"),
        "failed to open netns"
    );
    assert_eq!(
        exec::plugin_error_message(b"", b"", "exit status: 2"),
        "failed (exit status: 2) without a message"
    );
}

#[test]
fn a_plugin_that_hangs_is_killed_at_the_timeout() {
    let f = Fakes::new();
    let pids = f.dir.path().join("pids");
    f.plugin(
        "slow",
        &format!("sleep 30 & echo $! >> {}; wait", pids.display()),
        &json!({}),
    );
    let l = list(json!([{"type": "slow"}]));
    let mut runner = f.runner();
    runner.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let err = runner
        .add(
            &l,
            attachment(&l, Path::new("/proc/self/ns/net"), Map::new()),
            &f.dir.path().join("c.json"),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("did not finish within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // What the plugin started went with it (ADD, then the undoing DEL, each timed out).
    let pids = fs::read_to_string(&pids).unwrap();
    assert_eq!(pids.lines().count(), 2, "{pids}");
    for pid in pids.lines() {
        let gone = (0..100).any(|_| {
            let state = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting for init to reap it.
            let done = state.is_empty() || state.split(' ').nth(2) == Some("Z");
            if !done {
                std::thread::sleep(Duration::from_millis(20));
            }
            done
        });
        assert!(gone, "the plugin's child {pid} outlived it");
    }
}

#[test]
fn ips_outside_the_sandbox_are_not_the_pods() {
    let result = json!({
        "interfaces": [{"name": "cni0"}, {"name": "eth0", "sandbox": "/x"}],
        "ips": [{"address": "10.0.0.1/24", "interface": 0}, {"address": "10.0.0.7/24"}, {"address": "bad"}]
    });
    let ips = sandbox_ips(&result);
    assert_eq!(ips.len(), 1);
    assert_eq!(ips[0].ip.to_string(), "10.0.0.7");
    assert!(sandbox_ips(&json!("nonsense")).is_empty());
}

#[test]
fn a_cache_of_another_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    fs::write(&path, r#"{"kind":"other","containerId":"a","ifName":"eth0","networkName":"n","netns":"","cniArgs":[],"config":{}}"#).unwrap();
    let err = Attachment::load(&path).unwrap_err().to_string();
    assert!(err.contains("kind \"other\""), "{err}");
}

#[test]
fn only_a_live_namespace_file_is_passed_to_del() {
    let dir = tempfile::tempdir().unwrap();
    let left_over = dir.path().join("net");
    fs::write(&left_over, "").unwrap();
    assert!(is_network_namespace(Path::new("/proc/self/ns/net")));
    assert!(
        !is_network_namespace(&left_over),
        "an unmounted namespace file"
    );
    assert!(!is_network_namespace(&dir.path().join("gone")));
    assert!(!is_network_namespace(Path::new("")));
}
