//! Pod sandbox: containers of one pod share network, IPC and UTS namespaces; two pods are
//! isolated; teardown removes namespace files and mounts.

mod common;

use common::*;
use minipod_testsupport::or_skip;
use serde_json::json;

/// `readlink /proc/self/ns/X` for net, ipc, uts, then the hostname and /etc files.
const SHOW_NS: &str =
    "for n in net ipc uts pid mnt; do echo $n=$(readlink /proc/self/ns/$n); done; \
     echo host=$(hostname); echo etchostname=$(cat /etc/hostname); \
     grep -c Kubernetes-managed /etc/hosts; ip link show lo | head -1";

fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {out:?}"))
}

#[test]
fn containers_of_a_pod_share_network_and_hostname_pods_are_isolated() {
    let (env, rootfs) = or_skip!(setup("share"));
    let (ua, ub) = (env.uid("a"), env.uid("b"));
    let scenario = json!({
        "root": env.run_root(),
        "pods": [
            {"uid": ua, "name": "a", "hostname": "host-a"},
            {"uid": ub, "name": "b", "hostname": "host-b"},
        ],
        "containers": [
            // Pod a: a server on loopback, in the background. (Its stdin stays open: busybox
            // nc half-closes the connection when its stdin ends, racing the client's data.)
            {"pod": "a", "name": "server", "rootfs": rootfs, "wait": false, "timeout_ms": 15000,
             "args": ["/bin/sh", "-c", "sleep 3 | nc -l -p 8080; echo server-done"]},
            // Pod b cannot reach it: its loopback is another network namespace.
            {"pod": "b", "name": "intruder", "rootfs": rootfs,
             "args": ["/bin/sh", "-c",
                "sleep 0.3; if echo intruder | nc -w 1 127.0.0.1 8080; then echo reached; else echo refused; fi; "
                    .to_string() + SHOW_NS]},
            // Pod a's second container reaches it on 127.0.0.1.
            {"pod": "a", "name": "client", "rootfs": rootfs,
             "args": ["/bin/sh", "-c",
                "for i in $(seq 50); do echo hello-from-client | nc 127.0.0.1 8080 && break; sleep 0.1; done; "
                    .to_string() + SHOW_NS]},
            {"pod": "a", "name": "peer", "rootfs": rootfs, "args": ["/bin/sh", "-c", SHOW_NS]},
        ],
    });
    let report = run_probe(&env, scenario);
    assert_no_errors(&report);
    let server = container(&report, "server");
    let client = container(&report, "client");
    let peer = container(&report, "peer");
    let intruder = container(&report, "intruder");
    assert_eq!(
        server["stdout"], "hello-from-client\nserver-done\n",
        "{report:#}"
    );
    assert_eq!(server["exit_code"], 0);
    assert_eq!(client["exit_code"], 0, "{report:#}");
    let (c, p, i) = (
        client["stdout"].as_str().unwrap(),
        peer["stdout"].as_str().unwrap(),
        intruder["stdout"].as_str().unwrap(),
    );
    assert!(i.starts_with("refused\n"), "{report:#}");
    for ns in ["net", "ipc", "uts"] {
        assert_eq!(field(c, ns), field(p, ns), "{ns} shared within the pod");
        assert_ne!(field(c, ns), field(i, ns), "{ns} isolated between pods");
    }
    // Each container has its own PID and mount namespace. (They ran one after the other, so
    // the kernel may reuse one's inode number for the next: compare with the host's.)
    let host_ns = |n: &str| {
        std::fs::read_link(format!("/proc/self/ns/{n}"))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    for out in [c, p, i] {
        assert_ne!(field(out, "pid"), host_ns("pid"));
        assert_ne!(field(out, "mnt"), host_ns("mnt"));
        assert_ne!(field(out, "net"), host_ns("net"));
    }
    assert_eq!(field(c, "host"), "host-a");
    assert_eq!(field(p, "host"), "host-a");
    assert_eq!(field(i, "host"), "host-b");
    assert_eq!(field(c, "etchostname"), "host-a");
    // The managed /etc/hosts is mounted, and loopback is up.
    assert!(c.contains("\n1\n"), "{c}");
    assert!(c.contains("LOOPBACK,UP"), "{c}");
    env.assert_clean();
}

#[test]
fn host_network_pod_sees_host_network_namespace() {
    let (env, rootfs) = or_skip!(setup("hostnet"));
    let report = run_probe(
        &env,
        one_pod_with(
            &env,
            json!({"name": "h", "hostname": "ignored", "host_network": true}),
            json!({}),
            json!([{"pod": "h", "name": "c", "rootfs": rootfs,
                "args": ["/bin/sh", "-c", "readlink /proc/self/ns/net; hostname"]}]),
        ),
    );
    assert_no_errors(&report);
    let out = container(&report, "c")["stdout"]
        .as_str()
        .unwrap()
        .to_string();
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    let host_name = nix::unistd::gethostname().unwrap();
    assert_eq!(
        out,
        format!("{}\n{}\n", host_net.display(), host_name.to_string_lossy())
    );
    env.assert_clean();
}

#[test]
fn share_process_namespace_gives_one_pid_namespace_with_a_reaper() {
    let (env, rootfs) = or_skip!(setup("sharepid"));
    let report = run_probe(
        &env,
        one_pod_with(
            &env,
            json!({"name": "s", "hostname": "s", "share_process_namespace": true}),
            json!({}),
            json!([
                {"pod": "s", "name": "sleeper", "rootfs": rootfs, "wait": false,
                 "args": ["/bin/sleep", "2"]},
                // An orphan: its parent exits at once, PID 1 of the pod must reap it.
                {"pod": "s", "name": "viewer", "rootfs": rootfs,
                 "args": ["/bin/sh", "-c",
                    "(sleep 0.2 &); sleep 0.5; cat /proc/1/comm; ps -o comm | grep -c '^sleep'; \
                     ps -o stat,comm | grep -c '^Z' || true"]},
            ]),
        ),
    );
    assert_no_errors(&report);
    let out = container(&report, "viewer")["stdout"].as_str().unwrap();
    // PID 1 is the pod's reaper; the other container's sleep is visible; no zombie.
    assert_eq!(out, "minipod-pidns\n1\n0\n", "{report:#}");
    assert_eq!(container(&report, "sleeper")["exit_code"], 0);
    env.assert_clean();
}
