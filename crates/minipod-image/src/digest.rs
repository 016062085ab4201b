//! Content digests (`sha256:<64 hex>`), validated before they ever become a path.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// Why a string is not a digest minipod accepts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseDigestError {
    #[error("digest {0:?} has no algorithm prefix (expected sha256:<hex>)")]
    NoAlgorithm(String),
    #[error("digest {0:?} uses an unsupported algorithm (only sha256 is supported)")]
    UnsupportedAlgorithm(String),
    #[error("digest {0:?} is not 64 lower-case hex digits")]
    BadHex(String),
}

/// A sha256 content digest. Only ever holds 64 lower-case hex digits, so `hex()` is always
/// safe to use as a file name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// Parses `sha256:<hex>`; anything else (other algorithms, upper case, `..`) is refused.
    pub fn parse(s: &str) -> Result<Digest, ParseDigestError> {
        let Some((alg, hex)) = s.split_once(':') else {
            return Err(ParseDigestError::NoAlgorithm(s.to_string()));
        };
        if alg != "sha256" {
            return Err(ParseDigestError::UnsupportedAlgorithm(s.to_string()));
        }
        Digest::from_hex(hex).map_err(|_| ParseDigestError::BadHex(s.to_string()))
    }

    /// Builds a digest from its bare hex part, e.g. a file name under `blobs/sha256/`.
    pub fn from_hex(hex: &str) -> Result<Digest, ParseDigestError> {
        let ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return Err(ParseDigestError::BadHex(hex.to_string()));
        }
        Ok(Digest {
            hex: hex.to_string(),
        })
    }

    /// The digest of a byte slice.
    pub fn of(data: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(Sha256::digest(data)),
        }
    }

    /// The 64 hex digits, without `sha256:`.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The first 12 hex digits, as `docker images` shows an image ID.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Digest {
    type Err = ParseDigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A reader that hashes and counts what passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The digest and size of everything read.
    pub(crate) fn finish(self) -> (Digest, u64) {
        let hex = hex::encode(self.hasher.finalize());
        (Digest { hex }, self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_and_refuses_path_tricks() {
        let hex = "a".repeat(64);
        assert_eq!(Digest::parse(&format!("sha256:{hex}")).unwrap().hex(), hex);
        for bad in [
            "sha256:../../x".to_string(),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}/", "a".repeat(63)),
            "sha256:".to_string(),
            hex.clone(),
        ] {
            assert!(Digest::parse(&bad).is_err(), "{bad} accepted");
        }
        assert!(matches!(
            Digest::parse(&format!("sha512:{hex}")),
            Err(ParseDigestError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn hashing_reader_matches_digest_of() {
        let mut r = HashingReader::new(&b"hello"[..]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        let (d, n) = r.finish();
        assert_eq!(n, 5);
        assert_eq!(d, Digest::of(b"hello"));
        assert_eq!(
            d.to_string(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }
}
