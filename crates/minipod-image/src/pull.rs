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
use oci_client::RegistryOperation;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use crate::content::{temp_file, BlobError, Blobs, MAX_JSON};
use crate::digest::Digest;
use crate::import::is_index;
use crate::platform::{
    host_platform, platform_of, select_platform_for, ParsePlatformError, Platform,
};
use crate::progress::Progress;
use crate::reference::{ParseReferenceError, Reference};
use crate::store::{parse_image, Image, ImageStore, LoadError, StoreError};

/// How long connecting to a registry may take: an unreachable registry fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A registry that sends nothing for this long is given up on (containerd and docker have
/// no such timeout by default and hang; a stalled pull would hold `run` forever).
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);
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
    /// How long the registry may send nothing (no response, no body bytes) before the pull
    /// fails; [`DEFAULT_STALL_TIMEOUT`] when `None`.
    pub stall_timeout: Option<Duration>,
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
    #[error("{reference}: fetch manifest {url}")]
    Http {
        reference: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{reference}: fetch manifest {url}: registry answered {status}: {message}")]
    Status {
        reference: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error(
        "{reference}: {what} is larger than the limit of {limit} bytes (refused while it streamed)"
    )]
    TooLarge {
        reference: String,
        what: String,
        limit: u64,
    },
    #[error("{reference}: {what}: the registry sent nothing for {secs} s; giving up")]
    Stalled {
        reference: String,
        what: String,
        secs: u64,
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
    /// Manifests are fetched with this client (oci-client's buffers them whole).
    http: reqwest::Client,
    scheme: &'static str,
    stall: Duration,
    /// The Authorization header for manifest requests, once the registry was asked.
    authorization: std::cell::OnceCell<Option<String>>,
}

impl Session {
    /// Fetches the manifest or index `target` names (by tag, or by `digest`). The body is
    /// read chunk by chunk and refused as soon as it passes [`MAX_JSON`] (or at once when
    /// Content-Length says so): oci-client's `pull_manifest_raw` would buffer all of it
    /// first. The digest is computed here and must match a pinned one.
    fn manifest(&self, digest: Option<&Digest>) -> Result<(Vec<u8>, Digest), PullError> {
        let target = match digest {
            Some(d) => self.target.clone_with_digest(d.to_string()),
            None => self.target.clone(),
        };
        let what = match digest {
            Some(d) => format!("manifest {d}"),
            None => "manifest".to_string(),
        };
        let reference = target
            .digest()
            .or(target.tag())
            .unwrap_or("latest")
            .to_string();
        let url = format!(
            "{}://{}/v2/{}/manifests/{reference}",
            self.scheme,
            target.resolve_registry(),
            target.repository()
        );
        let http_err = |source| PullError::Http {
            reference: self.name.clone(),
            url: url.clone(),
            source,
        };
        let body = self.runtime.block_on(async {
            let authorization = match self.authorization.get() {
                Some(a) => a.clone(),
                None => {
                    let a = self.stalling(&what, self.authorize(&target)).await??;
                    self.authorization.get_or_init(|| a).clone()
                }
            };
            let mut req = self.http.get(&url).header("Accept", ACCEPTED.join(", "));
            if let Some(a) = authorization {
                req = req.header("Authorization", a);
            }
            let mut res = self.stalling(&what, req.send()).await?.map_err(http_err)?;
            let status = res.status();
            let too_large = |_: Option<&Digest>| PullError::TooLarge {
                reference: self.name.clone(),
                what: what.clone(),
                limit: MAX_JSON,
            };
            if status.is_success() && res.content_length().is_some_and(|n| n > MAX_JSON) {
                return Err(too_large(digest));
            }
            let mut body: Vec<u8> = Vec::new();
            let limit = if status.is_success() { MAX_JSON } else { 4096 };
            loop {
                let chunk = self.stalling(&what, res.chunk()).await?.map_err(http_err)?;
                let Some(chunk) = chunk else { break };
                if (body.len() + chunk.len()) as u64 > limit {
                    if status.is_success() {
                        return Err(too_large(digest));
                    }
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            if !status.is_success() {
                return Err(PullError::Status {
                    reference: self.name.clone(),
                    url: url.clone(),
                    status: status.as_u16(),
                    message: registry_message(&body),
                });
            }
            Ok(body)
        })?;
        let got = Digest::of(&body);
        if let Some(d) = digest.or(self.pinned().as_ref()) {
            if &got != d {
                return Err(BlobError::DigestMismatch {
                    what: format!("{}: {what}", self.name),
                    expected: d.clone(),
                    actual: got,
                }
                .into());
            }
        }
        Ok((body, got))
    }

    /// The digest the user's reference pins, if any.
    fn pinned(&self) -> Option<Digest> {
        self.target.digest().and_then(|d| Digest::parse(d).ok())
    }

    /// The Authorization header for pulls: oci-client's token exchange (bearer), or basic
    /// credentials when the registry asked for those.
    async fn authorize(&self, target: &oci_client::Reference) -> Result<Option<String>, PullError> {
        let token = self
            .client
            .auth(target, &self.auth, RegistryOperation::Pull)
            .await
            .map_err(|source| PullError::Manifest {
                reference: self.name.clone(),
                source,
            })?;
        Ok(match (token, &self.auth) {
            (Some(t), _) => Some(format!("Bearer {t}")),
            (None, RegistryAuth::Basic(u, p)) => Some(format!(
                "Basic {}",
                base64_encode(format!("{u}:{p}").as_bytes())
            )),
            (None, _) => None,
        })
    }

    /// `fut`, failed with [`PullError::Stalled`] when it takes longer than the stall
    /// timeout (each call covers one request or one chunk: progress resets it).
    async fn stalling<F: std::future::Future>(
        &self,
        what: &str,
        fut: F,
    ) -> Result<F::Output, PullError> {
        tokio::time::timeout(self.stall, fut)
            .await
            .map_err(|_| PullError::Stalled {
                reference: self.name.clone(),
                what: what.to_string(),
                secs: self.stall.as_secs().max(1),
            })
    }

    fn blob_stream(&self, digest: &Digest) -> Result<SizedStream, PullError> {
        let d = digest.to_string();
        let what = format!("blob {digest}");
        self.runtime
            .block_on(self.stalling(
                &what,
                self.client.pull_blob_stream(&self.target, d.as_str()),
            ))?
            .map_err(|source| PullError::Blob {
                reference: self.name.clone(),
                digest: digest.clone(),
                source,
            })
    }
}

/// The `message` of a registry's JSON error body (distribution spec "errors"), else the
/// start of the body, on one line.
fn registry_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<serde_json::Value>,
    }
    let text = match serde_json::from_slice::<Errors>(body) {
        Ok(e) => e
            .errors
            .iter()
            .filter_map(|e| {
                e.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .collect::<Vec<_>>()
            .join("; "),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let one: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    one.trim().to_string()
}

/// Standard base64 with padding (RFC 4648), for a Basic Authorization header.
fn base64_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A blob's byte stream as a blocking reader, for [`Blobs::ingest`].
struct StreamReader<'a> {
    runtime: &'a tokio::runtime::Runtime,
    stall: Duration,
    stream: SizedStream,
    chunk: bytes::Bytes,
    digest: &'a Digest,
    progress: &'a dyn Progress,
}

impl Read for StreamReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let (stall, stream) = (self.stall, &mut self.stream);
            // The timer is made inside the runtime (it needs its time driver).
            let next = self
                .runtime
                .block_on(async { tokio::time::timeout(stall, stream.next()).await })
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the registry sent nothing for {} s; giving up",
                            self.stall.as_secs().max(1)
                        ),
                    )
                })?;
            match next {
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
        let stall = options.stall_timeout.unwrap_or_else(stall_timeout_from_env);
        // reqwest's own read timeout is only a backstop, later than minipod's per-chunk
        // one, whose error says what stalled.
        let backstop = stall
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(5));
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(backstop)
            .build()
            .map_err(|e| PullError::Runtime(io::Error::other(e)))?;
        let config = ClientConfig {
            protocol: if plain {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(backstop),
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
            http,
            scheme: if plain { "http" } else { "https" },
            stall,
            authorization: std::cell::OnceCell::new(),
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
            stall: session.stall,
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

/// Sets the stall timeout of pulls (seconds), for `run` and `image pull` alike.
pub const STALL_TIMEOUT_ENV: &str = "MINIPOD_PULL_STALL_TIMEOUT";

/// [`DEFAULT_STALL_TIMEOUT`], or `MINIPOD_PULL_STALL_TIMEOUT` seconds when that is set to a
/// positive number (anything else is reported and ignored).
fn stall_timeout_from_env() -> Duration {
    match std::env::var(STALL_TIMEOUT_ENV) {
        Err(_) => DEFAULT_STALL_TIMEOUT,
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 && n <= 86_400 => Duration::from_secs(n),
            _ => {
                log::warn!(
                    "{STALL_TIMEOUT_ENV}={v:?} is not a number of seconds (1-86400); using {} s",
                    DEFAULT_STALL_TIMEOUT.as_secs()
                );
                DEFAULT_STALL_TIMEOUT
            }
        },
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
mod tests;
