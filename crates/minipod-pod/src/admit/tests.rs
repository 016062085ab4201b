use super::*;
use serde_json::json;

fn spec(v: serde_json::Value) -> PodSpec {
    let mut s = json!({"containers": [{"name": "c", "image": "x"}]});
    s.as_object_mut()
        .unwrap()
        .extend(v.as_object().unwrap().clone());
    serde_json::from_value(s).unwrap()
}

fn sysctls(names: &[&str]) -> serde_json::Value {
    let list: Vec<_> = names
        .iter()
        .map(|n| json!({"name": n, "value": "1"}))
        .collect();
    json!({"securityContext": {"sysctls": list}})
}

#[test]
fn normalize_swaps_separators_when_the_first_is_a_slash() {
    assert_eq!(
        normalize_name("kernel/shm_rmid_forced"),
        "kernel.shm_rmid_forced"
    );
    assert_eq!(
        normalize_name("net/ipv4/conf/eno2.100/rp_filter"),
        "net.ipv4.conf.eno2/100.rp_filter"
    );
    assert_eq!(
        normalize_name("net.ipv4.conf.eno2/100.rp_filter"),
        "net.ipv4.conf.eno2/100.rp_filter"
    );
}

#[test]
fn admission_follows_the_kubelet_allowlist() {
    let allowed = parse_allowed(" kernel.msg*, net.core.somaxconn ,");
    let cases: &[(serde_json::Value, &[String], Option<&str>)] = &[
        (json!({}), &[], None),
        (
            sysctls(&["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range"]),
            &[],
            None,
        ),
        (sysctls(&["kernel/shm_rmid_forced"]), &[], None),
        (
            sysctls(&["kernel.msgmax"]),
            &[],
            Some(r#"forbidden sysctl: "kernel.msgmax" not allowlisted"#),
        ),
        (
            sysctls(&["kernel.msgmax", "net.core.somaxconn"]),
            &allowed,
            None,
        ),
        (
            sysctls(&["net.core.somaxconn2"]),
            &allowed,
            Some(r#"forbidden sysctl: "net.core.somaxconn2" not allowlisted"#),
        ),
        (
            {
                let mut v = sysctls(&["net.ipv4.tcp_syncookies"]);
                v["hostNetwork"] = json!(true);
                v
            },
            &[],
            Some(
                r#"forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled"#,
            ),
        ),
        (
            {
                let mut v = sysctls(&["kernel.shm_rmid_forced"]);
                v["hostIPC"] = json!(true);
                v
            },
            &[],
            Some(r#"forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host ipc enabled"#),
        ),
    ];
    for (i, (v, allowed, want)) in cases.iter().enumerate() {
        let got = admit(&spec(v.clone()), allowed);
        match want {
            None => assert_eq!(got, Ok(()), "case {i}"),
            Some(m) => {
                let r = got.expect_err("rejected");
                assert_eq!(
                    (r.reason, r.message.as_str()),
                    (SYSCTL_FORBIDDEN, *m),
                    "case {i}"
                );
            }
        }
    }
}
