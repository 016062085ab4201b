//! minipod-net: what a pod needs from the host's network, done with the ecosystem's own parts.
//!
//! - [`cni`]: a CNI client (spec 1.0.0) that behaves like libcni, the library containerd and
//!   CRI-O drive plugins through: the first `.conflist` of a directory, one plugin process after
//!   the other with `prevResult` chained, `runtimeConfig` only for declared capabilities, the
//!   attachment cached before the pod starts, `DEL` in reverse order from the cache.
//! - [`default_network`]: the bridge network written on first use when none is configured.
//! - [`dns`]: a pod's `/etc/resolv.conf` by `dnsPolicy`, the kubelet's rules.
//! - [`host`]: the pod range checked against the host, minipod's own nftables table, ip_forward.
//! - [`pod`]: one sandbox attached and detached: what the pod supervisor calls.
//!
//! The crate runs plugin processes and reads and writes its own files; it does not touch
//! namespaces or mounts itself (the plugins do, in the namespace they are given).

#![forbid(unsafe_code)]

pub mod cni;
pub mod default_network;
pub mod dns;
pub mod host;
pub mod pod;
