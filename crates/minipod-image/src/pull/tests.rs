//! Pulls from a private `docker-registry` on loopback (`minipod_testsupport::registry`).

use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::progress::NoProgress;

use minipod_testsupport::registry;

use registry::{free_port, test_image, Registry};

fn test_images_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/test-images")
}

fn new_store() -> (tempfile::TempDir, ImageStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    (dir, store)
}

fn pull(store: &ImageStore, reference: &str) -> Result<Pulled, PullError> {
    store.pull(reference, &PullOptions::default(), &NoProgress)
}

/// The ID `load` gives the busybox test image.
fn loaded_busybox_id() -> Digest {
    let (_dir, store) = new_store();
    let images = store
        .load(&test_images_dir().join("busybox-docker.tar"), None)
        .unwrap();
    images[0].id().clone()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn pulls_by_tag_then_is_up_to_date_then_by_digest() {
    let reg = Registry::start();
    reg.push(
        &test_image("docker-archive", "busybox-docker.tar"),
        "busybox:1.35",
        false,
    );
    let (_dir, store) = new_store();
    let name = format!("{}/busybox:1.35", reg.host());
    let first = pull(&store, &name).unwrap();
    assert!(!first.up_to_date);
    assert!(first.fetched_blobs >= 2, "config and layer: {first:?}");
    assert_eq!(first.image.id(), &loaded_busybox_id());
    assert_eq!(first.image.platform, "linux/amd64");
    // The image runs: its layer is unpacked.
    assert_eq!(store.layer_dirs(&first.image).unwrap().len(), 1);
    assert_eq!(store.image(&name).unwrap().id(), first.image.id());

    let again = pull(&store, &name).unwrap();
    assert!(again.up_to_date);
    assert_eq!(again.fetched_blobs, 0);

    let digest = reg.tag_digest("busybox", "1.35");
    assert_eq!(first.image.manifest_digest.to_string(), digest);
    let by_digest = pull(&store, &format!("{}/busybox@{digest}", reg.host())).unwrap();
    assert_eq!(by_digest.fetched_blobs, 0);
    assert_eq!(by_digest.image.id(), first.image.id());
    assert!(entries(&store.root().join("tmp")).is_empty());
}

#[test]
fn index_picks_this_host_or_the_asked_platform() {
    if std::env::consts::ARCH != "x86_64" {
        panic!("the multiarch fixture expects an amd64 host");
    }
    let reg = Registry::start();
    reg.push(
        &test_image("oci-archive", "multiarch-oci.tar"),
        "multiarch:1.0",
        true,
    );
    let (_dir, store) = new_store();
    let name = format!("{}/multiarch:1.0", reg.host());
    let amd = pull(&store, &name).unwrap();
    assert_eq!(amd.image.platform, "linux/amd64");
    // The amd64 image of the index is the busybox image.
    assert_eq!(amd.image.id(), &loaded_busybox_id());

    let (_dir2, other) = new_store();
    let options = PullOptions {
        platform: Some("linux/arm64".parse().unwrap()),
        ..PullOptions::default()
    };
    let arm = other.pull(&name, &options, &NoProgress).unwrap();
    assert_eq!(arm.image.platform, "linux/arm64/v8");
    assert_ne!(arm.image.id(), amd.image.id());

    let options = PullOptions {
        platform: Some("linux/s390x".parse().unwrap()),
        ..PullOptions::default()
    };
    let err = other.pull(&name, &options, &NoProgress).unwrap_err();
    assert!(matches!(err, PullError::NoPlatform { .. }), "{err}");
}

#[test]
fn a_tampered_layer_is_refused_and_nothing_is_stored() {
    let reg = Registry::start();
    reg.push(
        &test_image("docker-archive", "busybox-docker.tar"),
        "busybox:1.35",
        false,
    );
    let manifest = reg.tag_digest("busybox", "1.35");
    let data = fs::read(reg.blob_file(manifest.strip_prefix("sha256:").unwrap())).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&data).unwrap();
    let layer = m["layers"][0]["digest"].as_str().unwrap().to_string();
    let file = reg.blob_file(layer.strip_prefix("sha256:").unwrap());
    let mut bytes = fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&file, &bytes).unwrap();

    let (_dir, store) = new_store();
    let err = pull(&store, &format!("{}/busybox:1.35", reg.host())).unwrap_err();
    let chain = {
        let mut s = err.to_string();
        let mut e: &dyn std::error::Error = &err;
        while let Some(next) = e.source() {
            s.push_str(": ");
            s.push_str(&next.to_string());
            e = next;
        }
        s
    };
    assert!(
        matches!(err, PullError::Blobs(BlobError::DigestMismatch { .. })),
        "{chain}"
    );
    assert!(chain.contains(&layer), "{chain}");
    assert!(chain.to_lowercase().contains("digest"), "{chain}");
    for sub in ["blobs/sha256", "images", "tmp"] {
        assert!(entries(&store.root().join(sub)).is_empty(), "{sub}");
    }
}

#[test]
fn unknown_tags_and_unreachable_registries_fail_fast() {
    let reg = Registry::start();
    let (_dir, store) = new_store();
    let err = pull(&store, &format!("{}/busybox:nosuch", reg.host())).unwrap_err();
    assert!(
        matches!(err, PullError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("manifest unknown"), "{err}");
    assert!(!err.is_input());

    let started = Instant::now();
    let err = pull(&store, &format!("127.0.0.1:{}/busybox:1.35", free_port())).unwrap_err();
    assert!(matches!(err, PullError::Manifest { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let err = pull(&store, "Busybox:1.35").unwrap_err();
    assert!(err.is_input(), "{err}");
    assert!(entries(&store.root().join("images")).is_empty());
}

#[test]
fn loopback_registries_are_plain_http() {
    for (domain, loopback) in [
        ("localhost", true),
        ("localhost:5000", true),
        ("127.0.0.1:5000", true),
        ("127.1.2.3", true),
        ("[::1]:5000", true),
        ("docker.io", false),
        ("10.0.0.1:5000", false),
        ("localhost.example.com", false),
    ] {
        assert_eq!(is_loopback_registry(domain), loopback, "{domain}");
    }
}

#[test]
fn platforms_parse_like_containerd() {
    let p: Platform = "linux/x86_64".parse().unwrap();
    assert_eq!(p.to_string(), "linux/amd64");
    let p: Platform = "linux/arm/v7".parse().unwrap();
    assert_eq!(p.variant.as_deref(), Some("v7"));
    for bad in ["linux", "linux/", "linux/amd64/v2/x", "Linux/amd64", ""] {
        assert!(bad.parse::<Platform>().is_err(), "{bad}");
    }
}

#[test]
fn prune_removes_the_staging_folder_of_a_killed_pull() {
    let (_dir, store) = new_store();
    let staging = store.root().join("tmp/pull-123-0-0");
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join(Digest::of(b"x").hex()), b"x").unwrap();
    store.prune().unwrap();
    assert!(entries(&store.root().join("tmp")).is_empty());
}

use registry::{tiny_image, with_reply, FakeRegistry, Reply};

fn sha(data: &[u8]) -> String {
    Digest::of(data).to_string()
}

fn pull_with(
    store: &ImageStore,
    reference: &str,
    options: PullOptions,
) -> Result<Pulled, PullError> {
    store.pull(reference, &options, &NoProgress)
}

#[test]
fn the_fake_registry_serves_a_pullable_image() {
    let (routes, _) = tiny_image(sha);
    let reg = FakeRegistry::start(routes, None);
    let (_dir, store) = new_store();
    let pulled = pull(&store, &format!("{}/tiny:1", reg.host())).unwrap();
    assert_eq!(pulled.fetched_blobs, 2);
}

#[test]
fn an_oversized_manifest_is_refused_while_it_streams() {
    let (routes, _) = tiny_image(sha);
    // 1 GiB of manifest, no Content-Length: the client must hang up early.
    let routes = with_reply(
        routes,
        "/v2/tiny/manifests/1",
        Reply::Endless(
            "application/vnd.oci.image.manifest.v1+json",
            b"{\"schemaVersion\":2,\"x\":\"".to_vec(),
            1 << 30,
        ),
    );
    let reg = FakeRegistry::start(routes, None);
    let (_dir, store) = new_store();
    let err = pull(&store, &format!("{}/tiny:1", reg.host())).unwrap_err();
    assert!(
        matches!(err, PullError::TooLarge { limit, .. } if limit == MAX_JSON),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("manifest is larger than the limit"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(200));
    let written = reg.written.load(std::sync::atomic::Ordering::SeqCst);
    eprintln!("oversized manifest: the registry wrote {written} bytes before the client hung up");
    assert!(written < 4 * MAX_JSON, "the client read {written} bytes");
    assert!(entries(&store.root().join("images")).is_empty());
}

#[test]
fn a_blob_longer_than_its_descriptor_is_cut_off_and_refused() {
    let (routes, layer) = tiny_image(sha);
    let mut prefix = vec![0u8; 1024];
    prefix.extend(b"more than declared");
    let routes = with_reply(
        routes,
        &layer,
        Reply::Endless("application/octet-stream", prefix, 1 << 30),
    );
    let reg = FakeRegistry::start(routes, None);
    let (_dir, store) = new_store();
    let err = pull(&store, &format!("{}/tiny:1", reg.host())).unwrap_err();
    assert!(
        matches!(
            err,
            PullError::Blobs(BlobError::TooLong { declared: 1024, .. })
        ),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(200));
    let written = reg.written.load(std::sync::atomic::Ordering::SeqCst);
    eprintln!("long blob: the registry wrote {written} bytes before the client hung up");
    assert!(written < 64 << 20, "the client read {written} bytes");
    for sub in ["blobs/sha256", "images", "tmp"] {
        assert!(entries(&store.root().join(sub)).is_empty(), "{sub}");
    }
}

#[test]
fn a_stalled_registry_fails_the_pull_after_the_stall_timeout() {
    let (routes, layer) = tiny_image(sha);
    let options = || PullOptions {
        stall_timeout: Some(Duration::from_secs(1)),
        ..PullOptions::default()
    };
    // A manifest that never completes, then a layer that never completes.
    for (path, prefix, len) in [
        ("/v2/tiny/manifests/1".to_string(), b"{".to_vec(), 500),
        (layer.clone(), vec![0u8; 100], 1024),
    ] {
        let reg = FakeRegistry::start(
            with_reply(
                routes.clone(),
                &path,
                Reply::Stall("application/vnd.oci.image.manifest.v1+json", prefix, len),
            ),
            None,
        );
        let (_dir, store) = new_store();
        let started = Instant::now();
        let err = pull_with(&store, &format!("{}/tiny:1", reg.host()), options()).unwrap_err();
        let chain = {
            let mut s = err.to_string();
            let mut src = std::error::Error::source(&err);
            while let Some(e) = src {
                s.push_str(": ");
                s.push_str(&e.to_string());
                src = e.source();
            }
            s
        };
        assert!(chain.contains("sent nothing for 1 s"), "{path}: {chain}");
        assert!(started.elapsed() < Duration::from_secs(10), "{path}");
    }
}

#[test]
fn basic_credentials_are_sent_when_the_registry_asks() {
    let (routes, _) = tiny_image(sha);
    let reg = FakeRegistry::start(routes, Some("minipod:s3cret"));
    let (_dir, store) = new_store();
    let name = format!("{}/tiny:1", reg.host());
    let err = pull(&store, &name).unwrap_err();
    assert!(
        err.to_string().contains("401") || format!("{err:?}").contains("401"),
        "{err:?}"
    );
    let options = PullOptions {
        credentials: Some(("minipod".into(), "s3cret".into())),
        ..PullOptions::default()
    };
    pull_with(&store, &name, options).unwrap();
}
