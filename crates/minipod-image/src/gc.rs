//! Garbage collection of the image store: `prune`, and the sweep `rm` runs after removing a
//! name. Everything reachable from an image record or a lease is kept (manifest, config,
//! layer blobs, unpacked layers); the rest, and the debris of interrupted loads and pulls, goes.
//! Runs only under the store lock taken exclusively, so it never races a load.

use std::collections::HashSet;
use std::fs;

use oci_spec::image::{ImageConfiguration, ImageManifest};

use crate::digest::Digest;
use crate::store::{io_err, ImageStore, StoreError};

/// What `prune` removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    pub blobs: u64,
    pub layers: u64,
    pub bytes: u64,
}

impl ImageStore {
    /// Removes blobs and layers no image or lease references, and debris of interrupted loads.
    pub fn prune(&self) -> Result<PruneReport, StoreError> {
        let _lock = self.lock(true)?;
        self.collect_garbage()
    }

    pub(crate) fn collect_garbage(&self) -> Result<PruneReport, StoreError> {
        let mut keep_blobs: HashSet<Digest> = HashSet::new();
        let mut keep_layers: HashSet<Digest> = HashSet::new();
        let mut roots: Vec<Digest> = self
            .records()?
            .into_iter()
            .flat_map(|r| [r.manifest, r.config])
            .collect();
        for l in self.leases()? {
            roots.extend(l.images);
        }
        for d in roots {
            keep_blobs.insert(d.clone());
            let Ok(data) = self.blobs.read_small(&d, "gc") else {
                continue;
            };
            if let Ok(m) = serde_json::from_slice::<ImageManifest>(&data) {
                if let Ok(c) = Digest::parse(m.config().digest().as_ref()) {
                    keep_blobs.insert(c.clone());
                    if let Ok(cd) = self.blobs.read_small(&c, "gc") {
                        if let Ok(cfg) = serde_json::from_slice::<ImageConfiguration>(&cd) {
                            keep_layers.extend(
                                cfg.rootfs()
                                    .diff_ids()
                                    .iter()
                                    .filter_map(|d| Digest::parse(d).ok()),
                            );
                        }
                    }
                }
                keep_blobs.extend(
                    m.layers()
                        .iter()
                        .filter_map(|l| Digest::parse(l.digest().as_ref()).ok()),
                );
            }
        }
        let mut report = PruneReport::default();
        let dir = self.blobs.dir().to_path_buf();
        for e in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let e = e.map_err(io_err(&dir))?;
            let name = e.file_name();
            let keep = name
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
                .is_some_and(|d| keep_blobs.contains(&d));
            if !keep {
                report.bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
                fs::remove_file(e.path()).map_err(io_err(&e.path()))?;
                report.blobs += 1;
            }
        }
        let dir = self.layers.dir().to_path_buf();
        for e in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let e = e.map_err(io_err(&dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let hex = name.strip_suffix(".lock").unwrap_or(&name);
            let keep = Digest::from_hex(hex)
                .is_ok_and(|d| keep_layers.contains(&d) && self.layers.is_ready(&d));
            if !keep {
                let p = e.path();
                if p.is_dir() {
                    fs::remove_dir_all(&p).map_err(io_err(&p))?;
                    report.layers += 1;
                } else {
                    fs::remove_file(&p).map_err(io_err(&p))?;
                }
            }
        }
        // Temp files of loads killed midway (no load runs: we hold the exclusive lock).
        let tmp = self.root.join("tmp");
        for e in fs::read_dir(&tmp).map_err(io_err(&tmp))?.flatten() {
            // Files of loads, directories of pulls (their staged blobs).
            let p = e.path();
            let _ = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
        Ok(report)
    }
}
