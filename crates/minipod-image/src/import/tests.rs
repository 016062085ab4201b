//! Manifest and digest attacks on import, and format checks.

use std::fs;
use std::path::Path;

use crate::digest::Digest;
use crate::store::{ImageStore, LoadError};
use crate::testutil::TarBuilder;

fn layer() -> Vec<u8> {
    let mut t = TarBuilder::new();
    t.file("hello", b"hi\n");
    t.finish()
}

fn put(dir: &Path, data: &[u8]) -> (String, usize) {
    let d = Digest::of(data);
    fs::write(dir.join("blobs/sha256").join(d.hex()), data).unwrap();
    (d.to_string(), data.len())
}

/// Writes an OCI layout with one image; `edit` may change the manifest JSON before writing.
fn layout(dir: &Path, config_pad: usize, edit: impl FnOnce(&mut serde_json::Value)) {
    fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let l = layer();
    let (ld, ls) = put(dir, &l);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(&l).to_string()]},
        "pad": "x".repeat(config_pad),
    });
    let (cd, cs) = put(dir, config.to_string().as_bytes());
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls}],
    });
    edit(&mut manifest);
    let (md, ms) = put(dir, manifest.to_string().as_bytes());
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
        "annotations": {"io.containerd.image.name": "docker.io/library/t:1"}}]});
    fs::write(dir.join("index.json"), index.to_string()).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

fn load(dir: &Path) -> Result<(), LoadError> {
    let store_dir = dir.parent().unwrap().join("store");
    let store = ImageStore::open(&store_dir).unwrap();
    store.load(dir, None).map(|_| ())
}

#[test]
fn valid_layout_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    layout(&dir, 0, |_| {});
    load(&dir).unwrap();
}

#[test]
fn digest_with_path_tricks_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    layout(&dir, 0, |m| {
        m["layers"][0]["digest"] = "sha256:../../x".into()
    });
    let err = load(&dir).unwrap_err();
    assert!(err.is_input(), "{err}");
}

#[test]
fn blob_longer_than_declared_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    layout(&dir, 0, |m| {
        let size = m["layers"][0]["size"].as_u64().unwrap();
        m["layers"][0]["size"] = (size - 1).into();
    });
    let err = load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("is longer than the") && err.contains("bytes its descriptor declares"),
        "{err}"
    );
}

#[test]
fn blob_not_matching_digest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    let mut hex = String::new();
    layout(&dir, 0, |m| {
        let d = m["layers"][0]["digest"].as_str().unwrap();
        hex = d.trim_start_matches("sha256:").to_string();
    });
    let p = dir.join("blobs/sha256").join(&hex);
    let mut data = fs::read(&p).unwrap();
    data[600] ^= 1;
    fs::write(&p, data).unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(
        err.contains(&hex) && err.contains("does not match"),
        "{err}"
    );
}

#[test]
fn huge_config_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    layout(&dir, 9 << 20, |_| {});
    let err = load(&dir).unwrap_err().to_string();
    assert!(err.contains("limit"), "{err}");
}

#[test]
fn docker_manifest_layer_path_escape_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    fs::create_dir_all(&dir).unwrap();
    fs::write(tmp.path().join("x"), layer()).unwrap();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(&layer()).to_string()]}});
    fs::write(dir.join("c.json"), config.to_string()).unwrap();
    let manifest =
        serde_json::json!([{"Config": "c.json", "RepoTags": ["t:1"], "Layers": ["../x"]}]);
    fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(err.contains("bad path"), "{err}");
}

#[test]
fn diff_id_mismatch_is_refused_and_layer_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("l.tar"), layer()).unwrap();
    let wrong = Digest::of(b"other");
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [wrong.to_string()]}});
    fs::write(dir.join("c.json"), config.to_string()).unwrap();
    let manifest =
        serde_json::json!([{"Config": "c.json", "RepoTags": ["t:1"], "Layers": ["l.tar"]}]);
    fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(err.contains(&wrong.to_string()), "{err}");
    let layers = tmp.path().join("store/layers/sha256");
    assert!(!layers.join(wrong.hex()).exists());
    assert!(fs::read_dir(tmp.path().join("store/images"))
        .unwrap()
        .next()
        .is_none());
}
