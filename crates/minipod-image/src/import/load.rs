//! `ImageStore::load`: from an image file to named images in the store. Recognises what the
//! file is — a `docker save` archive (its `manifest.json`) or an OCI layout / oci-archive (its
//! `index.json`) — and, for docker archives, each layer's compression (gzip, zstd or plain, by
//! its magic bytes), then imports, unpacks and names every image in it.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io;
use std::path::Path;

use oci_spec::image::{
    Descriptor, DescriptorBuilder, ImageIndex, ImageManifest, ImageManifestBuilder, MediaType,
};

use crate::digest::Digest;
use crate::import::{is_index, ImportError, Source};
use crate::platform::{host_platform, platform_of, select_platform};
use crate::progress::{NoProgress, Progress};
use crate::reference::Reference;
use crate::store::{Image, ImageStore, LoadError, StoreError};

impl ImageStore {
    /// Imports every image in `path` (layout dir, oci-archive or docker-archive), unpacks
    /// their layers and records their names. `name` renames a single image.
    pub fn load(&self, path: &Path, name: Option<&str>) -> Result<Vec<Image>, LoadError> {
        self.load_with_progress(path, name, &NoProgress)
    }

    /// [`ImageStore::load`], reporting layer unpacking to `progress`.
    pub fn load_with_progress(
        &self,
        path: &Path,
        name: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<Vec<Image>, LoadError> {
        let forced = name
            .map(Reference::parse)
            .transpose()
            .map_err(StoreError::from)?;
        let _lock = self.lock(false)?;
        let source = Source::open(path, &self.blobs)?;
        let mut found: Vec<(Option<Reference>, Digest, Digest, String)> = Vec::new();
        if let Some(entries) = source.docker_manifest(&self.blobs)? {
            for e in &entries {
                let (manifest, config) = self.import_docker(&source, &e.config, &e.layers)?;
                let names: Vec<Option<Reference>> = match &e.repo_tags {
                    Some(tags) if !tags.is_empty() => tags
                        .iter()
                        .map(|t| Reference::parse(t).map(Some))
                        .collect::<Result<_, _>>()
                        .map_err(StoreError::from)?,
                    _ => vec![None],
                };
                for n in names {
                    found.push((
                        n,
                        manifest.clone(),
                        config.clone(),
                        host_platform().to_string(),
                    ));
                }
            }
        } else if let Some(index) = source.index(&self.blobs)? {
            for (n, descs) in group_by_name(&index) {
                let (manifest, config, platform) = self.import_oci(&source, &descs)?;
                found.push((n, manifest, config, platform));
            }
        } else {
            return Err(ImportError::UnknownFormat {
                path: path.to_path_buf(),
            }
            .into());
        }
        if let Some(forced) = forced {
            let distinct: HashSet<&Digest> = found.iter().map(|f| &f.1).collect();
            if distinct.len() != 1 {
                return Err(LoadError::NameNeedsOneImage {
                    path: path.to_path_buf(),
                    count: distinct.len(),
                });
            }
            let (_, m, c, p) = found.swap_remove(0);
            found = vec![(Some(forced), m, c, p)];
        }
        // Check every name before any becomes visible.
        if found.iter().any(|f| f.0.is_none()) {
            return Err(LoadError::NoName {
                path: path.to_path_buf(),
            });
        }
        // Every image is read and every layer unpacked before any name is written, so a
        // failure leaves no name pointing at a half-imported image.
        let mut images = Vec::new();
        for (name, manifest, config, platform) in found {
            // Invariant: checked just above.
            let name = name.expect("every image has a name");
            images.push(self.read_image(name, &manifest, &config, &platform)?);
        }
        let mut jobs = Vec::new();
        for image in &images {
            jobs.extend(self.layer_jobs(image)?);
        }
        self.layers.ensure_all(&jobs, progress)?;
        for image in &images {
            self.write_record(image)?;
            log::info!("loaded {} ({})", image.reference.familiar(), image.id());
        }
        Ok(images)
    }

    fn invalid(
        &self,
        source: &Source,
        what: &'static str,
        digest: &Digest,
    ) -> impl FnOnce(serde_json::Error) -> LoadError {
        let path = source.path().to_path_buf();
        let digest = digest.clone();
        move |e| LoadError::Invalid {
            path,
            what,
            digest,
            source: e,
        }
    }

    /// docker-archive: store the config, find the layer blobs, and write an OCI manifest.
    fn import_docker(
        &self,
        source: &Source,
        config: &str,
        layers: &[String],
    ) -> Result<(Digest, Digest), LoadError> {
        let (config_digest, config_size) = source.blob_by_path(config, &self.blobs)?;
        let mut descs = Vec::new();
        for l in layers {
            let (d, size) = source.blob_by_path(l, &self.blobs)?;
            let mt = match sniff(&self.blobs.path(&d)) {
                Sniffed::Gzip => MediaType::ImageLayerGzip,
                Sniffed::Zstd => MediaType::ImageLayerZstd,
                Sniffed::Plain => MediaType::ImageLayer,
            };
            descs.push(descriptor(mt, &d, size));
        }
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(descriptor(
                MediaType::ImageConfig,
                &config_digest,
                config_size,
            ))
            .layers(descs)
            .build()
            .map_err(|e| {
                LoadError::Import(ImportError::ReadEntry {
                    path: source.path().to_path_buf(),
                    entry: "manifest.json".into(),
                    source: io::Error::other(e),
                })
            })?;
        let data = serde_json::to_vec(&manifest).map_err(self.invalid(
            source,
            "manifest",
            &config_digest,
        ))?;
        let what = format!("{}: manifest.json", source.path().display());
        let (manifest_digest, _) = self.blobs.ingest(&mut &data[..], None, None, &what)?;
        Ok((manifest_digest, config_digest))
    }

    /// OCI: walk index → (platform) → manifest → config and layers, storing each blob.
    fn import_oci(
        &self,
        source: &Source,
        descs: &[Descriptor],
    ) -> Result<(Digest, Digest, String), LoadError> {
        let mut candidates: Vec<Descriptor> = descs.to_vec();
        // Nested indexes (a name pointing at a multi-platform index) are flattened, depth-capped.
        for _ in 0..4 {
            if candidates.len() == 1 && is_index(candidates[0].media_type()) {
                let d = source.ensure_blob(&candidates[0], &self.blobs)?;
                let data = self
                    .blobs
                    .read_small(&d, &format!("{}: index {d}", source.path().display()))?;
                let index: ImageIndex =
                    serde_json::from_slice(&data).map_err(self.invalid(source, "index", &d))?;
                candidates = index.manifests().clone();
            }
        }
        let chosen = select_platform(&candidates).ok_or_else(|| LoadError::NoPlatform {
            path: source.path().to_path_buf(),
            platform: host_platform().to_string(),
        })?;
        let manifest_digest = source.ensure_blob(&chosen, &self.blobs)?;
        let data = self.blobs.read_small(
            &manifest_digest,
            &format!("{}: manifest {manifest_digest}", source.path().display()),
        )?;
        let manifest: ImageManifest = serde_json::from_slice(&data).map_err(self.invalid(
            source,
            "manifest",
            &manifest_digest,
        ))?;
        let config_digest = source.ensure_blob(manifest.config(), &self.blobs)?;
        for l in manifest.layers() {
            source.ensure_blob(l, &self.blobs)?;
        }
        Ok((manifest_digest, config_digest, platform_of(&chosen)))
    }
}

/// A descriptor for a blob in the store.
pub(crate) fn descriptor(mt: MediaType, d: &Digest, size: u64) -> Descriptor {
    // Invariant: `d` is a validated sha256 digest, which oci-spec accepts.
    let digest: oci_spec::image::Digest = d.to_string().parse().expect("valid sha256 digest");
    DescriptorBuilder::default()
        .media_type(mt)
        .digest(digest)
        .size(size)
        .build()
        .expect("descriptor has all required fields")
}

/// A layer blob's compression, from its first bytes.
pub(crate) enum Sniffed {
    Plain,
    Gzip,
    Zstd,
}

pub(crate) fn sniff(p: &Path) -> Sniffed {
    let mut head = [0u8; 4];
    let n = File::open(p)
        .and_then(|mut f| io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    if head[..n].starts_with(&[0x1f, 0x8b]) {
        Sniffed::Gzip
    } else if head[..n].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Sniffed::Zstd
    } else {
        Sniffed::Plain
    }
}

/// Groups index.json entries by the name they carry: `io.containerd.image.name`, else
/// `org.opencontainers.image.ref.name` when that is a full reference (containerd's import
/// rules; a bare tag like `1.35` is not a name).
fn group_by_name(index: &ImageIndex) -> Vec<(Option<Reference>, Vec<Descriptor>)> {
    let mut groups: BTreeMap<Option<String>, Vec<Descriptor>> = BTreeMap::new();
    for d in index.manifests() {
        let ann = d.annotations().as_ref();
        let name = ann
            .and_then(|a| a.get("io.containerd.image.name"))
            .and_then(|n| Reference::parse(n).ok())
            .or_else(|| {
                ann.and_then(|a| a.get("org.opencontainers.image.ref.name"))
                    .filter(|n| n.contains('/') || n.contains(':'))
                    .and_then(|n| Reference::parse(n).ok())
            });
        groups
            .entry(name.map(|n| n.to_string()))
            .or_default()
            .push(d.clone());
    }
    groups
        .into_iter()
        .map(|(k, v)| (k.and_then(|k| Reference::parse(&k).ok()), v))
        .collect()
}
