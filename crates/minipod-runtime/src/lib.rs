//! minipod-runtime: one container of a pod, from a CRI-like [`config::ContainerConfig`] plus a
//! mounted root filesystem to a running, isolated process, and back to nothing.
//!
//! This is the only crate that touches namespaces, mounts and cgroups. It knows nothing about
//! Kubernetes objects: like the kubelet, which speaks CRI to containerd, `minipod-pod` translates
//! a pod plan into the plain data of [`config`] and this crate acts on it.

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
