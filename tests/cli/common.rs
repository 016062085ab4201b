//! Shared helpers for driving the built binary (no root needed), and smoke tests of it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `minipod` binary cargo built for these tests.
pub fn minipod_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_minipod"))
}

/// `minipod --root ROOT` (more arguments to add), with `MINIPOD_ROOT` cleared.
pub fn minipod_at(root: &Path) -> Command {
    let mut cmd = Command::new(minipod_bin());
    cmd.arg("--root").arg(root).env_remove("MINIPOD_ROOT");
    cmd
}

/// A private root for one test, removed when dropped.
pub struct TestRoot {
    pub dir: tempfile::TempDir,
}

impl TestRoot {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("minipod-test-")
            .tempdir()
            .expect("create temp root");
        TestRoot { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `minipod --root <root> ARGS...` and returns its output.
    pub fn minipod(&self, args: &[&str]) -> Output {
        minipod_at(self.path())
            .args(args)
            .output()
            .expect("run minipod")
    }
}

pub use minipod_testsupport::test_images_dir;

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts `minipod` exited with `code`, showing what it printed if not.
#[track_caller]
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "{}{}", stdout(o), stderr(o));
}

/// Asserts `minipod` exited with `code` and returns its stderr, for the message to be checked.
#[track_caller]
pub fn stderr_of_exit(o: &Output, code: i32) -> String {
    assert_exit(o, code);
    stderr(o)
}

/// Asserts `minipod` succeeded and returns its stdout.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}{}", stdout(o), stderr(o));
    stdout(o)
}

#[test]
fn version_prints_and_exits_zero() {
    let out = Command::new(minipod_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("minipod "));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = Command::new(minipod_bin())
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
