//! `minipod image pull` and pulls made by `run` (imagePullPolicy), against a private
//! registry on loopback (tests/cli/registry.rs).

use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::{ok, test_images_dir, TestRoot};
use crate::pods::{stderr, stdout, PodRoot};
use minipod_testsupport::registry::{free_port, test_image, Registry};

fn with_busybox() -> Registry {
    let reg = Registry::start();
    reg.push(
        &test_image("docker-archive", "busybox-docker.tar"),
        "busybox:1.35",
        false,
    );
    reg
}

/// An auth file at `path` with minipod:s3cret for registry `key` (podman's format).
fn write_auth(path: impl AsRef<std::path::Path>, key: &str) {
    let auth = format!(r#"{{"auths": {{"{key}": {{"auth": "bWluaXBvZDpzM2NyZXQ="}}}}}}"#);
    std::fs::write(path, auth).unwrap();
}

/// An error: the exit code and one `error:` line on stderr (after the per-blob progress
/// lines of what was fetched before it), returned.
fn failed(o: &Output, code: i32) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{}{err}", stdout(o));
    let other: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("Copying blob "))
        .collect();
    assert_eq!(other.len(), 1, "{err}");
    assert!(other[0].starts_with("error: "), "{err}");
    other[0].to_string()
}

fn ids(root: &TestRoot) -> String {
    ok(&root.minipod(&["image", "ls", "-q"]))
}

#[test]
fn pull_by_tag_and_digest_matches_load_and_repull_is_up_to_date() {
    let reg = with_busybox();
    let root = TestRoot::new();
    let name = format!("{}/busybox:1.35", reg.host());
    let out = ok(&root.minipod(&["image", "pull", &name]));
    let digest = reg.tag_digest("busybox", "1.35");
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}")),
        "{out}"
    );
    let loaded = TestRoot::new();
    let tar = test_images_dir().join("busybox-docker.tar");
    ok(&loaded.minipod(&["image", "load", tar.to_str().unwrap()]));
    assert_eq!(ids(&root), ids(&loaded));
    let ls = ok(&root.minipod(&["image", "ls"]));
    assert!(
        ls.lines()
            .any(|l| l.starts_with(&format!("{}/busybox ", reg.host())) && l.contains("1.35")),
        "{ls}"
    );

    let again = root.minipod(&["image", "pull", &name]);
    let out = ok(&again);
    assert!(
        out.contains(&format!("Status: Image is up to date for {name}")),
        "{out}"
    );
    assert!(!stderr(&again).contains(" done"), "{}", stderr(&again));

    let pinned = format!("{}/busybox@{digest}", reg.host());
    ok(&root.minipod(&["image", "pull", "--plain-http", &pinned]));
    let inspect = ok(&root.minipod(&["image", "inspect", &pinned]));
    assert!(inspect.contains(&digest), "{inspect}");
}

#[test]
fn pull_of_an_index_picks_linux_amd64() {
    let reg = Registry::start();
    reg.push(
        &test_image("oci-archive", "multiarch-oci.tar"),
        "multiarch:1.0",
        true,
    );
    let root = TestRoot::new();
    let name = format!("{}/multiarch:1.0", reg.host());
    ok(&root.minipod(&["image", "pull", &name]));
    let v: serde_json::Value =
        serde_json::from_str(&ok(&root.minipod(&["image", "inspect", &name]))).unwrap();
    assert_eq!(v["Platform"], "linux/amd64");
    let arm = TestRoot::new();
    ok(&arm.minipod(&["image", "pull", "--platform", "linux/arm64", &name]));
    let v: serde_json::Value =
        serde_json::from_str(&ok(&arm.minipod(&["image", "inspect", &name]))).unwrap();
    assert_eq!(v["Platform"], "linux/arm64/v8");
}

#[test]
fn pull_errors_are_one_line_with_the_right_exit_code() {
    let reg = with_busybox();
    let root = TestRoot::new();
    let err = failed(
        &root.minipod(&["image", "pull", &format!("{}/busybox:nosuch", reg.host())]),
        1,
    );
    assert!(err.contains("busybox:nosuch"), "{err}");

    let started = Instant::now();
    let unreachable = format!("127.0.0.1:{}/busybox:1.35", free_port());
    let err = failed(&root.minipod(&["image", "pull", &unreachable]), 1);
    assert!(err.contains(&unreachable), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));

    failed(&root.minipod(&["image", "pull", "Not/Valid:ref"]), 2);
    failed(
        &root.minipod(&["image", "pull", "--platform", "linux", "busybox"]),
        2,
    );
    assert_eq!(ids(&root), "");
}

#[test]
fn a_corrupted_blob_in_the_registry_is_refused_and_nothing_is_stored() {
    let reg = with_busybox();
    let manifest = reg.tag_digest("busybox", "1.35");
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(reg.blob_file(manifest.strip_prefix("sha256:").unwrap())).unwrap(),
    )
    .unwrap();
    let layer = m["layers"][0]["digest"].as_str().unwrap().to_string();
    let file = reg.blob_file(layer.strip_prefix("sha256:").unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();

    let root = TestRoot::new();
    let err = failed(
        &root.minipod(&["image", "pull", &format!("{}/busybox:1.35", reg.host())]),
        1,
    );
    assert!(err.contains(&layer), "{err}");
    assert!(err.to_lowercase().contains("digest"), "{err}");
    assert_eq!(ids(&root), "");
    for sub in ["blobs/sha256", "images", "tmp"] {
        let left: Vec<_> = std::fs::read_dir(root.path().join(sub)).unwrap().collect();
        assert!(left.is_empty(), "{sub}: {left:?}");
    }
}

fn pod(image: &str, policy: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: pulled}}\nspec:\n  restartPolicy: Never\n  containers:\n  - {{name: main, image: \"{image}\", imagePullPolicy: {policy}, command: [sh, -c, \"echo hi\"]}}\n"
    )
}

#[test]
fn run_pulls_a_missing_image_if_not_present() {
    let reg = with_busybox();
    let root = or_skip!(PodRoot::new());
    let image = format!("{}/busybox:1.35", reg.host());
    let file = root.manifest("pod.yaml", &pod(&image, "IfNotPresent"));
    let out = root.run(&file, &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("Copying blob"), "{}", stderr(&out));
    assert!(stdout(&out).contains("Completed"), "{}", stdout(&out));
    let ls = ok(&root.minipod(&["image", "ls"]));
    assert!(ls.contains(&format!("{}/busybox", reg.host())), "{ls}");
}

#[test]
fn run_refuses_a_missing_image_with_never_and_reports_failed_pulls() {
    let reg = with_busybox();
    let root = or_skip!(PodRoot::new());
    let image = format!("{}/busybox:1.35", reg.host());
    let file = root.manifest("never.yaml", &pod(&image, "Never"));
    let err = failed(&root.run(&file, &[]), 2);
    assert!(err.contains("ErrImageNeverPull"), "{err}");
    assert!(err.contains("\"main\"") && err.contains(&image), "{err}");

    let missing = format!("{}/busybox:nosuch", reg.host());
    let file = root.manifest("always.yaml", &pod(&missing, "Always"));
    let err = failed(&root.run(&file, &[]), 1);
    assert!(err.contains("Pod \"pulled\""), "{err}");
    assert!(err.contains("container \"main\""), "{err}");
    assert!(err.contains(&missing), "{err}");
    let pods = root.minipod(&["get", "pods"]);
    assert!(
        stderr(&pods).contains("No resources found"),
        "{}",
        stderr(&pods)
    );
}

use crate::common::minipod_bin;
use minipod_testsupport::or_skip;
use minipod_testsupport::registry::{tiny_image, with_reply, FakeRegistry, Reply};

fn sha(data: &[u8]) -> String {
    minipod_image::Digest::of(data).to_string()
}

/// `minipod --root ROOT ARGS` with a private HOME and no auth variables but `env`, and
/// `stdin` piped in.
fn minipod_with(root: &TestRoot, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new(minipod_bin());
    cmd.arg("--root")
        .arg(root.path())
        .args(args)
        .env_remove("MINIPOD_ROOT")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("DOCKER_CONFIG")
        .env("HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn credentials_come_from_an_auth_file_or_stdin_never_only_the_command_line() {
    let (routes, _) = tiny_image(sha);
    let reg = FakeRegistry::start(routes, Some("minipod:s3cret"));
    let name = format!("{}/tiny:1", reg.host());
    let root = TestRoot::new();

    // No credentials: the registry's 401, one line.
    let err = failed(&minipod_with(&root, &["image", "pull", &name], &[], ""), 1);
    assert!(
        err.contains("401") || err.contains("authentication"),
        "{err}"
    );

    // --authfile in podman's format (base64 of minipod:s3cret).
    let auth = root.path().join("auth.json");
    write_auth(&auth, &reg.host());
    let auth_s = auth.to_str().unwrap();
    ok(&minipod_with(
        &root,
        &["image", "pull", "--authfile", auth_s, &name],
        &[],
        "",
    ));
    ok(&root.minipod(&["image", "rm", &name]));

    // REGISTRY_AUTH_FILE, then docker's ~/.docker/config.json.
    ok(&minipod_with(
        &root,
        &["image", "pull", &name],
        &[("REGISTRY_AUTH_FILE", auth_s)],
        "",
    ));
    ok(&root.minipod(&["image", "rm", &name]));
    let docker = root.path().join("home/.docker");
    std::fs::create_dir_all(&docker).unwrap();
    write_auth(
        docker.join("config.json"),
        &format!("http://{}/v1/", reg.host()),
    );
    ok(&minipod_with(&root, &["image", "pull", &name], &[], ""));
    ok(&root.minipod(&["image", "rm", &name]));
    std::fs::remove_file(docker.join("config.json")).unwrap();

    // docker login style: the password on stdin.
    let out = minipod_with(
        &root,
        &[
            "image",
            "pull",
            "--username",
            "minipod",
            "--password-stdin",
            &name,
        ],
        &[],
        "s3cret\n",
    );
    ok(&out);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    ok(&root.minipod(&["image", "rm", &name]));

    // --creds still works, with a warning.
    let out = minipod_with(
        &root,
        &["image", "pull", "--creds", "minipod:s3cret", &name],
        &[],
        "",
    );
    ok(&out);
    assert!(
        stderr(&out).contains("warning: --creds"),
        "{}",
        stderr(&out)
    );

    // A malformed auth file: its path and what is wrong, exit 2.
    for (content, what) in [
        (r#"{"auths": {"x": "y"}, "#.to_string(), "invalid JSON"),
        (
            format!(r#"{{"auths": {{"{}": {{"auth": "!!"}}}}}}"#, reg.host()),
            "not valid base64",
        ),
    ] {
        std::fs::write(&auth, content).unwrap();
        let pull = ["image", "pull", "--authfile", auth_s, &name];
        let err = failed(&minipod_with(&root, &pull, &[], ""), 2);
        assert!(err.contains(auth_s) && err.contains(what), "{what}: {err}");
    }
    let missing = root.path().join("missing.json");
    let err = failed(
        &minipod_with(
            &root,
            &[
                "image",
                "pull",
                "--authfile",
                missing.to_str().unwrap(),
                &name,
            ],
            &[],
            "",
        ),
        2,
    );
    assert!(err.contains("missing.json"), "{err}");
}

#[test]
fn a_misbehaving_registry_fails_the_pull_with_one_line() {
    let (routes, layer) = tiny_image(sha);
    let root = TestRoot::new();
    // An endless manifest.
    let reg = FakeRegistry::start(
        with_reply(
            routes.clone(),
            "/v2/tiny/manifests/1",
            Reply::Endless(
                "application/vnd.oci.image.manifest.v1+json",
                b"{".to_vec(),
                1 << 30,
            ),
        ),
        None,
    );
    let err = failed(
        &root.minipod(&["image", "pull", &format!("{}/tiny:1", reg.host())]),
        1,
    );
    assert!(err.contains("manifest is larger than the limit"), "{err}");
    // A layer that stalls halfway: the stall timeout from the environment.
    let reg = FakeRegistry::start(
        with_reply(
            routes,
            &layer,
            Reply::Stall("application/octet-stream", vec![0; 10], 1024),
        ),
        None,
    );
    let started = Instant::now();
    let err = failed(
        &minipod_with(
            &root,
            &["image", "pull", &format!("{}/tiny:1", reg.host())],
            &[("MINIPOD_PULL_STALL_TIMEOUT", "1")],
            "",
        ),
        1,
    );
    assert!(err.contains("sent nothing for 1 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(ids(&root), "");
}

// `run` pulls with the credentials of the default auth files, as the kubelet uses the node's
// docker config; a malformed file fails the pull naming it, before any pod exists.
#[test]
fn run_pulls_with_credentials_from_registry_auth_file() {
    let (routes, _) = tiny_image(sha);
    let reg = FakeRegistry::start(routes, Some("minipod:s3cret"));
    let root = or_skip!(PodRoot::new());
    let image = format!("{}/tiny:1", reg.host());
    let auth = root.path().join("auth.json");
    std::fs::write(&auth, r#"{"auths": {"#).unwrap();
    let file = root.manifest("pod.yaml", &pod(&image, "IfNotPresent"));
    let auth_s = auth.to_str().unwrap();
    let err = failed(&root.run(&file, &[("REGISTRY_AUTH_FILE", auth_s)]), 2);
    assert!(
        err.contains("ErrImagePull") && err.contains(auth_s),
        "{err}"
    );
    assert!(stdout(&root.minipod(&["get", "pods"])).lines().count() <= 1);
    write_auth(&auth, &reg.host());
    // The image has no shell: the pod fails, but only after the pull succeeded.
    let _ = root.run(&file, &[("REGISTRY_AUTH_FILE", auth_s)]);
    let ls = ok(&root.minipod(&["image", "ls"]));
    assert!(ls.contains(&format!("{}/tiny", reg.host())), "{ls}");
}
