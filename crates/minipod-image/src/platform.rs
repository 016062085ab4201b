//! Platform matching: which manifest of a multi-platform index this host (or `--platform`)
//! runs, following containerd's `platforms` package (normalisation, the `Only` vector of
//! compatible (arch, variant) pairs, best first).

use std::collections::HashSet;
use std::fs;

use oci_spec::image::Descriptor;

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

/// This machine's architecture as Go, OCI and Kubernetes name it (`amd64`, `arm64`), not
/// Rust's (`x86_64`, `aarch64`): what `minipod version` and `minipod serve`'s `/version`
/// report as the platform.
pub fn host_go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
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
    use crate::digest::Digest;
    use crate::import::load::descriptor;
    use oci_spec::image::MediaType;

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
}
