//! Image references, normalised the way containerd and podman do (docker/distribution's
//! `reference.ParseNormalizedNamed`): `busybox` = `docker.io/library/busybox:latest`.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, ParseDigestError};

const DEFAULT_DOMAIN: &str = "docker.io";
const OFFICIAL_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";
/// distribution/reference: `NameTotalLengthMax`.
const MAX_NAME_LEN: usize = 255;

/// Why a string is not an image reference.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseReferenceError {
    #[error("invalid reference {0:?}: empty")]
    Empty(String),
    #[error("invalid reference {0:?}: repository name must be lower-case")]
    UpperCase(String),
    #[error("invalid reference {0:?}: bad repository name component {1:?}")]
    BadComponent(String, String),
    #[error("invalid reference {0:?}: bad tag {1:?}")]
    BadTag(String, String),
    #[error("invalid reference {0:?}: name longer than 255 characters")]
    TooLong(String),
    #[error("invalid reference {0:?}")]
    BadDigest(String, #[source] ParseDigestError),
}

/// A fully qualified reference: `domain/path[:tag][@digest]`, always with a tag or a digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises: adds `docker.io`, `library/` and `:latest` where containerd would.
    pub fn parse(s: &str) -> Result<Reference, ParseReferenceError> {
        let err_s = || s.to_string();
        if s.is_empty() {
            return Err(ParseReferenceError::Empty(err_s()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (
                r,
                Some(Digest::parse(d).map_err(|e| ParseReferenceError::BadDigest(err_s(), e))?),
            ),
            None => (s, None),
        };
        // A tag is after the last ':' that comes after the last '/' (a ':' before a '/' is
        // a registry port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            if !valid_tag(tag) {
                return Err(ParseReferenceError::BadTag(err_s(), tag.to_string()));
            }
        }
        if name.is_empty() {
            return Err(ParseReferenceError::Empty(err_s()));
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), remainder.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        };
        let domain = if domain == "index.docker.io" {
            DEFAULT_DOMAIN.to_string()
        } else {
            domain
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_PREFIX}{path}")
        } else {
            path
        };
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ParseReferenceError::UpperCase(err_s()));
        }
        for component in path.split('/') {
            if !valid_component(component) {
                return Err(ParseReferenceError::BadComponent(
                    err_s(),
                    component.to_string(),
                ));
            }
        }
        if domain.len() + 1 + path.len() > MAX_NAME_LEN {
            return Err(ParseReferenceError::TooLong(err_s()));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// The registry host (and port): `docker.io`, `127.0.0.1:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry: `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `docker.io/library/busybox` for `busybox:1.35`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The tag, if any (a reference by digest alone has none).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest pinned by `name@sha256:...`, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The short repository form `docker images` shows: `busybox`, `user/app`, `quay.io/x/y`.
    pub fn familiar_repository(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix(OFFICIAL_PREFIX)
                .unwrap_or(&self.path)
                .to_string()
        } else {
            self.repository()
        }
    }

    /// The familiar form with tag/digest: `busybox:1.35`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_repository();
        push_suffix(&mut s, self);
        s
    }
}

fn push_suffix(s: &mut String, r: &Reference) {
    if let Some(t) = &r.tag {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = &r.digest {
        s.push('@');
        s.push_str(&d.to_string());
    }
}

/// distribution/reference: `[\w][\w.-]{0,127}`.
fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// distribution/reference path component: `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

impl fmt::Display for Reference {
    /// The fully qualified form: `docker.io/library/busybox:1.35`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.repository();
        push_suffix(&mut s, self);
        f.write_str(&s)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Reference {
    type Err = ParseReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_containerd() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("busybox:1.35"), "docker.io/library/busybox:1.35");
        assert_eq!(norm("user/app:v1"), "docker.io/user/app:v1");
        assert_eq!(
            norm("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(norm("localhost:5000/app:1.0"), "localhost:5000/app:1.0");
        assert_eq!(norm("localhost/app"), "localhost/app:latest");
        assert_eq!(norm("quay.io/a/b/c:t"), "quay.io/a/b/c:t");
        let d = format!("sha256:{}", "b".repeat(64));
        assert_eq!(
            norm(&format!("busybox@{d}")),
            format!("docker.io/library/busybox@{d}")
        );
    }

    #[test]
    fn familiar_form_is_short() {
        let r = Reference::parse("docker.io/library/busybox:1.35").unwrap();
        assert_eq!(r.familiar(), "busybox:1.35");
        assert_eq!(r.familiar_repository(), "busybox");
        let r = Reference::parse("user/app").unwrap();
        assert_eq!(r.familiar(), "user/app:latest");
        let r = Reference::parse("quay.io/x/y:1").unwrap();
        assert_eq!(r.familiar(), "quay.io/x/y:1");
    }

    #[test]
    fn refuses_invalid() {
        for bad in [
            "",
            "Busybox",
            "busy//box",
            "busybox:",
            "busybox:-x",
            "-a",
            "a..b",
            "a@sha256:zz",
            "a:b:c",
            ":tag",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Reference::parse(&"a".repeat(300)).is_err());
    }
}
