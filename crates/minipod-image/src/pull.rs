//! `image pull`: fetch an image from an OCI distribution registry into the store.
//!
//! Blobs stream into a staging folder under `<root>/tmp/` through the store's own verified
//! write path ([`Blobs::ingest`]: digest and size checked while hashing), layers are
//! unpacked from there, and only when everything is complete are the blobs renamed into
//! `blobs/sha256/` and the name written. A pull that fails or is killed midway therefore
//! adds nothing to the store (`prune` clears a staging folder a killed pull left).
//!
//! The network half uses `oci-client` on a current-thread tokio runtime that lives only as
//! long as the pull; the store half stays synchronous: a blob's byte stream is read through
//! [`StreamReader`], which blocks on the runtime for each chunk.

use std::fs::{self, DirBuilder};
use std::io::{self, Read};
use std::net::IpAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol, SizedStream};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use crate::content::{temp_file, BlobError, Blobs, MAX_JSON};
use crate::digest::Digest;
use crate::import::is_index;
use crate::progress::Progress;
use crate::reference::{ParseReferenceError, Reference};
use crate::store::{
    host_platform, parse_image, platform_of, select_platform_for, Image, ImageStore, LoadError,
    ParsePlatformError, Platform, StoreError,
};

/// How long connecting to a registry may take: an unreachable registry fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A registry that stops sending for this long is given up on.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Nested indexes followed at most (an index pointing at an index...).
const MAX_INDEX_DEPTH: usize = 4;

/// The manifest media types asked for (OCI and Docker schema 2, single and multi-platform).
const ACCEPTED: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// What `pull` needs besides the reference.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Talk HTTP instead of HTTPS (always so for loopback registries).
    pub plain_http: bool,
    /// The platform to pick from an index; this host's when `None`.
    pub platform: Option<Platform>,
    /// HTTP basic credentials (user, password).
    pub credentials: Option<(String, String)>,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub image: Image,
    /// The name already pointed at this manifest, whose content was complete.
    pub up_to_date: bool,
    /// Blobs downloaded (0 when only the manifest was fetched).
    pub fetched_blobs: usize,
}

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Reference(#[from] ParseReferenceError),
    #[error(transparent)]
    Platform(#[from] ParsePlatformError),
    #[error("start the network runtime")]
    Runtime(#[source] io::Error),
    #[error("{reference}: fetch manifest")]
    Manifest {
        reference: String,
        #[source]
        source: OciDistributionError,
    },
    #[error("{reference}: fetch blob {digest}")]
    Blob {
        reference: String,
        digest: Digest,
        #[source]
        source: OciDistributionError,
    },
    #[error("{reference}: registry sent digest {digest:?}, which is not a sha256 digest")]
    BadDigest { reference: String, digest: String },
    #[error("{reference}: {what} {digest}: not a manifest or an index (media type {media_type})")]
    MediaType {
        reference: String,
        what: &'static str,
        digest: Digest,
        media_type: String,
    },
    #[error("{reference}: {what} {digest}: invalid")]
    Invalid {
        reference: String,
        what: &'static str,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("{reference}: no manifest for {platform} in the index {index}")]
    NoPlatform {
        reference: String,
        platform: String,
        index: Digest,
    },
    #[error("{reference}: indexes nested deeper than {MAX_INDEX_DEPTH}")]
    TooDeep { reference: String },
    #[error(transparent)]
    Blobs(#[from] BlobError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("staging folder {}", path.display())]
    Staging {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl PullError {
    /// True when the user's input was wrong (a bad reference or platform), as opposed to
    /// the registry or the host failing.
    pub fn is_input(&self) -> bool {
        matches!(self, PullError::Reference(_) | PullError::Platform(_))
    }
}

/// Whether `domain` (host[:port]) is a loopback address. Docker treats such registries as
/// insecure (plain HTTP) by default, and so does minipod.
pub fn is_loopback_registry(domain: &str) -> bool {
    let host = match domain.strip_prefix('[') {
        // [::1]:5000
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => domain.rsplit_once(':').map_or(domain, |(h, _)| h),
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A staging folder of blobs; removed (with whatever it still holds) when dropped.
struct Staging {
    blobs: Blobs,
    dir: PathBuf,
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The network side of one pull.
struct Session {
    runtime: tokio::runtime::Runtime,
    client: oci_client::Client,
    auth: RegistryAuth,
    target: oci_client::Reference,
    /// The reference as the user sees it in errors.
    name: String,
}

impl Session {
    /// Fetches the manifest or index `target` names (by tag, or by `digest`).
    fn manifest(&self, digest: Option<&Digest>) -> Result<(Vec<u8>, Digest), PullError> {
        let target = match digest {
            Some(d) => self.target.clone_with_digest(d.to_string()),
            None => self.target.clone(),
        };
        let (body, got) = self
            .runtime
            .block_on(self.client.pull_manifest_raw(&target, &self.auth, ACCEPTED))
            .map_err(|source| PullError::Manifest {
                reference: self.name.clone(),
                source,
            })?;
        let got = Digest::parse(&got).map_err(|_| PullError::BadDigest {
            reference: self.name.clone(),
            digest: got.clone(),
        })?;
        if body.len() as u64 > MAX_JSON {
            return Err(BlobError::TooLarge {
                what: format!("{}: manifest", self.name),
                digest: got,
                limit: MAX_JSON,
            }
            .into());
        }
        Ok((body.to_vec(), got))
    }

    fn blob_stream(&self, digest: &Digest) -> Result<SizedStream, PullError> {
        let d = digest.to_string();
        self.runtime
            .block_on(self.client.pull_blob_stream(&self.target, d.as_str()))
            .map_err(|source| PullError::Blob {
                reference: self.name.clone(),
                digest: digest.clone(),
                source,
            })
    }
}

/// A blob's byte stream as a blocking reader, for [`Blobs::ingest`].
struct StreamReader<'a> {
    runtime: &'a tokio::runtime::Runtime,
    stream: SizedStream,
    chunk: bytes::Bytes,
    digest: &'a Digest,
    progress: &'a dyn Progress,
}

impl Read for StreamReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                Some(Ok(chunk)) => self.chunk = chunk,
                // oci-client checks the digest too, at the end of the stream. The store
                // checks the same bytes against the same digest (and the size) as they are
                // written, so let its error, which names the blob and both digests, speak.
                Some(Err(e)) if is_digest_error(&e) => return Ok(0),
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        self.progress.blob_advanced(self.digest, n as u64);
        Ok(n)
    }
}

fn is_digest_error(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<oci_client::errors::DigestError>())
}

/// What is known of the manifest of one platform after the index walk.
struct Resolved {
    digest: Digest,
    bytes: Vec<u8>,
    platform: String,
}

impl ImageStore {
    /// Pulls `reference` (normalised like `load`: `busybox` is
    /// `docker.io/library/busybox:latest`) from its registry, verifies every blob, unpacks
    /// the layers and names the image. Content already in the store is not downloaded
    /// again; an image that is complete costs one manifest request.
    pub fn pull(
        &self,
        reference: &str,
        options: &PullOptions,
        progress: &dyn Progress,
    ) -> Result<Pulled, PullError> {
        let reference = Reference::parse(reference)?;
        let name = reference.familiar();
        let target = oci_target(&reference);
        let plain = options.plain_http || is_loopback_registry(reference.domain());
        // rustls needs a process-wide crypto provider; a second install is a no-op error.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = ClientConfig {
            protocol: if plain {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            // minipod picks the platform itself, with the same rules as `load`.
            platform_resolver: None,
            ..ClientConfig::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(PullError::Runtime)?;
        let session = Session {
            runtime,
            client: oci_client::Client::new(config),
            auth: match &options.credentials {
                Some((u, p)) => RegistryAuth::Basic(u.clone(), p.clone()),
                None => RegistryAuth::Anonymous,
            },
            target,
            name,
        };

        let _lock = self.lock_shared()?;
        let staging = self.staging()?;
        let resolved = self.resolve(&session, &staging, reference.digest(), options)?;
        let manifest: ImageManifest =
            serde_json::from_slice(&resolved.bytes).map_err(|source| PullError::Invalid {
                reference: session.name.clone(),
                what: "manifest",
                digest: resolved.digest.clone(),
                source,
            })?;
        let mut fetched = 0;
        let config = manifest.config();
        let config_digest = descriptor_digest(&session, config)?;
        if self.fetch_blob(&session, &staging, config, "config", progress)? {
            fetched += 1;
        }
        for layer in manifest.layers() {
            if self.fetch_blob(&session, &staging, layer, "layer", progress)? {
                fetched += 1;
            }
        }
        let config_bytes = match staging.blobs.size(&config_digest) {
            Some(_) => staging.blobs.read_small(&config_digest, "config")?,
            None => self.blobs().read_small(&config_digest, "config")?,
        };
        let image = parse_image(
            reference.clone(),
            (&resolved.digest, &resolved.bytes),
            (&config_digest, &config_bytes),
            &resolved.platform,
        )?;
        let jobs = self.layer_jobs_at(&image, &|d| {
            if staging.blobs.size(d).is_some() {
                staging.blobs.path(d)
            } else {
                self.blobs().path(d)
            }
        });
        self.layer_cache()
            .ensure_all(&jobs, progress)
            .map_err(LoadError::from)?;
        // Complete and verified: move the staged blobs in (manifests and config last, so a
        // manifest in the store always has its layers), then name the image.
        let mut staged: Vec<Digest> = Vec::new();
        for e in fs::read_dir(&staging.dir)
            .map_err(|source| PullError::Staging {
                path: staging.dir.clone(),
                source,
            })?
            .flatten()
        {
            if let Some(d) = e
                .file_name()
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
            {
                staged.push(d);
            }
        }
        let last = [&resolved.digest, &config_digest];
        staged.sort_by_key(|d| last.contains(&d));
        for d in &staged {
            self.blobs().adopt(&staging.blobs, d)?;
        }
        let up_to_date = fetched == 0
            && self.recorded_manifest(&image.reference).as_ref() == Some(&image.manifest_digest);
        if !up_to_date {
            self.write_record(&image)?;
        }
        log::info!(
            "pulled {} ({}, {fetched} blobs fetched)",
            image.reference.familiar(),
            image.id()
        );
        Ok(Pulled {
            image,
            up_to_date,
            fetched_blobs: fetched,
        })
    }

    fn staging(&self) -> Result<Staging, PullError> {
        let tmp = self.blobs().tmp_dir().to_path_buf();
        let err = |path: &PathBuf| {
            let path = path.clone();
            move |source| PullError::Staging { path, source }
        };
        // A unique name from the temp-file helper, turned into a folder.
        let (path, file) = temp_file(&tmp, "pull").map_err(err(&tmp))?;
        drop(file);
        fs::remove_file(&path).map_err(err(&path))?;
        DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(err(&path))?;
        Ok(Staging {
            blobs: Blobs::new(path.clone(), tmp),
            dir: path,
        })
    }

    /// Fetches the manifest the reference names and walks indexes down to the manifest for
    /// the platform. Manifests already in the store are read from it (content addressed,
    /// verified on write); the rest are stored in `staging`, checked against their digest.
    fn resolve(
        &self,
        session: &Session,
        staging: &Staging,
        pinned: Option<&Digest>,
        options: &PullOptions,
    ) -> Result<Resolved, PullError> {
        let what = |d: &Digest| format!("{}: manifest {d}", session.name);
        // The reference itself is always asked for: a tag may have moved.
        let (mut bytes, mut digest) = session.manifest(pinned)?;
        if let Some(p) = pinned {
            if &digest != p {
                return Err(BlobError::DigestMismatch {
                    what: what(p),
                    expected: p.clone(),
                    actual: digest,
                }
                .into());
            }
        }
        self.stage_bytes(staging, &bytes, &digest, None, &what(&digest))?;
        let mut platform = None;
        for _ in 0..=MAX_INDEX_DEPTH {
            let kind = manifest_kind(&bytes);
            match kind {
                Kind::Manifest => {
                    return Ok(Resolved {
                        digest,
                        bytes,
                        platform: platform.unwrap_or_else(|| match &options.platform {
                            Some(p) => p.to_string(),
                            None => host_platform().to_string(),
                        }),
                    })
                }
                Kind::Other(media_type) => {
                    return Err(PullError::MediaType {
                        reference: session.name.clone(),
                        what: "manifest",
                        digest,
                        media_type,
                    })
                }
                Kind::Index => {}
            }
            let index: ImageIndex =
                serde_json::from_slice(&bytes).map_err(|source| PullError::Invalid {
                    reference: session.name.clone(),
                    what: "index",
                    digest: digest.clone(),
                    source,
                })?;
            let chosen = select_platform_for(index.manifests(), options.platform.as_ref())
                .ok_or_else(|| PullError::NoPlatform {
                    reference: session.name.clone(),
                    platform: options
                        .platform
                        .as_ref()
                        .map_or_else(|| host_platform().to_string(), |p| p.to_string()),
                    index: digest.clone(),
                })?;
            platform = Some(platform_of(&chosen));
            let child = descriptor_digest(session, &chosen)?;
            let stored = self
                .blobs()
                .size(&child)
                .filter(|s| *s == chosen.size())
                .map(|_| self.blobs().read_small(&child, &what(&child)))
                .transpose()?;
            bytes = match stored {
                Some(b) => b,
                None => {
                    // Checked against the index's digest and size as it is staged.
                    let (b, _) = session.manifest(Some(&child))?;
                    self.stage_bytes(staging, &b, &child, Some(chosen.size()), &what(&child))?;
                    b
                }
            };
            digest = child;
        }
        Err(PullError::TooDeep {
            reference: session.name.clone(),
        })
    }

    /// Stores manifest bytes in `staging` (through the verified write path) unless the
    /// store has them.
    fn stage_bytes(
        &self,
        staging: &Staging,
        bytes: &[u8],
        digest: &Digest,
        size: Option<u64>,
        what: &str,
    ) -> Result<(), PullError> {
        if self.blobs().size(digest) == Some(bytes.len() as u64) {
            return Ok(());
        }
        staging
            .blobs
            .ingest(&mut &bytes[..], Some(digest), size, what)?;
        Ok(())
    }

    /// Downloads one config or layer blob into `staging` unless the store (or this pull)
    /// has it already. Returns whether it downloaded.
    fn fetch_blob(
        &self,
        session: &Session,
        staging: &Staging,
        desc: &Descriptor,
        kind: &str,
        progress: &dyn Progress,
    ) -> Result<bool, PullError> {
        let digest = descriptor_digest(session, desc)?;
        let size = desc.size();
        if self.blobs().size(&digest) == Some(size) || staging.blobs.size(&digest) == Some(size) {
            progress.blob_present(&digest);
            return Ok(false);
        }
        progress.blob_started(&digest, size);
        let mut reader = StreamReader {
            runtime: &session.runtime,
            stream: session.blob_stream(&digest)?,
            chunk: bytes::Bytes::new(),
            digest: &digest,
            progress,
        };
        let what = format!("{}: {kind} {digest}", session.name);
        staging
            .blobs
            .ingest(&mut reader, Some(&digest), Some(size), &what)?;
        progress.blob_done(&digest);
        Ok(true)
    }
}

/// The oci-client form of a reference. Ours is already normalised and validated, so its
/// canonical string parses.
fn oci_target(r: &Reference) -> oci_client::Reference {
    match (r.tag(), r.digest()) {
        (_, Some(d)) => {
            oci_client::Reference::with_digest(r.domain().into(), r.path().into(), d.to_string())
        }
        (Some(t), None) => {
            oci_client::Reference::with_tag(r.domain().into(), r.path().into(), t.into())
        }
        // Invariant: Reference::parse always sets a tag or a digest.
        (None, None) => {
            oci_client::Reference::with_tag(r.domain().into(), r.path().into(), "latest".into())
        }
    }
}

/// A descriptor's digest, refused unless it is a well-formed sha256 digest (class 23).
fn descriptor_digest(session: &Session, d: &Descriptor) -> Result<Digest, PullError> {
    Digest::parse(d.digest().as_ref()).map_err(|_| PullError::BadDigest {
        reference: session.name.clone(),
        digest: d.digest().to_string(),
    })
}

enum Kind {
    Manifest,
    Index,
    Other(String),
}

/// Tells an index from a manifest by `mediaType`, or by shape when it is absent (OCI makes
/// the field optional).
fn manifest_kind(bytes: &[u8]) -> Kind {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        config: Option<serde_json::Value>,
    }
    let Ok(p) = serde_json::from_slice::<Probe>(bytes) else {
        // Parsing it as a manifest reports the JSON error with the digest.
        return Kind::Manifest;
    };
    match p.media_type.as_deref() {
        Some(mt) if is_index(&mt.into()) => Kind::Index,
        Some(
            "application/vnd.oci.image.manifest.v1+json"
            | "application/vnd.docker.distribution.manifest.v2+json",
        ) => Kind::Manifest,
        Some(other) => Kind::Other(other.to_string()),
        None if p.manifests.is_some() => Kind::Index,
        None if p.config.is_some() => Kind::Manifest,
        None => Kind::Other("(none)".to_string()),
    }
}

#[cfg(test)]
#[path = "pull_tests.rs"]
mod tests;
