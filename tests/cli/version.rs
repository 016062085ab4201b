//! `minipod version`, `completion` and the generated man pages.

use std::process::Command;

use crate::common::minipod_bin;

fn minipod(args: &[&str]) -> std::process::Output {
    Command::new(minipod_bin()).args(args).output().unwrap()
}

#[test]
fn version_prints_the_crate_version_as_text_and_json() {
    let out = minipod(&["version"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!(
            "minipod version: v{}\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    let out = minipod(&["version", "-o", "json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["minipodVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["libcontainerVersion"], "0.7.0");
}

#[test]
fn completion_scripts_name_the_verbs_and_bash_parses_them() {
    for shell in ["bash", "zsh", "fish"] {
        let out = minipod(&["completion", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for verb in ["run", "port-forward", "logs", "exec"] {
            assert!(script.contains(verb), "{shell} completion lacks {verb}");
        }
        assert!(
            !script.contains("__supervise"),
            "{shell} completes a hidden verb"
        );
    }
    // The bash script must at least be valid bash and register the completion function.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source <({} completion bash) && complete -p minipod",
            minipod_bin().display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("minipod"));
}

#[test]
fn completion_of_an_unknown_shell_is_a_usage_error() {
    let out = minipod(&["completion", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_are_written_for_every_visible_verb() {
    let dir = tempfile::tempdir().unwrap();
    let out = minipod(&["__man", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "minipod.1",
        "minipod-run.1",
        "minipod-exec.1",
        "minipod-image-load.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page} is not a man page");
    }
    assert!(!dir.path().join("minipod-__supervise.1").exists());
}
