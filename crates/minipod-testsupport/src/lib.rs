//! Helpers shared by the tests of every minipod crate and by the end-to-end tests in `tests/`.
//! Only ever a dev-dependency: nothing here is linked into the `minipod` binary.

#![forbid(unsafe_code)]

pub mod registry;

use std::path::{Path, PathBuf};

/// The folder `scripts/build-test-images.sh` writes the test images into (`build/test-images`
/// at the top of the workspace).
pub fn test_images_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/test-images")
}

/// The test image `name` in [`test_images_dir`], which must exist.
#[track_caller]
pub fn test_image_path(name: &str) -> PathBuf {
    let p = test_images_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing (run scripts/build-test-images.sh)",
        p.display()
    );
    p
}

/// `let x = or_skip!(expr);`: the value inside the `Option` `expr`, or a return from the test
/// when it is None (a privileged test that [`privileged`] says to skip).
#[macro_export]
macro_rules! or_skip {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return,
        }
    };
}

/// The one gate of privileged tests (namespaces, mounts, cgroups): true when running as root.
/// Not root, a test fails loudly unless `MINIPOD_SKIP_PRIVILEGED=1` says to skip it, in which
/// case this prints why and returns false (CI runs as root, so nothing is skipped silently).
pub fn privileged() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var("MINIPOD_SKIP_PRIVILEGED").as_deref() == Ok("1") {
        eprintln!("skipped: not root and MINIPOD_SKIP_PRIVILEGED=1");
        return false;
    }
    panic!("this test needs root (set MINIPOD_SKIP_PRIVILEGED=1 to skip it explicitly)");
}
