//! Running one plugin: the `CNI_*` environment, the configuration on stdin, the result or the
//! plugin's error on stdout (CNI spec 1.0.0 "Protocol parameters", "Error"; libcni's
//! `invoke.RawExec`, which also passes the caller's own environment through).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::CniError;

/// The most a plugin may print; results are a few KiB.
const MAX_OUTPUT: u64 = 1 << 20;

/// `CNI_COMMAND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Add,
    Del,
    Check,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Add => "ADD",
            Verb::Del => "DEL",
            Verb::Check => "CHECK",
        }
    }
}

/// The parameters every plugin of one attachment gets.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    pub command: Verb,
    pub container_id: &'a str,
    /// Empty when the namespace is gone (allowed for `DEL` only).
    pub netns: &'a str,
    pub ifname: &'a str,
    /// `CNI_ARGS`: `K=V` pairs joined with `;`.
    pub args: &'a str,
    /// Directories searched for plugins, also passed as `CNI_PATH`.
    pub plugin_path: &'a [PathBuf],
    pub timeout: Duration,
}

/// Finds plugin `name` in the search path: the first directory holding an executable file of
/// that name (libcni `invoke.FindInPath`).
pub fn find_plugin(name: &str, path: &[PathBuf]) -> Result<PathBuf, CniError> {
    use std::os::unix::fs::PermissionsExt;
    for dir in path {
        let candidate = dir.join(name);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(CniError::PluginNotFound {
        plugin: name.to_string(),
        path: join_path(path),
    })
}

fn join_path(path: &[PathBuf]) -> String {
    path.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Runs `plugin` with `config` on stdin. Returns its parsed stdout (`Value::Null` when it
/// printed nothing, as `DEL` may), or the plugin's own error message.
pub fn run_plugin(
    plugin: &Path,
    plugin_type: &str,
    config: &Value,
    inv: &Invocation<'_>,
) -> Result<Value, CniError> {
    let stdin_bytes = serde_json::to_vec(config).map_err(|e| CniError::Plugin {
        plugin: plugin_type.to_string(),
        command: inv.command.as_str(),
        message: format!("encode its configuration: {e}"),
    })?;
    let mut child = Command::new(plugin)
        .env("CNI_COMMAND", inv.command.as_str())
        .env("CNI_CONTAINERID", inv.container_id)
        .env("CNI_NETNS", inv.netns)
        .env("CNI_IFNAME", inv.ifname)
        .env("CNI_ARGS", inv.args)
        .env("CNI_PATH", join_path(inv.plugin_path))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own: a plugin that runs out of time is killed with everything it
        // started (iptables, a shell's children), not just the first process.
        .process_group(0)
        .spawn()
        .map_err(|source| CniError::Io {
            what: format!("start the CNI plugin {}", plugin.display()),
            source,
        })?;
    // The configuration is small (far below a pipe's buffer), so writing it before reading
    // the output cannot deadlock; the pipe is closed so the plugin sees end of input.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&stdin_bytes);
    }
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || read_capped(stdout));
    let err_reader = std::thread::spawn(move || read_capped(stderr));
    let deadline = Instant::now() + inv.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let group = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait();
                return Err(CniError::Plugin {
                    plugin: plugin_type.to_string(),
                    command: inv.command.as_str(),
                    message: format!("did not finish within {:?}", inv.timeout),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(source) => {
                return Err(CniError::Io {
                    what: format!("wait for the CNI plugin {}", plugin.display()),
                    source,
                })
            }
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(CniError::Plugin {
            plugin: plugin_type.to_string(),
            command: inv.command.as_str(),
            message: plugin_error_message(&stdout, &stderr, &status.to_string()),
        });
    }
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&stdout).map_err(|e| CniError::Plugin {
        plugin: plugin_type.to_string(),
        command: inv.command.as_str(),
        message: format!("printed a result that is not JSON: {e}"),
    })
}

fn read_capped(r: Option<impl Read>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(r) = r {
        let _ = r.take(MAX_OUTPUT).read_to_end(&mut buf);
    }
    buf
}

/// The plugin's own words: the spec's error object (`msg`, then `details`), else whatever it
/// wrote to stderr or stdout, else how it exited.
pub fn plugin_error_message(stdout: &[u8], stderr: &[u8], exit: &str) -> String {
    if let Ok(Value::Object(err)) = serde_json::from_slice::<Value>(stdout) {
        let msg = err.get("msg").and_then(Value::as_str).unwrap_or_default();
        let details = err
            .get("details")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let code = err.get("code").and_then(Value::as_u64);
        let text = match (msg.is_empty(), details.is_empty()) {
            (false, false) => format!("{msg}: {details}"),
            (false, true) => msg.to_string(),
            (true, false) => details.to_string(),
            (true, true) => String::new(),
        };
        if !text.is_empty() {
            return match code {
                Some(code) => format!("{text} (code {code})"),
                None => text,
            };
        }
    }
    for text in [stderr, stdout] {
        let text = String::from_utf8_lossy(text);
        let text = text.trim();
        if !text.is_empty() {
            return text.to_string();
        }
    }
    format!("failed ({exit}) without a message")
}
