//! Unit tests of `layers.rs`.

use std::io::Write;

use super::*;
use crate::testutil::TarBuilder;
use minipod_testsupport::privileged;

#[test]
fn a_layer_is_synced_before_its_ready_marker_which_is_synced_too() {
    if !privileged() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut t = TarBuilder::new();
    t.file("a", b"hello");
    let tar = t.finish();
    let blob_path = tmp.path().join("blob");
    fs::write(&blob_path, &tar).unwrap();
    let cache = LayerCache::new(tmp.path().join("layers"), UnpackLimits::default());
    fs::create_dir(cache.dir()).unwrap();
    let job = LayerJob {
        blob: Digest::of(&tar),
        blob_path,
        media_type: MediaType::ImageLayer,
        diff_id: Digest::of(&tar),
    };
    let events = durable::events_of(|| cache.ensure(&job).unwrap());
    let layer = cache.dir().join(job.diff_id.hex());
    assert_eq!(
        events,
        [
            format!("fs {}", layer.join("fs").display()),
            "file".to_string(),
            format!("rename {}", layer.join("ready").display()),
            format!("dir {}", layer.display()),
            format!("dir {}", cache.dir().display()),
        ]
    );
    assert!(cache.is_ready(&job.diff_id));
    assert!(!layer.join("ready.tmp").exists());
}

/// A gzip layer whose tar is followed by 64 MiB of garbage (a few KiB compressed).
#[test]
fn trailing_garbage_after_the_tar_end_is_not_decompressed() {
    if !privileged() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut t = TarBuilder::new();
    t.file("a", b"hello");
    let mut tar = t.finish();
    let blob_path = tmp.path().join("blob");
    let mut gz = flate2::write::GzEncoder::new(
        File::create(&blob_path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&tar).unwrap();
    let chunk = vec![b'Z'; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&chunk).unwrap();
    }
    gz.finish().unwrap();
    tar.extend(std::iter::repeat_n(b'Z', 64 << 20));
    let cache = LayerCache::new(tmp.path().join("layers"), UnpackLimits::default());
    fs::create_dir(cache.dir()).unwrap();
    let job = LayerJob {
        blob: Digest::of(b"blob"),
        blob_path,
        media_type: MediaType::ImageLayerGzip,
        // The digest of everything: only a full drain would match it.
        diff_id: Digest::of(&tar),
    };
    let start = std::time::Instant::now();
    let err = cache.ensure(&job).unwrap_err();
    assert!(
        matches!(
            err,
            LayerError::Unpack {
                source: UnpackError::Frame(TarLimitError::Trailing { .. }),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("layer"), "{err}");
    assert!(!cache.is_ready(&job.diff_id));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
