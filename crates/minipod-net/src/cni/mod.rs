//! A CNI client that follows the CNI spec 1.0.0 and libcni's behaviour.
//!
//! `ADD` runs each plugin of a [`NetworkList`] in order, giving each the previous one's result
//! as `prevResult`; `DEL` runs them in reverse order with the cached result and the cached
//! capability arguments (portmap removes nothing without its `portMappings`), also when the
//! namespace is already gone (`CNI_NETNS` empty). What an attachment needs for its `DEL` — the
//! list as it was, the arguments, the result — is written to a cache file before `ADD` runs
//! and again with the result after, atomically, so a crash at any point leaves enough behind
//! to undo it (libcni keeps the same in `/var/lib/cni/results`; minipod keeps it in the pod's
//! own state).

pub mod config;
pub mod exec;
pub mod result;

#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use config::NetworkList;
pub use exec::{find_plugin, Invocation, Verb};
pub use result::{sandbox_ips, Assigned};

/// Where plugins are looked for unless configured: Debian's package, then the upstream default.
pub const DEFAULT_PLUGIN_PATH: [&str; 2] = ["/usr/lib/cni", "/opt/cni/bin"];

/// How long one plugin may run before it is killed and the step fails.
pub const DEFAULT_PLUGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The cache's `kind`, as libcni names its own format.
const CACHE_KIND: &str = "cniCacheV1";

#[derive(Debug, thiserror::Error)]
pub enum CniError {
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("CNI plugin {plugin:?} not found in {path}")]
    PluginNotFound { plugin: String, path: String },
    #[error("CNI plugin {plugin} ({command}): {message}")]
    Plugin {
        plugin: String,
        command: &'static str,
        message: String,
    },
    #[error("{path} is not a CNI attachment cache: {message}")]
    Cache { path: PathBuf, message: String },
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// How plugins are found and run.
#[derive(Debug, Clone)]
pub struct CniRunner {
    pub plugin_path: Vec<PathBuf>,
    pub timeout: Duration,
}

impl Default for CniRunner {
    fn default() -> Self {
        CniRunner {
            plugin_path: DEFAULT_PLUGIN_PATH.iter().map(PathBuf::from).collect(),
            timeout: DEFAULT_PLUGIN_TIMEOUT,
        }
    }
}

/// One network interface of one sandbox, and everything its `DEL` needs: what libcni caches
/// per attachment (`cachedInfo`), with the list itself instead of its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub kind: String,
    pub container_id: String,
    pub if_name: String,
    pub network_name: String,
    /// The namespace path given to `ADD`.
    pub netns: String,
    pub cni_args: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub capability_args: Map<String, Value>,
    /// The whole `.conflist` `ADD` used.
    pub config: Value,
    /// The last plugin's result; absent until `ADD` has finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

impl Attachment {
    /// A new attachment of `list` for sandbox `container_id` in `netns`.
    pub fn new(
        list: &NetworkList,
        container_id: &str,
        netns: &Path,
        if_name: &str,
        cni_args: Vec<(String, String)>,
        capability_args: Map<String, Value>,
    ) -> Attachment {
        Attachment {
            kind: CACHE_KIND.to_string(),
            container_id: container_id.to_string(),
            if_name: if_name.to_string(),
            network_name: list.name.clone(),
            netns: netns.display().to_string(),
            cni_args,
            capability_args,
            config: list.raw.clone(),
            result: None,
        }
    }

    /// The addresses the network gave the sandbox (empty before `ADD` finished).
    pub fn ips(&self) -> Vec<Assigned> {
        self.result.as_ref().map(sandbox_ips).unwrap_or_default()
    }

    /// Reads a cache file; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<Attachment>, CniError> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CniError::Io {
                    what: format!("read {}", path.display()),
                    source,
                })
            }
        };
        let a: Attachment = serde_json::from_slice(&bytes).map_err(|e| CniError::Cache {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if a.kind != CACHE_KIND {
            return Err(CniError::Cache {
                path: path.to_path_buf(),
                message: format!("kind {:?}, expected {CACHE_KIND:?}", a.kind),
            });
        }
        Ok(Some(a))
    }

    /// Writes the cache file atomically: a 0600 temporary file, fsync, rename, fsync of the
    /// directory — it may hold capability arguments a user considers private, and a torn
    /// cache would leave an attachment nobody can remove.
    pub fn save(&self, path: &Path) -> Result<(), CniError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| CniError::Cache {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        minipod_runtime::private::replace_file(path, &bytes, minipod_runtime::private::FILE_MODE)
            .map_err(|source| CniError::Io {
                what: format!("write {}", path.display()),
                source,
            })
    }
}

/// `CNI_ARGS` for a pod sandbox, as containerd's CRI plugin passes them.
pub fn pod_args(namespace: &str, name: &str, sandbox_id: &str, uid: &str) -> Vec<(String, String)> {
    [
        ("IgnoreUnknown", "1"),
        ("K8S_POD_NAMESPACE", namespace),
        ("K8S_POD_NAME", name),
        ("K8S_POD_INFRA_CONTAINER_ID", sandbox_id),
        ("K8S_POD_UID", uid),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// One `ports[].hostPort` of a pod, for the `portMappings` capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub host_port: u16,
    pub container_port: u16,
    /// `TCP`, `UDP` or `SCTP` as the pod spec writes it.
    pub protocol: String,
    /// Empty: every host address.
    pub host_ip: String,
}

/// The `portMappings` capability argument as containerd's CRI plugin builds it: only ports
/// with a `hostPort`, the protocol in lower case, `hostIP` only when set.
pub fn port_mappings_arg(ports: &[PortMapping]) -> Option<Value> {
    let list: Vec<Value> = ports
        .iter()
        .filter(|p| p.host_port > 0)
        .map(|p| {
            let mut m = Map::new();
            m.insert("hostPort".into(), p.host_port.into());
            m.insert("containerPort".into(), p.container_port.into());
            m.insert("protocol".into(), p.protocol.to_lowercase().into());
            if !p.host_ip.is_empty() {
                m.insert("hostIP".into(), p.host_ip.clone().into());
            }
            Value::Object(m)
        })
        .collect();
    (!list.is_empty()).then_some(Value::Array(list))
}

fn join_args(args: &[(String, String)]) -> String {
    args.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// True when `path` is a live network namespace (an nsfs file: `/proc/<pid>/ns/net` or a
/// bind mount of one). A pod's namespace file left behind unmounted, or gone after a reboot,
/// is not one, and `DEL` must then get an empty `CNI_NETNS` rather than a path the plugins
/// cannot enter.
fn is_network_namespace(path: &Path) -> bool {
    // NSFS_MAGIC (linux/magic.h).
    const NSFS_MAGIC: nix::sys::statfs::FsType = nix::sys::statfs::FsType(0x6e73_6673);
    !path.as_os_str().is_empty()
        && nix::sys::statfs::statfs(path).is_ok_and(|fs| fs.filesystem_type() == NSFS_MAGIC)
}

/// libcni passes `prevResult` to `DEL` only from spec 0.4.0 on.
fn del_gets_prev_result(version: &str) -> bool {
    !matches!(version, "0.1.0" | "0.2.0" | "0.3.0" | "0.3.1")
}

impl CniRunner {
    fn invocation<'a>(
        &'a self,
        verb: Verb,
        a: &'a Attachment,
        netns: &'a str,
        args: &'a str,
    ) -> Invocation<'a> {
        Invocation {
            command: verb,
            container_id: &a.container_id,
            netns,
            ifname: &a.if_name,
            args,
            plugin_path: &self.plugin_path,
            timeout: self.timeout,
        }
    }

    /// Attaches the sandbox: caches the attachment at `cache` (without a result), runs every
    /// plugin's `ADD` in order, then caches the final result. When a plugin fails, the plugins
    /// already run are undone (`DEL` in reverse) and the cache removed, and the plugin's own
    /// message is returned.
    pub fn add(
        &self,
        list: &NetworkList,
        mut a: Attachment,
        cache: &Path,
    ) -> Result<Attachment, CniError> {
        // Every plugin must exist before anything is changed.
        let plugins = (0..list.plugins.len())
            .map(|i| find_plugin(list.plugin_type(i), &self.plugin_path))
            .collect::<Result<Vec<_>, _>>()?;
        a.result = None;
        a.save(cache)?;
        let args = join_args(&a.cni_args);
        let mut prev: Option<Value> = None;
        for (i, plugin) in plugins.iter().enumerate() {
            let conf = list.plugin_config(i, prev.as_ref(), &a.capability_args);
            let inv = self.invocation(Verb::Add, &a, &a.netns, &args);
            match exec::run_plugin(plugin, list.plugin_type(i), &conf, &inv) {
                Ok(Value::Null) => {
                    return Err(self.undo_failed_add(
                        list,
                        &a,
                        cache,
                        i,
                        CniError::Plugin {
                            plugin: list.plugin_type(i).to_string(),
                            command: "ADD",
                            message: "printed no result".into(),
                        },
                    ))
                }
                Ok(result) => prev = Some(result),
                Err(e) => return Err(self.undo_failed_add(list, &a, cache, i, e)),
            }
        }
        a.result = prev;
        if let Err(e) = a.save(cache) {
            // The attachment could not be recorded: undo it now rather than leave what no
            // cache describes (the pending cache, if it is still there, describes it too).
            return Err(self.undo_failed_add(list, &a, cache, list.plugins.len() - 1, e));
        }
        Ok(a)
    }

    fn undo_failed_add(
        &self,
        list: &NetworkList,
        a: &Attachment,
        cache: &Path,
        failed: usize,
        err: CniError,
    ) -> CniError {
        // containerd removes a half-made attachment with a full DEL (plugins must accept a DEL
        // for something they did not add); the plugins up to the failing one are enough here.
        match self.del_plugins(list, a, failed + 1) {
            Ok(()) => {
                let _ = fs::remove_file(cache);
            }
            Err(e) => log::warn!(
                "undo a failed CNI ADD: {e} (the cache {} is kept)",
                cache.display()
            ),
        }
        err
    }

    /// Detaches a cached attachment: every plugin's `DEL` in reverse order, with the cached list,
    /// arguments, capability arguments and (from spec 0.4.0) result. An empty `CNI_NETNS` is
    /// passed when the namespace file is gone. The cache file is removed once every plugin
    /// succeeded; `Ok(false)` when there was no cache.
    pub fn del_cached(&self, cache: &Path) -> Result<bool, CniError> {
        let Some(a) = Attachment::load(cache)? else {
            return Ok(false);
        };
        let list = NetworkList::from_value(a.config.clone(), cache)?;
        self.del_plugins(&list, &a, list.plugins.len())?;
        fs::remove_file(cache).map_err(|source| CniError::Io {
            what: format!("remove {}", cache.display()),
            source,
        })?;
        Ok(true)
    }

    /// `DEL` of plugins `count-1` down to 0. Every plugin is called even when one fails, so
    /// that one broken plugin does not leave the others' state behind; the first error is
    /// returned.
    fn del_plugins(
        &self,
        list: &NetworkList,
        a: &Attachment,
        count: usize,
    ) -> Result<(), CniError> {
        let netns = if is_network_namespace(Path::new(&a.netns)) {
            a.netns.as_str()
        } else {
            ""
        };
        let args = join_args(&a.cni_args);
        let prev = if del_gets_prev_result(&list.cni_version) {
            a.result.as_ref()
        } else {
            None
        };
        let mut first_error = None;
        for i in (0..count.min(list.plugins.len())).rev() {
            let conf = list.plugin_config(i, prev, &a.capability_args);
            let inv = self.invocation(Verb::Del, a, netns, &args);
            let outcome = find_plugin(list.plugin_type(i), &self.plugin_path)
                .and_then(|p| exec::run_plugin(&p, list.plugin_type(i), &conf, &inv));
            if let Err(e) = outcome {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
