//! The network minipod writes on first use when its configuration directory holds no
//! `.conflist`: a Linux bridge with host-local addresses, then portmap for `hostPort`s.
//!
//! The bridge plugin's own `ipMasq` stays off: its `DEL` cannot remove those NAT rules once the
//! namespace is gone (containernetworking/plugins#810), so masquerading belongs to a table
//! minipod keeps itself. host-local's leases live under minipod's root, not `/var/lib/cni`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::cni::{CniError, NetworkList};

/// minipod's own configuration directory (never `/etc/cni/net.d`, which containerd and k3s read).
pub const DEFAULT_CONF_DIR: &str = "/etc/minipod/net.d";
/// The file written when the directory has no list.
pub const DEFAULT_CONF_FILE: &str = "10-minipod.conflist";
pub const DEFAULT_NETWORK_NAME: &str = "minipod";
pub const DEFAULT_BRIDGE: &str = "minipod0";
pub const DEFAULT_SUBNET: &str = "10.87.0.0/16";

/// What the default network is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultNetwork {
    pub name: String,
    pub bridge: String,
    /// The pod range, IPv4 CIDR.
    pub subnet: String,
    /// host-local's `dataDir`.
    pub ipam_dir: PathBuf,
}

impl DefaultNetwork {
    /// The default network for a minipod root.
    pub fn for_root(root: &Path) -> DefaultNetwork {
        DefaultNetwork {
            name: DEFAULT_NETWORK_NAME.into(),
            bridge: DEFAULT_BRIDGE.into(),
            subnet: DEFAULT_SUBNET.into(),
            ipam_dir: root.join("net").join("ipam"),
        }
    }

    /// The `.conflist` document.
    pub fn conflist(&self) -> Value {
        json!({
            "cniVersion": "1.0.0",
            "name": self.name,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": true,
                    "ipMasq": false,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": self.subnet}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": self.ipam_dir,
                    }
                },
                {
                    "type": "portmap",
                    "capabilities": {"portMappings": true},
                    "snat": true
                }
            ]
        })
    }
}

/// The list `conf_dir` selects; when it has none, `default` is written there first (atomically,
/// 0644: it holds no secret and tools read it) and returned.
pub fn load_or_write_default(
    conf_dir: &Path,
    default: &DefaultNetwork,
) -> Result<NetworkList, CniError> {
    if let Some(list) = NetworkList::load_first(conf_dir)? {
        return Ok(list);
    }
    let io = |what: String| move |source| CniError::Io { what, source };
    fs::create_dir_all(conf_dir).map_err(io(format!("create {}", conf_dir.display())))?;
    let path = conf_dir.join(DEFAULT_CONF_FILE);
    let mut text = serde_json::to_string_pretty(&default.conflist()).unwrap_or_default();
    text.push('\n');
    minipod_runtime::private::replace_file(&path, text.as_bytes(), 0o644)
        .map_err(io(format!("write {}", path.display())))?;
    NetworkList::parse(text.as_bytes(), &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_written_once_and_a_users_list_wins() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("net.d");
        let d = DefaultNetwork::for_root(Path::new("/var/lib/minipod"));
        let l = load_or_write_default(&conf, &d).unwrap();
        assert_eq!(l.name, "minipod");
        assert_eq!(l.plugin_type(0), "bridge");
        assert_eq!(l.plugin_type(1), "portmap");
        assert_eq!(l.plugins[0]["ipMasq"], false);
        assert_eq!(l.plugins[0]["ipam"]["dataDir"], "/var/lib/minipod/net/ipam");
        assert_eq!(l.source, conf.join(DEFAULT_CONF_FILE));
        // A list of the user's that sorts first is used instead, and nothing is rewritten.
        fs::write(
            conf.join("05-mine.conflist"),
            r#"{"cniVersion":"1.0.0","name":"mine","plugins":[{"type":"ptp"}]}"#,
        )
        .unwrap();
        assert_eq!(load_or_write_default(&conf, &d).unwrap().name, "mine");
        assert_eq!(fs::read_dir(&conf).unwrap().count(), 2);
    }
}
