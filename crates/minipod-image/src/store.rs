//! The image store at `<root>`: blobs, image records, layers, leases (design.md §4).
//!
//! Locking: `<root>/lock` is taken shared by loads and reads and exclusive by `rm`/`prune`,
//! so garbage collection never races a load; layers have their own lock files; records and
//! blobs are replaced by rename, so a load killed at any point leaves a usable store.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use oci_spec::image::{
    Descriptor, DescriptorBuilder, ImageConfiguration, ImageIndex, ImageManifest,
    ImageManifestBuilder, MediaType,
};
use serde::{Deserialize, Serialize};

use crate::content::{temp_file, BlobError, Blobs};
use crate::digest::Digest;
use crate::durable;
use crate::import::{is_index, ImportError, Source};
use crate::layers::{LayerCache, LayerError, LayerJob};
use crate::progress::{NoProgress, Progress};
use crate::reference::{ParseReferenceError, Reference};
use crate::unpack::UnpackLimits;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("image record {}", path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Reference(#[from] ParseReferenceError),
    #[error("image {0:?} not found")]
    NotFound(String),
    /// docker's wording (daemon/images/image_delete.go `imageDeleteHelper` conflict),
    /// naming the holders (pod uids) instead of a container ID.
    #[error("conflict: unable to remove repository reference \"{reference}\" (must force) - {} is using its referenced image {id}", in_use_by(holders))]
    InUse {
        reference: String,
        id: String,
        /// Lease holders: pod uids.
        holders: Vec<String>,
    },
    #[error("image ID prefix {prefix:?} is ambiguous: {count} images have an ID starting with it")]
    Ambiguous { prefix: String, count: usize },
    #[error("invalid lease holder {0:?}")]
    BadHolder(String),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("{what} {digest}: invalid JSON")]
    Json {
        what: &'static str,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
}

/// "pod A" or "pods A, B".
pub fn in_use_by(holders: &[String]) -> String {
    match holders {
        [one] => format!("pod {one}"),
        many => format!("pods {}", many.join(", ")),
    }
}

impl StoreError {
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            StoreError::Reference(_)
                | StoreError::NotFound(_)
                | StoreError::InUse { .. }
                | StoreError::Ambiguous { .. }
                | StoreError::BadHolder(_)
        )
    }
}

/// Why `load` failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("{}: image has no name; give one with --name", path.display())]
    NoName { path: PathBuf },
    #[error("{}: --name needs a file with exactly one image, this one has {count}", path.display())]
    NameNeedsOneImage { path: PathBuf, count: usize },
    #[error("{}: no manifest for {platform} in the index", path.display())]
    NoPlatform { path: PathBuf, platform: String },
    #[error(
        "image {image} ({manifest}): config lists {diff_ids} layer diff_ids for {layers} layers"
    )]
    LayerCount {
        image: String,
        manifest: Digest,
        diff_ids: usize,
        layers: usize,
    },
    #[error("{}: {what} {digest}: invalid", path.display())]
    Invalid {
        path: PathBuf,
        what: &'static str,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: unsupported media type {media_type}", path.display())]
    MediaType { path: PathBuf, media_type: String },
}

impl From<BlobError> for LoadError {
    fn from(e: BlobError) -> Self {
        LoadError::Import(ImportError::Blob(e))
    }
}

impl LoadError {
    /// True when the file was at fault (bad format, tampered or truncated content, missing
    /// name), as opposed to the host failing.
    pub fn is_input(&self) -> bool {
        match self {
            LoadError::Import(e) => e.is_input(),
            LoadError::Store(e) => e.is_input(),
            LoadError::Layer(e) => e.is_input(),
            _ => true,
        }
    }
}

/// `<root>/images/<escaped ref>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImageRecord {
    name: String,
    manifest: Digest,
    config: Digest,
    platform: String,
    loaded: u64,
}

/// `<root>/leases/<holder>.json`: images (manifest digests) a pod or other holder uses.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Lease {
    holder: String,
    images: Vec<Digest>,
}

/// An image in the store.
#[derive(Debug, Clone)]
pub struct Image {
    pub reference: Reference,
    pub manifest_digest: Digest,
    /// The config digest: what `docker images` calls the image ID.
    pub config_digest: Digest,
    pub manifest: ImageManifest,
    pub config: ImageConfiguration,
    pub platform: String,
}

/// What a container takes from the image config when the pod does not say otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerDefaults {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub stop_signal: Option<String>,
    pub exposed_ports: Vec<String>,
}

impl Image {
    pub fn id(&self) -> &Digest {
        &self.config_digest
    }

    /// Bytes of the config and the (compressed) layers, as `docker images` reports them.
    pub fn size(&self) -> u64 {
        self.manifest.config().size() + self.manifest.layers().iter().map(|l| l.size()).sum::<u64>()
    }

    /// The layers' uncompressed digests, lowest first.
    pub fn diff_ids(&self) -> Vec<Digest> {
        self.config
            .rootfs()
            .diff_ids()
            .iter()
            .filter_map(|d| Digest::parse(d).ok())
            .collect()
    }

    /// The config's creation time (RFC 3339), if any.
    pub fn created(&self) -> Option<&str> {
        self.config.created().as_deref()
    }

    pub fn defaults(&self) -> ContainerDefaults {
        let Some(c) = self.config.config() else {
            return ContainerDefaults::default();
        };
        let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        ContainerDefaults {
            entrypoint: c.entrypoint().clone().unwrap_or_default(),
            cmd: c.cmd().clone().unwrap_or_default(),
            env: c.env().clone().unwrap_or_default(),
            working_dir: non_empty(c.working_dir()),
            user: non_empty(c.user()),
            stop_signal: non_empty(c.stop_signal()),
            exposed_ports: c.exposed_ports().clone().unwrap_or_default(),
        }
    }
}

/// What `prune` removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    pub blobs: u64,
    pub layers: u64,
    pub bytes: u64,
}

/// The image store. Cheap to open; every method takes the locks it needs.
pub struct ImageStore {
    root: PathBuf,
    blobs: Blobs,
    layers: LayerCache,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `docker.io/library/busybox:1.35` → a file name (bytes outside `[a-z0-9._-]` as `%XX`).
fn escape_ref(r: &Reference) -> String {
    let mut out = String::new();
    for b in r.to_string().bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Writes `data` to `path` via a temp file in the same directory and a rename.
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let (tmp, mut f) = temp_file(dir, ".tmp").map_err(io_err(dir))?;
    let res = f
        .write_all(data)
        .and_then(|_| durable::sync_file(&f))
        .and_then(|_| durable::rename(&tmp, path));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.map_err(io_err(path))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ImageStore {
    /// Opens (creating, mode 0700) the store under `root`. Its own directories are tightened
    /// to 0700 if an older minipod left them open; `root` itself, which may be the user's
    /// `--root`, keeps its mode.
    pub fn open(root: impl AsRef<Path>) -> Result<ImageStore, StoreError> {
        let root = root.as_ref().to_path_buf();
        let mut b = DirBuilder::new();
        b.recursive(true).mode(0o700);
        b.create(&root).map_err(io_err(&root))?;
        for sub in [
            "blobs",
            "blobs/sha256",
            "images",
            "layers",
            "layers/sha256",
            "leases",
            "tmp",
        ] {
            let p = root.join(sub);
            crate::rootfs::private_dir_all(&p).map_err(io_err(&p))?;
        }
        Ok(ImageStore {
            blobs: Blobs::new(root.join("blobs/sha256"), root.join("tmp")),
            layers: LayerCache::new(root.join("layers/sha256"), UnpackLimits::from_env()),
            root,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self, exclusive: bool) -> Result<Flock<File>, StoreError> {
        let p = self.root.join("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&p)
            .map_err(io_err(&p))?;
        let arg = if exclusive {
            FlockArg::LockExclusive
        } else {
            FlockArg::LockShared
        };
        Flock::lock(f, arg).map_err(|(_, e)| io_err(&p)(e.into()))
    }

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

    /// Names `image`: the last step of a load or pull, after its content is complete.
    pub(crate) fn write_record(&self, image: &Image) -> Result<(), StoreError> {
        let record = ImageRecord {
            name: image.reference.to_string(),
            manifest: image.manifest_digest.clone(),
            config: image.config_digest.clone(),
            platform: image.platform.clone(),
            loaded: now_secs(),
        };
        let path = self.record_path(&image.reference);
        let data = serde_json::to_vec_pretty(&record).map_err(|source| StoreError::Record {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &data)
    }

    /// The manifest digest `reference` names now, if it is in the store.
    pub(crate) fn recorded_manifest(&self, reference: &Reference) -> Option<Digest> {
        let data = fs::read(self.record_path(reference)).ok()?;
        serde_json::from_slice::<ImageRecord>(&data)
            .ok()
            .map(|r| r.manifest)
    }

    fn record_path(&self, r: &Reference) -> PathBuf {
        self.root
            .join("images")
            .join(format!("{}.json", escape_ref(r)))
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

    fn read_image(
        &self,
        reference: Reference,
        manifest: &Digest,
        config: &Digest,
        platform: &str,
    ) -> Result<Image, LoadError> {
        let m = self
            .blobs
            .read_small(manifest, &format!("manifest {manifest}"))?;
        let c = self.blobs.read_small(config, &format!("config {config}"))?;
        parse_image(reference, (manifest, &m), (config, &c), platform)
    }

    pub(crate) fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    pub(crate) fn layer_cache(&self) -> &LayerCache {
        &self.layers
    }

    pub(crate) fn lock_shared(&self) -> Result<Flock<File>, StoreError> {
        self.lock(false)
    }

    /// Unpack jobs for the image's layers, reading each blob from `path_of`.
    pub(crate) fn layer_jobs_at(
        &self,
        image: &Image,
        path_of: &dyn Fn(&Digest) -> PathBuf,
    ) -> Vec<LayerJob> {
        image
            .manifest
            .layers()
            .iter()
            .zip(image.diff_ids())
            .filter_map(|(l, diff_id)| {
                let blob = Digest::parse(l.digest().as_ref()).ok()?;
                Some(LayerJob {
                    blob_path: path_of(&blob),
                    blob,
                    media_type: l.media_type().clone(),
                    diff_id,
                })
            })
            .collect()
    }

    fn layer_jobs(&self, image: &Image) -> Result<Vec<LayerJob>, StoreError> {
        Ok(self.layer_jobs_at(image, &|d| self.blobs.path(d)))
    }

    fn records(&self) -> Result<Vec<ImageRecord>, StoreError> {
        let dir = self.root.join("images");
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let e = e.map_err(io_err(&dir))?;
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let data = fs::read(&p).map_err(io_err(&p))?;
            let r: ImageRecord =
                serde_json::from_slice(&data).map_err(|source| StoreError::Record {
                    path: p.clone(),
                    source,
                })?;
            out.push(r);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn image_of(&self, r: &ImageRecord) -> Result<Image, StoreError> {
        let reference = Reference::parse(&r.name)?;
        let path = self.record_path(&reference);
        self.read_image(reference, &r.manifest, &r.config, &r.platform)
            .map_err(|e| match e {
                LoadError::Store(s) => s,
                LoadError::Import(ImportError::Blob(b)) => StoreError::Blob(b),
                other => StoreError::Io {
                    path,
                    source: io::Error::other(other.to_string()),
                },
            })
    }

    /// Every image, sorted by name.
    pub fn images(&self) -> Result<Vec<Image>, StoreError> {
        let _lock = self.lock(false)?;
        self.records()?.iter().map(|r| self.image_of(r)).collect()
    }

    /// Resolves a name (`busybox:1.35`, normalised), a full or short image ID, or
    /// `sha256:<id>` to an image.
    pub fn image(&self, reference: &str) -> Result<Image, StoreError> {
        let _lock = self.lock(false)?;
        self.find(reference)
    }

    /// Names first, then ID prefixes, as docker does (daemon/images `GetImage`): a tag that
    /// looks like hex (`cafe`, `deadbeef`) names its image even when some ID starts with
    /// it. A prefix that more than one image ID starts with is an error.
    fn find(&self, reference: &str) -> Result<Image, StoreError> {
        let records = self.records()?;
        if let Ok(parsed) = Reference::parse(reference) {
            let name = parsed.to_string();
            if let Some(r) = records.iter().find(|r| r.name == name) {
                return self.image_of(r);
            }
        }
        let id = reference.strip_prefix("sha256:").unwrap_or(reference);
        let is_id = id.len() >= 4
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if is_id {
            let ids: Vec<&ImageRecord> = records
                .iter()
                .filter(|r| r.config.hex().starts_with(id))
                .collect();
            let distinct: HashSet<&Digest> = ids.iter().map(|r| &r.config).collect();
            match distinct.len() {
                0 => {}
                1 => return self.image_of(ids[0]),
                n => {
                    return Err(StoreError::Ambiguous {
                        prefix: reference.to_string(),
                        count: n,
                    })
                }
            }
        }
        // A malformed reference that is no ID either reports why it does not parse.
        Reference::parse(reference)?;
        Err(StoreError::NotFound(reference.to_string()))
    }

    fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        let dir = self.root.join("leases");
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let p = e.map_err(io_err(&dir))?.path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let data = fs::read(&p).map_err(io_err(&p))?;
            out.push(
                serde_json::from_slice(&data).map_err(|source| StoreError::Record {
                    path: p.clone(),
                    source,
                })?,
            );
        }
        Ok(out)
    }

    fn lease_path(&self, holder: &str) -> Result<PathBuf, StoreError> {
        let ok = !holder.is_empty()
            && holder.len() <= 200
            && holder
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !holder.starts_with('.');
        if !ok {
            return Err(StoreError::BadHolder(holder.to_string()));
        }
        Ok(self.root.join("leases").join(format!("{holder}.json")))
    }

    /// Records that `holder` (e.g. a pod uid) uses the image with this manifest digest:
    /// `remove` then refuses it without force, and prune keeps its content.
    pub fn add_lease(&self, holder: &str, manifest: &Digest) -> Result<(), StoreError> {
        let path = self.lease_path(holder)?;
        let _lock = self.lock(false)?;
        let _holder = self.lock_holder(&path)?;
        self.write_lease(&path, holder, manifest)
    }

    /// The store lock taken shared is enough to keep `rm` and `prune` (exclusive) out, and
    /// does not wait for a pull in progress; writers of one holder's lease serialise on
    /// this lock of their own.
    fn lock_holder(&self, lease: &Path) -> Result<Flock<File>, StoreError> {
        let p = lease.with_extension("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(io_err(&p))?;
        Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| io_err(&p)(e.into()))
    }

    /// Resolves `reference` and leases the image it names to `holder` in one step under
    /// the store lock, so no `rm` or `prune` can slip in between. A container
    /// start calls this for the image it is about to run: the name may point at another
    /// image than when the pod was created (re-tagged, pulled again), and that image's
    /// layers are the ones mounted. Like containerd's leases on the content a task uses.
    pub fn lease_image(&self, holder: &str, reference: &str) -> Result<Image, StoreError> {
        let path = self.lease_path(holder)?;
        let _lock = self.lock(false)?;
        let _holder = self.lock_holder(&path)?;
        let image = self.find(reference)?;
        self.write_lease(&path, holder, &image.manifest_digest)?;
        Ok(image)
    }

    fn write_lease(&self, path: &Path, holder: &str, manifest: &Digest) -> Result<(), StoreError> {
        let mut lease: Lease = match fs::read(path) {
            Ok(d) => serde_json::from_slice(&d).map_err(|source| StoreError::Record {
                path: path.to_path_buf(),
                source,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Lease {
                holder: holder.to_string(),
                images: vec![],
            },
            Err(e) => return Err(io_err(path)(e)),
        };
        if lease.images.contains(manifest) {
            return Ok(());
        }
        lease.images.push(manifest.clone());
        let data = serde_json::to_vec_pretty(&lease).map_err(|source| StoreError::Record {
            path: path.to_path_buf(),
            source,
        })?;
        write_atomic(path, &data)
    }

    /// The holders of leases on the image with this manifest digest.
    pub fn lease_holders(&self, manifest: &Digest) -> Result<Vec<String>, StoreError> {
        let _lock = self.lock(false)?;
        Ok(self
            .leases()?
            .into_iter()
            .filter(|l| l.images.contains(manifest))
            .map(|l| l.holder)
            .collect())
    }

    /// Drops every lease of `holder`; no lease is not an error.
    pub fn remove_lease(&self, holder: &str) -> Result<(), StoreError> {
        let path = self.lease_path(holder)?;
        let _lock = self.lock(true)?;
        // Exclusively locked: no lease writer runs, so its lock file can go too.
        let _ = fs::remove_file(path.with_extension("lock"));
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(&path)(e)),
            _ => Ok(()),
        }
    }

    /// Removes a name; refuses while a lease holds the image unless `force`. Content no
    /// longer referenced is then garbage-collected.
    pub fn remove(&self, reference: &str, force: bool) -> Result<Image, StoreError> {
        let _lock = self.lock(true)?;
        let image = self.find(reference)?;
        if !force {
            let holders: Vec<String> = self
                .leases()?
                .into_iter()
                .filter(|l| l.images.contains(&image.manifest_digest))
                .map(|l| l.holder)
                .collect();
            if !holders.is_empty() {
                return Err(StoreError::InUse {
                    reference: reference.to_string(),
                    id: image.id().hex()[..12].to_string(),
                    holders,
                });
            }
        }
        let p = self.record_path(&image.reference);
        fs::remove_file(&p).map_err(io_err(&p))?;
        self.collect_garbage()?;
        Ok(image)
    }

    /// Removes blobs and layers no image or lease references, and debris of interrupted loads.
    pub fn prune(&self) -> Result<PruneReport, StoreError> {
        let _lock = self.lock(true)?;
        self.collect_garbage()
    }

    fn collect_garbage(&self) -> Result<PruneReport, StoreError> {
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

    /// Unpacks the image's layers if needed and returns their directories, lowest first.
    pub fn layer_dirs(&self, image: &Image) -> Result<Vec<PathBuf>, LoadError> {
        let _lock = self.lock(false)?;
        let jobs = self.layer_jobs(image)?;
        self.layers.ensure_all(&jobs, &NoProgress)?;
        Ok(jobs
            .iter()
            .map(|j| self.layers.fs_path(&j.diff_id))
            .collect())
    }
}

/// An image from its manifest and config bytes; the config must list one diff_id per layer.
pub(crate) fn parse_image(
    reference: Reference,
    (manifest, m): (&Digest, &[u8]),
    (config, c): (&Digest, &[u8]),
    platform: &str,
) -> Result<Image, LoadError> {
    let manifest_v: ImageManifest =
        serde_json::from_slice(m).map_err(|source| StoreError::Json {
            what: "manifest",
            digest: manifest.clone(),
            source,
        })?;
    let config_v: ImageConfiguration =
        serde_json::from_slice(c).map_err(|source| StoreError::Json {
            what: "config",
            digest: config.clone(),
            source,
        })?;
    let image = Image {
        reference,
        manifest_digest: manifest.clone(),
        config_digest: config.clone(),
        manifest: manifest_v,
        config: config_v,
        platform: platform.to_string(),
    };
    let (diff_ids, layers) = (image.diff_ids().len(), image.manifest.layers().len());
    if diff_ids != layers || image.config.rootfs().diff_ids().len() != layers {
        return Err(LoadError::LayerCount {
            image: image.reference.to_string(),
            manifest: manifest.clone(),
            diff_ids,
            layers,
        });
    }
    Ok(image)
}

/// A descriptor for a blob in the store.
fn descriptor(mt: MediaType, d: &Digest, size: u64) -> Descriptor {
    // Invariant: `d` is a validated sha256 digest, which oci-spec accepts.
    let digest: oci_spec::image::Digest = d.to_string().parse().expect("valid sha256 digest");
    DescriptorBuilder::default()
        .media_type(mt)
        .digest(digest)
        .size(size)
        .build()
        .expect("descriptor has all required fields")
}

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

/// The platform minipod runs images for.
pub(crate) fn host_platform() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "linux/arm64",
        "arm" => "linux/arm",
        _ => "linux/amd64",
    }
}

/// The amd64 micro-architecture level of this CPU (x86-64-v1..v4), from /proc/cpuinfo.
fn amd64_level() -> u32 {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: HashSet<&str> = info
        .lines()
        .find(|l| l.starts_with("flags"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let has = |fs: &[&str]| fs.iter().all(|f| flags.contains(f));
    if !has(&["sse4_2", "popcnt", "ssse3", "cx16"]) {
        1
    } else if !has(&["avx2", "bmi2", "fma", "movbe"]) {
        2
    } else if !has(&["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]) {
        3
    } else {
        4
    }
}

/// A platform to pick from an index: `os/arch[/variant]` (`--platform`), or this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// Why a `--platform` value is not `os/arch[/variant]`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid platform {0:?}: expected os/arch[/variant], e.g. linux/arm64")]
pub struct ParsePlatformError(pub String);

impl std::str::FromStr for Platform {
    type Err = ParsePlatformError;

    fn from_str(s: &str) -> Result<Platform, ParsePlatformError> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| ok(p)) {
            return Err(ParsePlatformError(s.to_string()));
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: normalize_arch(parts[1]),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// containerd's architecture aliases.
fn normalize_arch(arch: &str) -> String {
    match arch {
        "x86_64" | "x86-64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        a => a.to_string(),
    }
}

/// The (arch, variant) pairs this host runs, best first: containerd's `platforms.Only`
/// vector (amd64 vN falls back to lower levels, then 386; arm64 to arm v8..v5).
fn platform_vector() -> Vec<(String, String)> {
    match std::env::consts::ARCH {
        "aarch64" => arch_vector("arm64", None),
        "arm" => arch_vector("arm", Some("v7")),
        _ => arch_vector("amd64", Some(&format!("v{}", amd64_level()))),
    }
}

/// The vector of one platform: what it runs, best first (containerd `platforms.Only`).
fn arch_vector(arch: &str, variant: Option<&str>) -> Vec<(String, String)> {
    let level = |default: u32| {
        variant
            .and_then(|v| v.strip_prefix('v'))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(default)
    };
    let mut v = Vec::new();
    match arch {
        "arm64" => {
            v.push(("arm64".to_string(), String::new()));
            for n in (5..=8).rev() {
                v.push(("arm".to_string(), format!("v{n}")));
            }
        }
        "arm" => {
            for n in (5..=level(7)).rev() {
                v.push(("arm".to_string(), format!("v{n}")));
            }
        }
        "amd64" => {
            for n in (2..=level(1)).rev() {
                v.push(("amd64".to_string(), format!("v{n}")));
            }
            v.push(("amd64".to_string(), String::new()));
            v.push(("386".to_string(), String::new()));
        }
        other => v.push((other.to_string(), variant.unwrap_or("").to_string())),
    }
    v
}

/// containerd's `platforms.Normalize` for the variants that have aliases.
fn normalize_variant(arch: &str, variant: &str) -> String {
    match (arch, variant) {
        ("amd64", "v1") => String::new(),
        ("arm64", "8" | "v8" | "v8.0") => String::new(),
        _ => variant.to_string(),
    }
}

/// Picks the best manifest for this host from index entries. A lone entry without a
/// platform is taken as is (single-image layouts rarely set one).
pub(crate) fn select_platform(descs: &[Descriptor]) -> Option<Descriptor> {
    select_platform_for(descs, None)
}

/// [`select_platform`] for `wanted` (`--platform`), or for this host when `None`.
pub(crate) fn select_platform_for(
    descs: &[Descriptor],
    wanted: Option<&Platform>,
) -> Option<Descriptor> {
    if descs.len() == 1 && descs[0].platform().is_none() {
        return Some(descs[0].clone());
    }
    let (os, vector) = match wanted {
        Some(w) => (
            w.os.as_str(),
            arch_vector(&w.architecture, w.variant.as_deref()),
        ),
        None => ("linux", platform_vector()),
    };
    let rank = |d: &Descriptor| -> Option<usize> {
        let p = d.platform().as_ref()?;
        if p.os().to_string() != os {
            return None;
        }
        let arch = normalize_arch(&p.architecture().to_string());
        let variant = normalize_variant(&arch, p.variant().as_deref().unwrap_or(""));
        vector
            .iter()
            .position(|(a, v)| *a == arch && normalize_variant(a, v) == variant)
    };
    descs
        .iter()
        .filter_map(|d| rank(d).map(|r| (r, d)))
        .min_by_key(|(r, _)| *r)
        .map(|(_, d)| d.clone())
}

/// `os/arch[/variant]` of an index entry, or this host's when it names none.
pub(crate) fn platform_of(d: &Descriptor) -> String {
    d.platform()
        .as_ref()
        .map(|p| {
            let mut s = format!("{}/{}", p.os(), p.architecture());
            if let Some(v) = p.variant() {
                s.push('/');
                s.push_str(v);
            }
            s
        })
        .unwrap_or_else(|| host_platform().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(arch: &str, variant: Option<&str>) -> Descriptor {
        let mut p = oci_spec::image::PlatformBuilder::default()
            .os(oci_spec::image::Os::Linux)
            .architecture(oci_spec::image::Arch::from(arch));
        if let Some(v) = variant {
            p = p.variant(v.to_string());
        }
        let mut d = descriptor(
            MediaType::ImageManifest,
            &Digest::of(format!("{arch}{variant:?}").as_bytes()),
            1,
        );
        d.set_platform(Some(p.build().unwrap()));
        d
    }

    #[test]
    fn platform_selection_follows_containerd_vector() {
        if std::env::consts::ARCH != "x86_64" {
            return;
        }
        let arm = desc("arm64", Some("v8"));
        let amd = desc("amd64", None);
        let i386 = desc("386", None);
        let got = select_platform(&[arm.clone(), i386.clone(), amd.clone()]).unwrap();
        assert_eq!(got.digest(), amd.digest());
        assert_eq!(
            select_platform(&[arm.clone(), i386.clone()])
                .unwrap()
                .digest(),
            i386.digest()
        );
        assert!(select_platform(&[arm]).is_none());
        let v1 = desc("amd64", Some("v1"));
        assert_eq!(
            select_platform(std::slice::from_ref(&v1)).unwrap().digest(),
            v1.digest()
        );
        if amd64_level() >= 2 {
            let v2 = desc("amd64", Some("v2"));
            assert_eq!(
                select_platform(&[amd.clone(), v2.clone()])
                    .unwrap()
                    .digest(),
                v2.digest()
            );
        }
        let v9 = desc("amd64", Some("v9"));
        assert!(select_platform(&[v9]).is_none());
    }

    #[test]
    fn escaped_record_names_are_plain_file_names() {
        let r = Reference::parse("localhost:5000/a/b:1.0").unwrap();
        assert_eq!(escape_ref(&r), "localhost%3A5000%2Fa%2Fb%3A1.0");
    }
}
