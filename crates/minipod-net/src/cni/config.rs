//! Network configuration lists (`.conflist`) and the per-plugin configuration built from them.
//!
//! CNI spec 1.0.0, "Configuration format" and "Execution of network configurations"; libcni
//! `conf.go` (which file is used) and `api.go` `buildOneConfig`/`injectRuntimeConfig` (what a
//! plugin receives on stdin).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::CniError;

/// Versions of the spec whose configuration and result formats this client reads. The result
/// fields used here (`interfaces`, `ips`, `routes`, `dns`) have the same shape in all of them.
pub const SUPPORTED_VERSIONS: [&str; 4] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// One `.conflist`: a named network made of plugins run in order.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkList {
    pub name: String,
    pub cni_version: String,
    /// Each plugin's own configuration object, as written in the file.
    pub plugins: Vec<Map<String, Value>>,
    /// The whole list as read, kept so that a `DEL` long after can use exactly what `ADD` used.
    pub raw: Value,
    /// Where it was read from (for error messages).
    pub source: PathBuf,
}

impl NetworkList {
    /// Parses a configuration list; every error names the file and the field.
    pub fn parse(bytes: &[u8], source: &Path) -> Result<NetworkList, CniError> {
        let raw: Value = serde_json::from_slice(bytes).map_err(|e| CniError::Config {
            path: source.to_path_buf(),
            message: format!("not a JSON network configuration list: {e}"),
        })?;
        NetworkList::from_value(raw, source)
    }

    /// Checks a list already read as JSON (the copy kept in an attachment's cache, say).
    pub fn from_value(raw: Value, source: &Path) -> Result<NetworkList, CniError> {
        let bad = |message: String| CniError::Config {
            path: source.to_path_buf(),
            message,
        };
        let obj = raw
            .as_object()
            .ok_or_else(|| bad("a network configuration list must be a JSON object".into()))?;
        let name = match obj.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(bad("field name: a non-empty string is required".into())),
        };
        let cni_version = match obj.get("cniVersion") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(bad("field cniVersion: a string is required".into())),
        };
        if !SUPPORTED_VERSIONS.contains(&cni_version.as_str()) {
            return Err(bad(format!(
                "field cniVersion: {cni_version:?} is not supported (supported: {})",
                SUPPORTED_VERSIONS.join(", ")
            )));
        }
        let plugins = match obj.get("plugins") {
            Some(Value::Array(list)) if !list.is_empty() => list,
            _ => return Err(bad("field plugins: a non-empty list is required".into())),
        };
        let mut out = Vec::with_capacity(plugins.len());
        for (i, p) in plugins.iter().enumerate() {
            let p = p
                .as_object()
                .ok_or_else(|| bad(format!("field plugins[{i}]: must be an object")))?;
            match p.get("type") {
                Some(Value::String(t)) if is_plugin_name(t) => {}
                _ => {
                    return Err(bad(format!(
                        "field plugins[{i}].type: a plugin name (no '/') is required"
                    )))
                }
            }
            out.push(p.clone());
        }
        Ok(NetworkList {
            name,
            cni_version,
            plugins: out,
            raw: raw.clone(),
            source: source.to_path_buf(),
        })
    }

    /// Reads the list a directory selects: the first `*.conflist` in lexical order of file
    /// name (libcni `ConfFiles` + `sort.Strings`). `Ok(None)` when there is none.
    pub fn load_first(dir: &Path) -> Result<Option<NetworkList>, CniError> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CniError::Io {
                    what: format!("read the directory {}", dir.display()),
                    source,
                })
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".conflist"))
            .collect();
        names.sort();
        let Some(first) = names.first() else {
            return Ok(None);
        };
        let path = dir.join(first);
        let bytes = fs::read(&path).map_err(|source| CniError::Io {
            what: format!("read {}", path.display()),
            source,
        })?;
        NetworkList::parse(&bytes, &path).map(Some)
    }

    /// The plugin binary name of plugin `i`.
    pub fn plugin_type(&self, i: usize) -> &str {
        self.plugins[i]
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// What plugin `i` reads on stdin: its own object with the list's `name` and `cniVersion`,
    /// `prevResult` when there is one, and `runtimeConfig` holding only the capability
    /// arguments the plugin declares in `capabilities` (libcni injectRuntimeConfig).
    pub fn plugin_config(
        &self,
        i: usize,
        prev_result: Option<&Value>,
        capability_args: &Map<String, Value>,
    ) -> Value {
        let mut conf = self.plugins[i].clone();
        conf.insert("name".into(), Value::String(self.name.clone()));
        conf.insert("cniVersion".into(), Value::String(self.cni_version.clone()));
        match prev_result {
            Some(prev) => {
                conf.insert("prevResult".into(), prev.clone());
            }
            None => {
                conf.remove("prevResult");
            }
        }
        let declared = conf.get("capabilities").and_then(Value::as_object).cloned();
        let mut runtime = Map::new();
        if let Some(declared) = declared {
            for (cap, on) in declared {
                if on.as_bool() == Some(true) {
                    if let Some(arg) = capability_args.get(&cap) {
                        runtime.insert(cap, arg.clone());
                    }
                }
            }
        }
        if runtime.is_empty() {
            conf.remove("runtimeConfig");
        } else {
            conf.insert("runtimeConfig".into(), Value::Object(runtime));
        }
        Value::Object(conf)
    }
}

/// A plugin `type` is a file name looked up in the plugin path, never a path.
fn is_plugin_name(t: &str) -> bool {
    !t.is_empty() && !t.contains('/') && t != "." && t != ".."
}
