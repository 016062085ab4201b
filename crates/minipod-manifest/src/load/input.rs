//! Input reading: manifest files, directories and standard input as named texts. The
//! only I/O of this crate.

use std::path::{Path, PathBuf};

use crate::error::ManifestError;

/// One input document stream: its name in messages and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    pub text: String,
}

impl Input {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Input {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Reads manifest files (`-` is standard input; a directory means its `*.yaml`, `*.yml` and
/// `*.json` files in name order, as `kubectl -f DIR` reads them). The only I/O of this crate.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Input>, ManifestError> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if p == Path::new("-") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|source| {
                ManifestError::Read {
                    path: p.clone(),
                    error: source,
                }
            })?;
            out.push(Input::new("-", s));
        } else if p.is_dir() {
            let read_err = |error| ManifestError::Read {
                path: p.clone(),
                error,
            };
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(read_err)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && f.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
                })
                .collect();
            files.sort();
            for f in files {
                out.push(read_file(&f)?);
            }
        } else {
            out.push(read_file(p)?);
        }
    }
    Ok(out)
}

fn read_file(p: &Path) -> Result<Input, ManifestError> {
    let bytes = std::fs::read(p).map_err(|error| ManifestError::Read {
        path: p.to_path_buf(),
        error,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| ManifestError::Read {
        path: p.to_path_buf(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })?;
    Ok(Input::new(p.display().to_string(), text))
}

#[cfg(test)]
mod tests;
