//! minipod-image: the OCI image half of minipod.
//!
//! From an image file on disk to a root filesystem a container can start on: a
//! content-addressed blob store (every digest verified while streaming), references
//! normalised like containerd, import of OCI layouts, oci-archives and `docker save`
//! archives, safe layer unpacking into overlay-format layer directories (one per diff_id),
//! and overlay root filesystems for containers; `pull` fetches images from OCI distribution
//! registries into the same store.
//!
//! Modules: `store` (image records, names, leases), `gc` (prune and the sweep after `rm`),
//! `import` (reading layouts and archives; `import::load` recognises the format and names the
//! images), `platform` (picking a manifest from an index, containerd's rules), `pull`
//! (registries), `content` (the verified blob store), `layers` and [`unpack`] (layer
//! directories), `tarframe` (tar framing limits), `rootfs` (overlay mounts), `reference`,
//! `digest`, `durable` (fsync and rename), `progress`, and `sys` (the raw syscalls: the only
//! module with `unsafe`).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = minipod_image::ImageStore::open("/var/lib/minipod")?;
//! store.load("busybox.tar".as_ref(), None)?;
//! let image = store.image("busybox:1.35")?;
//! let defaults = image.defaults(); // Entrypoint, Cmd, Env, WorkingDir, User, StopSignal...
//! let dirs = minipod_image::RootfsDirs {
//!     layer: "/var/lib/minipod/pods/uid/rootfs/c".into(),
//!     mount_point: "/run/minipod/pods/uid/containers/c/rootfs".into(),
//! };
//! let rootfs = store.mount_rootfs(&image, &dirs)?;
//! // ... run the container on rootfs.path ...
//! minipod_image::unmount_rootfs(&dirs)?;
//! # let _ = (defaults, rootfs); Ok(()) }
//! ```

#![deny(unsafe_code)]

mod content;
mod digest;
mod durable;
mod gc;
mod import;
mod layers;
pub mod platform;
mod progress;
mod pull;
mod reference;
mod rootfs;
mod store;
#[allow(unsafe_code)]
mod sys;
mod tarframe;
pub mod unpack;

pub use content::BlobError;
pub use digest::{Digest, ParseDigestError};
pub use gc::PruneReport;
pub use import::ImportError;
pub use layers::LayerError;
pub use platform::{ParsePlatformError, Platform};
pub use progress::{NoProgress, Progress};
pub use pull::{is_loopback_registry, PullError, PullOptions, Pulled};
pub use reference::{ParseReferenceError, Reference};
pub use rootfs::{unmount_rootfs, Rootfs, RootfsDirs, RootfsError, RootfsKind};
pub use store::{in_use_by, ContainerDefaults, Image, ImageStore, LoadError, StoreError};
pub use tarframe::TarLimitError;

#[cfg(test)]
mod testutil;
