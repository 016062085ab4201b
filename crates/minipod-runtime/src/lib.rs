//! minipod-runtime: one container of a pod, from a CRI-like [`config::ContainerConfig`] plus a
//! mounted root filesystem to a running, isolated process, and back to nothing.
//!
//! This is the only crate that touches namespaces, mounts and cgroups. It knows nothing about
//! Kubernetes objects: like the kubelet, which speaks CRI to containerd, `minipod-pod` translates
//! a pod plan into the plain data of [`config`] and this crate acts on it.
//!
//! Modules:
//! - [`config`]: what the runtime is asked to do, as plain data (CRI-like).
//! - [`sandbox`]: the pod sandbox (namespaces, pod cgroup, `/etc/hosts` and friends).
//! - [`spec`]: the OCI runtime spec of a container (`spec/`: defaults, capabilities,
//!   seccomp, sysctls, users).
//! - [`container`]: one container through libcontainer, one file per concern
//!   (`container/`: lifecycle, stdio, exec, console, reap).
//! - [`cgroup`]: host cgroup layout, pod cgroup, limits, container cgroup removal
//!   (`cgroup/`: the supervisor's own cgroup, the attach-lock warm-up).
//! - [`logs`]: CRI log files, written and rotated (`logs/read.rs` reads them back).
//! - [`volumes`], [`subpath`], [`propagation`]: the host side of pod volumes.
//! - [`removeall`]: removing pod directories without deleting through a mount.
//! - [`private`]: 0700/0600 host state.
//! - [`seal`]: the sealed copy of the runtime binary (CVE-2019-5736).
//! - [`terminal`]: terminal window sizes.
//! - [`netcheck`], [`netns_dial`]: httpGet/tcpSocket checks and port-forward connections
//!   from inside a pod's network namespace.
//!
//! `unsafe` appears only where a syscall has no safe wrapper, each block with its `SAFETY`
//! comment. The scenario driver of the integration tests is the `minipod-runtime-probe`
//! crate, not part of this one.

pub mod cgroup;
pub mod config;
pub mod container;
pub mod logs;
pub mod netcheck;
pub mod netns_dial;
pub mod private;
pub mod propagation;
pub mod removeall;
pub mod sandbox;
pub mod seal;
pub mod spec;
pub mod subpath;
pub mod terminal;
pub mod volumes;
