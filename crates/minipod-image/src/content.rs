//! The content store: blobs by sha256 under `<root>/blobs/sha256/<hex>`, each verified while
//! it streams in, written to a temp file and renamed, so a reader never sees a partial blob.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::digest::{Digest, HashingReader};
use crate::durable;

/// Manifests, indexes and configs are small; a bigger one is an attack (class 23).
pub(crate) const MAX_JSON: u64 = 8 << 20;

/// Why a blob could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{what}: content does not match digest {expected} (it is {actual})")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{what}: blob {digest} has {actual} bytes, expected {declared}")]
    SizeMismatch {
        what: String,
        digest: Digest,
        declared: u64,
        actual: u64,
    },
    #[error("{what}: blob {digest} is longer than the {declared} bytes its descriptor declares (cut off there)")]
    TooLong {
        what: String,
        digest: Digest,
        declared: u64,
    },
    #[error("{what}: blob {digest} is larger than the limit of {limit} bytes")]
    TooLarge {
        what: String,
        digest: Digest,
        limit: u64,
    },
    #[error("{what}: read failed")]
    Read {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("write blob under {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("blob {digest} is not in the store")]
    Missing { digest: Digest },
}

impl BlobError {
    /// True when the input was wrong (as opposed to the store failing).
    pub fn is_input(&self) -> bool {
        !matches!(self, BlobError::Write { .. })
    }
}

pub(crate) struct Blobs {
    dir: PathBuf,
    tmp: PathBuf,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique file in `dir`, created exclusively.
pub(crate) fn temp_file(dir: &Path, prefix: &str) -> io::Result<(PathBuf, File)> {
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = dir.join(format!("{prefix}-{}-{nanos}-{n}", std::process::id()));
        // 0600: the store is private (images may hold credentials or private code).
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Removes a temp file when dropped unless it was renamed into place.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

impl Blobs {
    pub(crate) fn new(dir: PathBuf, tmp: PathBuf) -> Self {
        Blobs { dir, tmp }
    }

    pub(crate) fn path(&self, d: &Digest) -> PathBuf {
        self.dir.join(d.hex())
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder temp files are written in before they are renamed into place.
    pub(crate) fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    /// Moves a blob that `staged` verified into this store (both live under the same root,
    /// so this is one rename: a reader sees the whole blob or none).
    pub(crate) fn adopt(&self, staged: &Blobs, d: &Digest) -> Result<(), BlobError> {
        let dest = self.path(d);
        // The staged file was synced when it was ingested.
        durable::rename(&staged.path(d), &dest)
            .map_err(|source| BlobError::Write { path: dest, source })
    }

    /// Size of a stored blob, `None` if absent.
    pub(crate) fn size(&self, d: &Digest) -> Option<u64> {
        fs::metadata(self.path(d)).ok().map(|m| m.len())
    }

    /// Streams `reader` into the store. When `expected` is given the content must hash to
    /// it, and when `size` is given it must be exactly that long (read capped at size + 1).
    /// `what` names the input in errors (file and entry).
    pub(crate) fn ingest(
        &self,
        reader: &mut dyn Read,
        expected: Option<&Digest>,
        size: Option<u64>,
        what: &str,
    ) -> Result<(Digest, u64), BlobError> {
        let write_err = |source| BlobError::Write {
            path: self.tmp.clone(),
            source,
        };
        let (tmp_path, mut file) = temp_file(&self.tmp, "blob").map_err(write_err)?;
        let mut guard = TempGuard(Some(tmp_path.clone()));
        let limited: Box<dyn Read + '_> = match size {
            Some(s) => Box::new(reader.take(s.saturating_add(1))),
            None => Box::new(reader),
        };
        let mut hashing = HashingReader::new(limited);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = hashing.read(&mut buf).map_err(|source| BlobError::Read {
                what: what.to_string(),
                source,
            })?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n]).map_err(write_err)?;
        }
        let (actual, count) = hashing.finish();
        if let Some(declared) = size {
            // Read at most one byte past the declared size: a longer stream is cut there.
            if count > declared {
                return Err(BlobError::TooLong {
                    what: what.to_string(),
                    digest: expected.cloned().unwrap_or(actual),
                    declared,
                });
            }
            if count != declared {
                return Err(BlobError::SizeMismatch {
                    what: what.to_string(),
                    digest: expected.cloned().unwrap_or(actual),
                    declared,
                    actual: count,
                });
            }
        }
        if let Some(expected) = expected {
            if &actual != expected {
                return Err(BlobError::DigestMismatch {
                    what: what.to_string(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        durable::sync_file(&file).map_err(write_err)?;
        drop(file);
        let dest = self.path(&actual);
        durable::rename(&tmp_path, &dest)
            .map_err(|source| BlobError::Write { path: dest, source })?;
        guard.0 = None;
        Ok((actual, count))
    }

    /// Reads a small blob (manifest, index, config) whole, refusing oversized ones.
    pub(crate) fn read_small(&self, d: &Digest, what: &str) -> Result<Vec<u8>, BlobError> {
        let file = File::open(self.path(d)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BlobError::Missing { digest: d.clone() },
            _ => BlobError::Read {
                what: what.to_string(),
                source: e,
            },
        })?;
        let mut data = Vec::new();
        file.take(MAX_JSON + 1)
            .read_to_end(&mut data)
            .map_err(|source| BlobError::Read {
                what: what.to_string(),
                source,
            })?;
        if data.len() as u64 > MAX_JSON {
            return Err(BlobError::TooLarge {
                what: what.to_string(),
                digest: d.clone(),
                limit: MAX_JSON,
            });
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_synced_before_its_rename_and_its_directory_after() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, tmpdir) = (tmp.path().join("blobs"), tmp.path().join("tmp"));
        fs::create_dir(&dir).unwrap();
        fs::create_dir(&tmpdir).unwrap();
        let blobs = Blobs::new(dir.clone(), tmpdir.clone());
        let d = Digest::of(b"data");
        let events = durable::events_of(|| {
            blobs
                .ingest(&mut &b"data"[..], Some(&d), Some(4), "t")
                .unwrap();
        });
        let dest = dir.join(d.hex());
        assert_eq!(
            events,
            [
                "file".to_string(),
                format!("rename {}", dest.display()),
                format!("dir {}", dir.display()),
            ]
        );
        // Adopting a staged blob: the rename, then the destination directory.
        let staged_dir = tmp.path().join("staged");
        fs::create_dir(&staged_dir).unwrap();
        let staged = Blobs::new(staged_dir, tmpdir);
        let e = Digest::of(b"more");
        staged
            .ingest(&mut &b"more"[..], Some(&e), None, "t")
            .unwrap();
        let events = durable::events_of(|| blobs.adopt(&staged, &e).unwrap());
        assert_eq!(
            events,
            [
                format!("rename {}", dir.join(e.hex()).display()),
                format!("dir {}", dir.display()),
            ]
        );
    }
}
