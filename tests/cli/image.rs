//! `minipod image ...` end to end: the built binary against a private `--root`, on the
//! images `scripts/build-test-images.sh` writes.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::{ok, stderr, TestRoot};
use crate::pods::PodRoot;
use minipod_testsupport::or_skip;
use minipod_testsupport::test_image_path as image;

/// An input error: exit 2 and one line on stderr containing every `needles`.
#[track_caller]
fn input_error(o: Output, needles: &[&str]) -> String {
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{err:?} lacks {n:?}");
    }
    err
}

fn load(root: &TestRoot, file: &str) -> String {
    ok(&root.minipod(&["image", "load", image(file).to_str().unwrap()]))
}

#[test]
fn load_every_format_and_list() {
    for file in [
        "busybox-docker.tar",
        "busybox-docker25.tar",
        "busybox-oci",
        "busybox-oci.tar",
    ] {
        let root = TestRoot::new();
        let out = load(&root, file);
        assert_eq!(out.trim(), "Loaded image: busybox:1.35", "{file}");
        let ls = ok(&root.minipod(&["image", "ls"]));
        let lines: Vec<&str> = ls.lines().collect();
        assert_eq!(lines.len(), 2, "{ls}");
        assert!(lines[0].starts_with("REPOSITORY"), "{ls}");
        let cols: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(&cols[..2], ["busybox", "1.35"], "{file}: {ls}");
    }
}

#[test]
fn same_image_in_every_format_has_one_id() {
    let mut ids = Vec::new();
    for file in [
        "busybox-docker.tar",
        "busybox-docker25.tar",
        "busybox-oci.tar",
        "busybox-zstd-oci.tar",
    ] {
        let root = TestRoot::new();
        load(&root, file);
        ids.push(ok(&root.minipod(&["image", "ls", "-q"])).trim().to_string());
    }
    assert!(ids.iter().all(|i| i == &ids[0] && i.len() == 12), "{ids:?}");
}

#[test]
fn list_json_and_inspect_show_config() {
    let root = TestRoot::new();
    assert_eq!(
        load(&root, "layered-oci.tar").trim(),
        "Loaded image: layered:1.0"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&root.minipod(&["image", "ls", "-o", "json"]))).unwrap();
    assert_eq!(json[0]["name"], "docker.io/library/layered:1.0");
    assert_eq!(json[0]["repository"], "layered");
    assert_eq!(json[0]["tag"], "1.0");
    let inspect: serde_json::Value =
        serde_json::from_str(&ok(&root.minipod(&["image", "inspect", "layered:1.0"]))).unwrap();
    let d = &inspect["Defaults"];
    assert_eq!(
        d["entrypoint"],
        serde_json::json!(["/bin/sh", "/app/run.sh"])
    );
    assert_eq!(d["cmd"], serde_json::json!(["hello", "world"]));
    assert_eq!(d["working_dir"], "/app");
    assert_eq!(d["stop_signal"], "SIGQUIT");
    assert_eq!(d["user"], "1000:1000");
    assert_eq!(d["exposed_ports"], serde_json::json!(["8080/tcp"]));
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(
        inspect["Layers"][1]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    // By ID too.
    let id = inspect["Id"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")[..12]
        .to_string();
    ok(&root.minipod(&["image", "inspect", &id]));
}

#[test]
fn multiarch_index_picks_linux_amd64() {
    let root = TestRoot::new();
    assert_eq!(
        load(&root, "multiarch-oci.tar").trim(),
        "Loaded image: multiarch:1.0"
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&ok(&root.minipod(&["image", "inspect", "multiarch:1.0"]))).unwrap();
    assert_eq!(inspect["Platform"], "linux/amd64");
    assert_eq!(inspect["Config"]["architecture"], "amd64");
}

#[test]
fn unnamed_image_needs_name() {
    let root = TestRoot::new();
    let path = image("noname-oci.tar");
    input_error(
        root.minipod(&["image", "load", path.to_str().unwrap()]),
        &["noname-oci.tar", "--name"],
    );
    let out = ok(&root.minipod(&["image", "load", path.to_str().unwrap(), "--name", "mine:2"]));
    assert_eq!(out.trim(), "Loaded image: mine:2");
    ok(&root.minipod(&["image", "inspect", "docker.io/library/mine:2"]));
}

#[test]
fn junk_file_is_refused_naming_it() {
    let root = TestRoot::new();
    let junk = root.path().join("junk.tar");
    fs::write(&junk, vec![0x5a; 4096]).unwrap();
    input_error(
        root.minipod(&["image", "load", junk.to_str().unwrap()]),
        &["junk.tar"],
    );
    let empty = root.path().join("empty.tar");
    fs::write(&empty, b"").unwrap();
    input_error(
        root.minipod(&["image", "load", empty.to_str().unwrap()]),
        &["empty.tar"],
    );
}

#[test]
fn truncated_archive_is_refused_and_nothing_is_visible() {
    let root = TestRoot::new();
    let data = fs::read(image("busybox-oci.tar")).unwrap();
    let cut = root.path().join("cut.tar");
    fs::write(&cut, &data[..data.len() / 2]).unwrap();
    input_error(
        root.minipod(&["image", "load", cut.to_str().unwrap()]),
        &["cut.tar"],
    );
    assert_eq!(ok(&root.minipod(&["image", "ls", "-q"])), "");
    assert_eq!(fs::read_dir(root.path().join("tmp")).unwrap().count(), 0);
}

/// Flips one byte inside the first blob of an OCI archive whose name is a digest.
fn tamper(src: &Path, dst: &Path) -> String {
    let mut data = fs::read(src).unwrap();
    let mut pos = 0;
    while pos + 512 <= data.len() {
        let name = String::from_utf8_lossy(&data[pos..pos + 100])
            .trim_end_matches('\0')
            .to_string();
        let size_field = String::from_utf8_lossy(&data[pos + 124..pos + 136]);
        let size =
            usize::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
                .unwrap_or(0);
        if name.starts_with("blobs/sha256/") && size > 1000 {
            data[pos + 512 + size / 2] ^= 0xff;
            fs::write(dst, &data).unwrap();
            return name.trim_start_matches("blobs/sha256/").to_string();
        }
        pos += 512 + size.div_ceil(512) * 512;
    }
    panic!("no blob found in {}", src.display());
}

#[test]
fn tampered_blob_is_refused_naming_file_and_digest() {
    let root = TestRoot::new();
    let bad = root.path().join("tampered.tar");
    let hex = tamper(&image("busybox-oci.tar"), &bad);
    let err = input_error(
        root.minipod(&["image", "load", bad.to_str().unwrap()]),
        &["tampered.tar", &hex],
    );
    assert!(err.contains("does not match"), "{err}");
    assert_eq!(ok(&root.minipod(&["image", "ls", "-q"])), "");
}

#[test]
fn tampered_legacy_layer_fails_diff_id_check() {
    let root = TestRoot::new();
    let mut data = fs::read(image("busybox-docker.tar")).unwrap();
    // The layer is the only big member: flip a byte in the middle of the file.
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    let bad = root.path().join("tampered-docker.tar");
    fs::write(&bad, &data).unwrap();
    input_error(
        root.minipod(&["image", "load", bad.to_str().unwrap()]),
        &["tampered-docker.tar", "sha256:"],
    );
    assert_eq!(ok(&root.minipod(&["image", "ls", "-q"])), "");
}

#[test]
fn missing_ref_and_missing_file_are_input_errors() {
    let root = TestRoot::new();
    input_error(root.minipod(&["image", "inspect", "nope:1"]), &["nope:1"]);
    input_error(root.minipod(&["image", "rm", "nope:1"]), &["nope:1"]);
    input_error(root.minipod(&["image", "inspect", "Bad Ref"]), &["Bad Ref"]);
    let missing = root.path().join("missing.tar");
    let o = root.minipod(&["image", "load", missing.to_str().unwrap()]);
    let err = stderr(&o);
    assert_ne!(o.status.code(), Some(0));
    assert!(err.contains("missing.tar"), "{err}");
}

#[test]
fn rm_refuses_leased_image_unless_forced_then_prune_frees() {
    let root = TestRoot::new();
    load(&root, "busybox-oci.tar");
    let inspect: serde_json::Value =
        serde_json::from_str(&ok(&root.minipod(&["image", "inspect", "busybox:1.35"]))).unwrap();
    let manifest = inspect["Digest"].as_str().unwrap();
    // A pod's lease, as minipod-pod writes it through ImageStore::add_lease.
    fs::write(
        root.path().join("leases/pod-123.json"),
        serde_json::json!({"holder": "pod-123", "images": [manifest]}).to_string(),
    )
    .unwrap();
    input_error(
        root.minipod(&["image", "rm", "busybox:1.35"]),
        &[
            "conflict: unable to remove repository reference \"busybox:1.35\" (must force)",
            "pod-123",
        ],
    );
    assert_eq!(
        ok(&root.minipod(&["image", "rm", "-f", "busybox:1.35"])).trim(),
        "Untagged: busybox:1.35"
    );
    // Leased content survives until the lease goes.
    let layers = || {
        fs::read_dir(root.path().join("layers/sha256"))
            .unwrap()
            .count()
    };
    assert!(layers() > 0);
    fs::remove_file(root.path().join("leases/pod-123.json")).unwrap();
    ok(&root.minipod(&["image", "prune"]));
    assert_eq!(layers(), 0);
    assert_eq!(
        fs::read_dir(root.path().join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn rm_then_reload_and_dedupe_layers() {
    let root = TestRoot::new();
    load(&root, "busybox-oci.tar");
    load(&root, "busybox-docker.tar");
    // Same diff_id from both files: one unpacked layer.
    assert_eq!(
        fs::read_dir(root.path().join("layers/sha256"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .count(),
        1
    );
    ok(&root.minipod(&["image", "rm", "busybox:1.35"]));
    assert_eq!(ok(&root.minipod(&["image", "ls", "-q"])), "");
    load(&root, "busybox-oci");
}

#[test]
fn concurrent_loads_are_safe() {
    let root = TestRoot::new();
    let files = [
        "busybox-oci.tar",
        "busybox-docker.tar",
        "layered-oci.tar",
        "layered-docker.tar",
    ];
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            std::process::Command::new(crate::common::minipod_bin())
                .arg("--root")
                .arg(root.path())
                .args(["image", "load", image(f).to_str().unwrap()])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let ls = ok(&root.minipod(&["image", "ls"]));
    assert_eq!(ls.lines().count(), 3, "{ls}");
}

#[test]
fn killed_load_leaves_a_usable_store() {
    let root = TestRoot::new();
    for delay_ms in [5u64, 20, 60] {
        let mut child = std::process::Command::new(crate::common::minipod_bin())
            .arg("--root")
            .arg(root.path())
            .args([
                "image",
                "load",
                image("layered-docker.tar").to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    assert_eq!(
        load(&root, "layered-docker.tar").trim(),
        "Loaded image: layered:1.0"
    );
    ok(&root.minipod(&["image", "prune"]));
    ok(&root.minipod(&["image", "inspect", "layered:1.0"]));
}

fn diff_ids(root: &PodRoot, reference: &str) -> Vec<String> {
    let out = root.minipod(&["image", "inspect", reference]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["diffId"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
                .to_string()
        })
        .collect()
}

// A container start leases the image it runs: after `app:1` is re-tagged and the container
// restarts on the new image, `image rm` refuses it, `rm -f` untags it but keeps its layers
// while the pod lives, and prune frees them once the pod is gone. Privileged.
#[test]
fn a_restart_on_a_retagged_image_leases_it_against_rm_and_prune() {
    let root = or_skip!(PodRoot::new());
    let lower = image("busybox-oci.tar");
    let upper = image("layered-oci.tar");
    let load_as = |file: &Path| {
        let out = root.minipod(&["image", "load", "--name", "app:1", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    load_as(&lower);
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: retag}
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: app:1
    command: [sh, -c, "sleep 0.3; exit 1"]
"#,
    );
    let out = root.apply_with_env(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "100")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let restarts = |p: &serde_json::Value| {
        p["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap_or(0)
    };
    root.wait_for("retag", "first start", |p| {
        p["status"]["containerStatuses"][0]["imageID"].is_string() || restarts(p) >= 1
    });
    // Re-tag: app:1 now names the layered image, whose top layers no pod had leased.
    load_as(&upper);
    let only_upper: Vec<String> = {
        let base = diff_ids(&root, "busybox:1.35");
        diff_ids(&root, "app:1")
            .into_iter()
            .filter(|d| !base.contains(d))
            .collect()
    };
    assert!(!only_upper.is_empty());
    let r0 = restarts(&root.pod_json("retag"));
    root.wait_for("retag", "a restart on the new image", |p| {
        restarts(p) >= r0 + 2
    });

    let out = root.minipod(&["image", "rm", "app:1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("conflict: unable to remove repository reference \"app:1\" (must force)")
            && err.contains("default/retag"),
        "{err}"
    );
    let ready = |d: &str| {
        root.path()
            .join("layers/sha256")
            .join(d)
            .join("ready")
            .exists()
    };
    let out = root.minipod(&["image", "rm", "--force", "app:1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("default/retag"), "{}", stderr(&out));
    let out = root.minipod(&["image", "prune"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for d in &only_upper {
        assert!(ready(d), "layer {d} of the running image was pruned");
    }
    let out = root.minipod(&["delete", "pod", "retag", "--grace-period=0", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = root.minipod(&["image", "prune"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for d in &only_upper {
        assert!(!ready(d), "layer {d} outlived the pod that held it");
    }
}

#[test]
fn names_resolve_before_id_prefixes_and_an_ambiguous_prefix_is_an_error() {
    let root = TestRoot::new();
    load(&root, "busybox-oci.tar");
    load(&root, "layered-oci.tar");
    let ids: Vec<String> = ok(&root.minipod(&["image", "ls", "-q"]))
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    // A tag named like the start of the other image's ID names its own image.
    let prefix = &ids[1][..4];
    let out = root.minipod(&[
        "image",
        "load",
        "--name",
        prefix,
        image("busybox-oci.tar").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_str(&ok(&root.minipod(&["image", "inspect", prefix]))).unwrap();
    assert_eq!(v["Name"], format!("docker.io/library/{prefix}:latest"));
    let busybox: serde_json::Value =
        serde_json::from_str(&ok(&root.minipod(&["image", "inspect", "busybox:1.35"]))).unwrap();
    assert_eq!(v["Id"], busybox["Id"]);

    // Two image IDs sharing their first characters: a record (forged: real IDs rarely
    // collide) whose config digest starts like busybox's.
    let real = busybox["Id"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let mut forged_id = format!("{}{}", &real[..6], "0".repeat(58));
    if forged_id == real {
        forged_id = format!("{}{}", &real[..6], "1".repeat(58));
    }
    let rec = serde_json::json!({
        "name": "docker.io/library/forged:1",
        "manifest": busybox["Digest"],
        "config": format!("sha256:{forged_id}"),
        "platform": "linux/amd64",
        "loaded": 0,
    });
    fs::write(root.path().join("images/forged.json"), rec.to_string()).unwrap();
    input_error(
        root.minipod(&["image", "inspect", &real[..6]]),
        &[&real[..6], "ambiguous", "2 images"],
    );
    // A longer prefix that only one ID has still resolves.
    let v: serde_json::Value =
        serde_json::from_str(&ok(&root.minipod(&["image", "inspect", &real[..12]]))).unwrap();
    assert_eq!(v["Id"], busybox["Id"]);
}

#[test]
fn a_layer_over_the_configured_size_is_refused_and_nothing_is_visible() {
    let root = TestRoot::new();
    let out = std::process::Command::new(crate::common::minipod_bin())
        .arg("--root")
        .arg(root.path())
        .args(["image", "load", image("busybox-oci.tar").to_str().unwrap()])
        .env_remove("MINIPOD_ROOT")
        .env("MINIPOD_MAX_LAYER_SIZE", "100000")
        .output()
        .unwrap();
    input_error(out, &["busybox-oci.tar", "100000 bytes"]);
    assert_eq!(ok(&root.minipod(&["image", "ls", "-q"])), "");
    // The default limit loads it.
    load(&root, "busybox-oci.tar");
}
