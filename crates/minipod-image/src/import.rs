//! Reading image files: OCI image layout directories, oci-archives (the same as a tar) and
//! `docker save` archives (legacy `<id>/layer.tar` and the Docker >= 25 form with an embedded
//! OCI layout). Every blob goes into the content store verified; names and paths from the
//! input never become store paths.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex, MediaType};
use serde::Deserialize;

use crate::content::{BlobError, Blobs, MAX_JSON};
use crate::digest::Digest;
use crate::unpack::clean_path;

pub(crate) mod load;

/// Why an image file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: not an image archive or layout (no index.json or manifest.json)", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("{}: read archive", path.display())]
    ReadArchive {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {entry}: read", path.display())]
    ReadEntry {
        path: PathBuf,
        entry: String,
        #[source]
        source: io::Error,
    },
    #[error("{}: {entry} is missing", path.display())]
    Missing { path: PathBuf, entry: String },
    #[error("{}: {entry}: invalid JSON", path.display())]
    Json {
        path: PathBuf,
        entry: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: {entry}: bad path {bad:?}", path.display())]
    BadPath {
        path: PathBuf,
        entry: String,
        bad: String,
    },
    #[error("{}: {entry}: larger than the limit of {MAX_JSON} bytes", path.display())]
    TooLarge { path: PathBuf, entry: String },
    #[error(transparent)]
    Blob(#[from] BlobError),
}

impl ImportError {
    pub fn is_input(&self) -> bool {
        match self {
            ImportError::Blob(b) => b.is_input(),
            _ => true,
        }
    }
}

/// What a file in an archive became while streaming it.
#[derive(Debug, Clone)]
pub(crate) enum Stored {
    Small(Vec<u8>),
    Blob(Digest, u64),
}

/// A source of image files, addressed by clean relative paths.
pub(crate) enum Source {
    Dir {
        path: PathBuf,
        root: pathrs::Root,
    },
    Archive {
        path: PathBuf,
        files: HashMap<PathBuf, Stored>,
        links: HashMap<PathBuf, PathBuf>,
    },
}

/// `docker save`'s manifest.json entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DockerEntry {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

fn is_small_name(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".json") || name == "oci-layout" || name == "repositories" || name == "VERSION"
}

/// `blobs/sha256/<hex>` → the digest its name promises.
fn blob_name_digest(p: &Path) -> Option<Digest> {
    let s = p.to_str()?;
    let hex = s.strip_prefix("blobs/sha256/")?;
    Digest::from_hex(hex).ok()
}

/// Legacy docker config `<hex>.json` at the top: named by its own digest.
fn legacy_config_digest(p: &Path) -> Option<Digest> {
    let s = p.to_str()?;
    Digest::from_hex(s.strip_suffix(".json")?).ok()
}

impl Source {
    pub(crate) fn open(path: &Path, blobs: &Blobs) -> Result<Source, ImportError> {
        let meta = std::fs::metadata(path).map_err(|source| ImportError::ReadArchive {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            let root = pathrs::Root::open(path).map_err(|e| ImportError::ReadArchive {
                path: path.to_path_buf(),
                source: io::Error::other(e),
            })?;
            return Ok(Source::Dir {
                path: path.to_path_buf(),
                root,
            });
        }
        Self::read_archive(path, blobs)
    }

    /// Streams the archive once: blobs go straight into the store (verified against their
    /// names when named by digest), small JSON files stay in memory.
    fn read_archive(path: &Path, blobs: &Blobs) -> Result<Source, ImportError> {
        let read_err = |e| ImportError::ReadArchive {
            path: path.to_path_buf(),
            source: crate::unpack::one_line(e),
        };
        let file = File::open(path).map_err(read_err)?;
        let mut input = BufReader::with_capacity(256 * 1024, file);
        let gz = input
            .fill_buf()
            .map_err(read_err)?
            .starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read> = if gz {
            Box::new(flate2::bufread::MultiGzDecoder::new(input))
        } else {
            Box::new(input)
        };
        let mut archive = tar::Archive::new(reader);
        let mut files = HashMap::new();
        let mut links = HashMap::new();
        for entry in archive.entries().map_err(read_err)? {
            let mut entry = entry.map_err(read_err)?;
            let raw = entry.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&raw).into_owned();
            let Ok(Some(rel)) = clean_path(&raw) else {
                continue;
            };
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let Some(target) = entry.link_name_bytes() else {
                    continue;
                };
                let base = if kind.is_symlink() {
                    rel.parent()
                        .unwrap_or(Path::new(""))
                        .as_os_str()
                        .as_encoded_bytes()
                        .to_vec()
                } else {
                    Vec::new()
                };
                let mut joined = base;
                joined.push(b'/');
                joined.extend_from_slice(&target);
                if let Ok(Some(t)) = clean_path(&joined) {
                    links.insert(rel, t);
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let what = format!("{}: {shown}", path.display());
            let expected = blob_name_digest(&rel).or_else(|| {
                (rel.components().count() == 1)
                    .then(|| legacy_config_digest(&rel))
                    .flatten()
            });
            let stored = if expected.is_none() && is_small_name(&rel) {
                if entry.size() > MAX_JSON {
                    return Err(ImportError::TooLarge {
                        path: path.to_path_buf(),
                        entry: shown,
                    });
                }
                let mut data = Vec::new();
                entry
                    .read_to_end(&mut data)
                    .map_err(|source| ImportError::ReadEntry {
                        path: path.to_path_buf(),
                        entry: shown.clone(),
                        source,
                    })?;
                Stored::Small(data)
            } else {
                // The tar header's size: a truncated archive ends the entry early.
                let size = entry.size();
                let (d, n) = blobs.ingest(&mut entry, expected.as_ref(), Some(size), &what)?;
                Stored::Blob(d, n)
            };
            files.insert(rel, stored);
        }
        Ok(Source::Archive {
            path: path.to_path_buf(),
            files,
            links,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        match self {
            Source::Dir { path, .. } | Source::Archive { path, .. } => path,
        }
    }

    fn clean(&self, entry: &str) -> Result<PathBuf, ImportError> {
        match clean_path(entry.as_bytes()) {
            Ok(Some(p)) => Ok(p),
            _ => Err(ImportError::BadPath {
                path: self.path().to_path_buf(),
                entry: entry.to_string(),
                bad: entry.to_string(),
            }),
        }
    }

    fn lookup(&self, rel: &Path) -> Option<&Stored> {
        let Source::Archive { files, links, .. } = self else {
            return None;
        };
        let mut p = rel.to_path_buf();
        for _ in 0..16 {
            if let Some(s) = files.get(&p) {
                return Some(s);
            }
            p = links.get(&p)?.clone();
        }
        None
    }

    pub(crate) fn exists(&self, entry: &str) -> bool {
        let Ok(rel) = self.clean(entry) else {
            return false;
        };
        match self {
            Source::Dir { root, .. } => root.resolve(&rel).is_ok(),
            Source::Archive { .. } => self.lookup(&rel).is_some(),
        }
    }

    fn open_in_dir(&self, rel: &Path, entry: &str) -> Result<File, ImportError> {
        let Source::Dir { root, path } = self else {
            unreachable!("open_in_dir is only called for directories")
        };
        let handle = root.resolve(rel).map_err(|_| ImportError::Missing {
            path: path.clone(),
            entry: entry.to_string(),
        })?;
        handle
            .reopen(pathrs::flags::OpenFlags::O_RDONLY)
            .map_err(|e| ImportError::ReadEntry {
                path: path.clone(),
                entry: entry.to_string(),
                source: io::Error::other(e),
            })
    }

    /// A small file (index.json, manifest.json, a config named by path), capped.
    pub(crate) fn read_small(&self, entry: &str, blobs: &Blobs) -> Result<Vec<u8>, ImportError> {
        let rel = self.clean(entry)?;
        let missing = || ImportError::Missing {
            path: self.path().to_path_buf(),
            entry: entry.to_string(),
        };
        match self {
            Source::Dir { .. } => {
                let file = self.open_in_dir(&rel, entry)?;
                let mut data = Vec::new();
                file.take(MAX_JSON + 1)
                    .read_to_end(&mut data)
                    .map_err(|source| ImportError::ReadEntry {
                        path: self.path().to_path_buf(),
                        entry: entry.to_string(),
                        source,
                    })?;
                if data.len() as u64 > MAX_JSON {
                    return Err(ImportError::TooLarge {
                        path: self.path().to_path_buf(),
                        entry: entry.to_string(),
                    });
                }
                Ok(data)
            }
            Source::Archive { .. } => match self.lookup(&rel).ok_or_else(missing)? {
                Stored::Small(d) => Ok(d.clone()),
                Stored::Blob(d, _) => {
                    Ok(blobs.read_small(d, &format!("{}: {entry}", self.path().display()))?)
                }
            },
        }
    }

    /// Makes sure the blob a descriptor names is in the store, with its size and digest.
    pub(crate) fn ensure_blob(
        &self,
        desc: &Descriptor,
        blobs: &Blobs,
    ) -> Result<Digest, ImportError> {
        let digest = Digest::parse(desc.digest().as_ref()).map_err(|_| ImportError::BadPath {
            path: self.path().to_path_buf(),
            entry: "descriptor".into(),
            bad: desc.digest().to_string(),
        })?;
        let entry = format!("blobs/sha256/{}", digest.hex());
        let what = format!("{}: {entry}", self.path().display());
        match self {
            Source::Dir { .. } => {
                if blobs.size(&digest) == Some(desc.size()) {
                    return Ok(digest);
                }
                let mut file = self.open_in_dir(Path::new(&entry), &entry)?;
                blobs.ingest(&mut file, Some(&digest), Some(desc.size()), &what)?;
            }
            Source::Archive { .. } => {
                let stored = blobs.size(&digest).ok_or_else(|| ImportError::Missing {
                    path: self.path().to_path_buf(),
                    entry: entry.clone(),
                })?;
                if stored != desc.size() {
                    return Err(BlobError::SizeMismatch {
                        what,
                        digest,
                        declared: desc.size(),
                        actual: stored,
                    }
                    .into());
                }
            }
        }
        Ok(digest)
    }

    /// A file named by path (docker-archive layers and configs) → its blob in the store.
    pub(crate) fn blob_by_path(
        &self,
        entry: &str,
        blobs: &Blobs,
    ) -> Result<(Digest, u64), ImportError> {
        let rel = self.clean(entry)?;
        match self {
            Source::Dir { .. } => {
                let mut file = self.open_in_dir(&rel, entry)?;
                let what = format!("{}: {entry}", self.path().display());
                let expected = blob_name_digest(&rel).or_else(|| legacy_config_digest(&rel));
                Ok(blobs.ingest(&mut file, expected.as_ref(), None, &what)?)
            }
            Source::Archive { .. } => match self.lookup(&rel) {
                Some(Stored::Blob(d, n)) => Ok((d.clone(), *n)),
                Some(Stored::Small(data)) => {
                    let what = format!("{}: {entry}", self.path().display());
                    Ok(blobs.ingest(&mut &data[..], None, None, &what)?)
                }
                None => Err(ImportError::Missing {
                    path: self.path().to_path_buf(),
                    entry: entry.to_string(),
                }),
            },
        }
    }

    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        &self,
        entry: &str,
        data: &[u8],
    ) -> Result<T, ImportError> {
        serde_json::from_slice(data).map_err(|source| ImportError::Json {
            path: self.path().to_path_buf(),
            entry: entry.to_string(),
            source,
        })
    }

    pub(crate) fn index(&self, blobs: &Blobs) -> Result<Option<ImageIndex>, ImportError> {
        if !self.exists("index.json") {
            return Ok(None);
        }
        let data = self.read_small("index.json", blobs)?;
        self.json("index.json", &data).map(Some)
    }

    pub(crate) fn docker_manifest(
        &self,
        blobs: &Blobs,
    ) -> Result<Option<Vec<DockerEntry>>, ImportError> {
        if !self.exists("manifest.json") {
            return Ok(None);
        }
        let data = self.read_small("manifest.json", blobs)?;
        self.json("manifest.json", &data).map(Some)
    }
}

/// Whether a media type names an index (OCI or Docker manifest list).
pub(crate) fn is_index(mt: &MediaType) -> bool {
    match mt {
        MediaType::ImageIndex => true,
        MediaType::Other(s) => s == "application/vnd.docker.distribution.manifest.list.v2+json",
        _ => false,
    }
}

#[cfg(test)]
mod tests;
