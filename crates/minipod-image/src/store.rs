//! The image store at `<root>`: blobs, image records (names), layers, leases (docs/images.md, "On disk").
//! Loading an image file is in `import/load.rs`, garbage collection in `gc.rs`, platform
//! matching in `platform.rs`.
//!
//! Locking: `<root>/lock` is taken shared by loads and reads and exclusive by `rm`/`prune`,
//! so garbage collection never races a load; layers have their own lock files; records and
//! blobs are replaced by rename, so a load killed at any point leaves a usable store.

use std::collections::HashSet;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use oci_spec::image::{ImageConfiguration, ImageManifest};
use serde::{Deserialize, Serialize};

use crate::content::{temp_file, BlobError, Blobs};
use crate::digest::Digest;
use crate::durable;
use crate::import::ImportError;
use crate::layers::{LayerCache, LayerError, LayerJob};
use crate::progress::NoProgress;
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
pub(crate) struct ImageRecord {
    pub(crate) name: String,
    pub(crate) manifest: Digest,
    pub(crate) config: Digest,
    pub(crate) platform: String,
    pub(crate) loaded: u64,
}

/// `<root>/leases/<holder>.json`: images (manifest digests) a pod or other holder uses.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Lease {
    pub(crate) holder: String,
    pub(crate) images: Vec<Digest>,
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

/// The image store. Cheap to open; every method takes the locks it needs.
pub struct ImageStore {
    pub(crate) root: PathBuf,
    pub(crate) blobs: Blobs,
    pub(crate) layers: LayerCache,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
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

    pub(crate) fn lock(&self, exclusive: bool) -> Result<Flock<File>, StoreError> {
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

    pub(crate) fn read_image(
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

    pub(crate) fn layer_jobs(&self, image: &Image) -> Result<Vec<LayerJob>, StoreError> {
        Ok(self.layer_jobs_at(image, &|d| self.blobs.path(d)))
    }

    pub(crate) fn records(&self) -> Result<Vec<ImageRecord>, StoreError> {
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

    pub(crate) fn leases(&self) -> Result<Vec<Lease>, StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_record_names_are_plain_file_names() {
        let r = Reference::parse("localhost:5000/a/b:1.0").unwrap();
        assert_eq!(escape_ref(&r), "localhost%3A5000%2Fa%2Fb%3A1.0");
    }
}
