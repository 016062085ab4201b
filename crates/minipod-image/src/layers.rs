//! The layer cache: each layer unpacked once, by diff_id, under
//! `<root>/layers/sha256/<hex>/fs`, with `<hex>/ready` written last. A directory without the
//! marker is debris of an interrupted unpack and is redone.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use nix::fcntl::{Flock, FlockArg};
use oci_spec::image::MediaType;

use crate::digest::{Digest, HashingReader};
use crate::durable;
use crate::progress::Progress;
use crate::tarframe::{TarFrame, TarLimitError};
use crate::unpack::{unpack_layer, UnpackError, UnpackLimits};

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// zstd's own default decoder limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT): a frame asking for a
/// bigger window is a memory bomb (class 21).
const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// Why a layer could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer {blob}: unsupported media type {media_type}")]
    MediaType { blob: Digest, media_type: String },
    #[error("layer {blob}: media type {media_type} does not match its content")]
    Compression { blob: Digest, media_type: String },
    #[error(
        "layer {blob}: uncompressed content has digest {actual}, the image config says {expected}"
    )]
    DiffIdMismatch {
        blob: Digest,
        expected: Digest,
        actual: Digest,
    },
    #[error("layer {blob}")]
    Unpack {
        blob: Digest,
        #[source]
        source: UnpackError,
    },
    #[error("layer {blob}: decompress")]
    Decompress {
        blob: Digest,
        #[source]
        source: io::Error,
    },
    #[error("layer {diff_id}: {}", path.display())]
    Io {
        diff_id: Digest,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl LayerError {
    /// True when the image content was wrong (as opposed to the host failing).
    pub fn is_input(&self) -> bool {
        !matches!(self, LayerError::Io { .. })
    }
}

/// One layer to make ready: its compressed blob and the diff_id it must unpack to.
#[derive(Debug, Clone)]
pub(crate) struct LayerJob {
    pub blob: Digest,
    pub blob_path: PathBuf,
    pub media_type: MediaType,
    pub diff_id: Digest,
}

pub(crate) struct LayerCache {
    dir: PathBuf,
    limits: UnpackLimits,
}

enum Compression {
    None,
    Gzip,
    Zstd,
}

fn expected_compression(mt: &MediaType) -> Option<Option<Compression>> {
    // Some(None): the media type allows detection by magic bytes.
    Some(match mt {
        MediaType::ImageLayer => Some(Compression::None),
        MediaType::ImageLayerGzip => Some(Compression::Gzip),
        MediaType::ImageLayerZstd => Some(Compression::Zstd),
        MediaType::Other(s) => match s.as_str() {
            "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
            "application/vnd.docker.image.rootfs.diff.tar.gzip" => Some(Compression::Gzip),
            "application/vnd.docker.image.rootfs.diff.tar.zstd" => Some(Compression::Zstd),
            _ => return None,
        },
        _ => return None,
    })
}

impl LayerCache {
    pub(crate) fn new(dir: PathBuf, limits: UnpackLimits) -> Self {
        LayerCache { dir, limits }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The unpacked tree of a layer (the overlay lowerdir).
    pub(crate) fn fs_path(&self, diff_id: &Digest) -> PathBuf {
        self.dir.join(diff_id.hex()).join("fs")
    }

    pub(crate) fn is_ready(&self, diff_id: &Digest) -> bool {
        self.dir.join(diff_id.hex()).join("ready").exists()
    }

    /// Makes every layer ready, unpacking missing ones in parallel (one thread per core):
    /// each layer goes into its own directory in overlay form, so order does not matter.
    pub(crate) fn ensure_all(
        &self,
        jobs: &[LayerJob],
        progress: &dyn Progress,
    ) -> Result<(), LayerError> {
        let mut todo: Vec<&LayerJob> = Vec::new();
        for j in jobs {
            if !self.is_ready(&j.diff_id) && !todo.iter().any(|t| t.diff_id == j.diff_id) {
                todo.push(j);
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        progress.unpack_started(todo.len());
        // Largest first, so that the last layer to start is a small one.
        todo.sort_by_key(|j| {
            std::cmp::Reverse(fs::metadata(&j.blob_path).map(|m| m.len()).unwrap_or(0))
        });
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(todo.len());
        let next = AtomicUsize::new(0);
        let first_error: Mutex<Option<LayerError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = todo.get(i) else { break };
                    let result = self.ensure(job);
                    if result.is_ok() {
                        progress.layer_unpacked(&job.diff_id);
                    }
                    if let Err(e) = result {
                        let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(e);
                        // Stop the other workers from taking new layers.
                        next.store(todo.len(), Ordering::Relaxed);
                        break;
                    }
                });
            }
        });
        match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Unpacks one layer unless it is ready; concurrent callers serialise on a lock file.
    pub(crate) fn ensure(&self, job: &LayerJob) -> Result<(), LayerError> {
        let hex = job.diff_id.hex();
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            let diff_id = job.diff_id.clone();
            move |source| LayerError::Io {
                diff_id,
                path,
                source,
            }
        };
        let lock_path = self.dir.join(format!("{hex}.lock"));
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        let _lock = Flock::lock(lock_file, FlockArg::LockExclusive)
            .map_err(|(_, e)| io_err(&lock_path)(e.into()))?;
        if self.is_ready(&job.diff_id) {
            return Ok(());
        }
        let layer_dir = self.dir.join(hex);
        if layer_dir.exists() {
            fs::remove_dir_all(&layer_dir).map_err(io_err(&layer_dir))?;
        }
        let fs_dir = layer_dir.join("fs");
        fs::create_dir_all(&fs_dir).map_err(io_err(&fs_dir))?;
        match self.unpack_into(job, &fs_dir) {
            Ok(()) => {
                // The layer's files reach the disk before the marker that vouches for
                // them, and the marker itself is durable before the layer is used: after
                // a power cut a layer is either marked and complete, or redone.
                durable::sync_fs(&fs_dir).map_err(io_err(&fs_dir))?;
                let ready = layer_dir.join("ready");
                let tmp = layer_dir.join("ready.tmp");
                File::create(&tmp)
                    .and_then(|f| durable::sync_file(&f))
                    .map_err(io_err(&tmp))?;
                durable::rename(&tmp, &ready).map_err(io_err(&ready))?;
                // The layer directory's own entry in layers/sha256.
                durable::sync_dir(&self.dir).map_err(io_err(&self.dir))?;
                Ok(())
            }
            Err(e) => {
                // Nothing partial stays visible.
                let _ = fs::remove_dir_all(&layer_dir);
                Err(e)
            }
        }
    }

    fn unpack_into(&self, job: &LayerJob, fs_dir: &Path) -> Result<(), LayerError> {
        let blob = || job.blob.clone();
        let Some(declared) = expected_compression(&job.media_type) else {
            return Err(LayerError::MediaType {
                blob: blob(),
                media_type: job.media_type.to_string(),
            });
        };
        let file = File::open(&job.blob_path).map_err(|source| LayerError::Io {
            diff_id: job.diff_id.clone(),
            path: job.blob_path.clone(),
            source,
        })?;
        let mut input = BufReader::with_capacity(256 * 1024, file);
        let head = std::io::BufRead::fill_buf(&mut input)
            .map_err(|source| LayerError::Decompress {
                blob: blob(),
                source,
            })?
            .to_vec();
        // Detected by magic bytes, as Docker does; a media type that says otherwise is
        // refused rather than trusted.
        let detected = if head.starts_with(GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        };
        if let Some(d) = &declared {
            if std::mem::discriminant(d) != std::mem::discriminant(&detected) {
                return Err(LayerError::Compression {
                    blob: blob(),
                    media_type: job.media_type.to_string(),
                });
            }
        }
        let decoder: Box<dyn Read> = match detected {
            Compression::None => Box::new(input),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            Compression::Zstd => {
                let mut d = zstd::stream::read::Decoder::with_buffer(input).map_err(|source| {
                    LayerError::Decompress {
                        blob: blob(),
                        source,
                    }
                })?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)
                    .map_err(|source| LayerError::Decompress {
                        blob: blob(),
                        source,
                    })?;
                Box::new(d)
            }
        };
        // The framing caps sit under the hash, so that the drain below is bounded too.
        let mut reader = HashingReader::new(TarFrame::new(decoder, self.limits.frame()));
        unpack_layer(&mut reader, fs_dir, &self.limits).map_err(|source| LayerError::Unpack {
            blob: blob(),
            source,
        })?;
        // The diff_id covers the whole uncompressed stream, padding after the tar end too
        // (containerd's applier drains the rest the same way); TarFrame refuses more than
        // a record's worth of it instead of decompressing an endless tail.
        io::copy(&mut reader, &mut io::sink()).map_err(|source| {
            match TarLimitError::of(&source) {
                Some(l) => LayerError::Unpack {
                    blob: blob(),
                    source: UnpackError::Frame(l),
                },
                None => LayerError::Decompress {
                    blob: blob(),
                    source,
                },
            }
        })?;
        let (actual, _) = reader.finish();
        if actual != job.diff_id {
            return Err(LayerError::DiffIdMismatch {
                blob: blob(),
                expected: job.diff_id.clone(),
                actual,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
