//! Names and ids the controllers and the API server would generate, made deterministic
//! from a seed so the same input and seed give the same pods (tests) while callers pass a
//! fresh seed per run (as `rand` would on a cluster).

use sha2::{Digest, Sha256};

/// apimachinery util/rand alphanums: no vowels (no words), no confusable 0/1/3.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn encode(bytes: &[u8], n: usize) -> String {
    bytes
        .iter()
        .take(n)
        .map(|b| ALPHANUMS[usize::from(*b) % ALPHANUMS.len()] as char)
        .collect()
}

/// A 5-character name suffix (names.SimpleNameGenerator), from the seed and what it names.
pub fn suffix(seed: u64, parts: &[&str]) -> String {
    let mut all: Vec<&[u8]> = vec![b"suffix"];
    let seed = seed.to_le_bytes();
    all.push(&seed);
    all.extend(parts.iter().map(|p| p.as_bytes()));
    encode(&digest(&all), 5)
}

/// The 10-character `pod-template-hash` / `controller-revision-hash` of a pod template.
/// (Kubernetes hashes the Go struct with FNV; any stable hash of the template does the job of
/// telling template versions apart.)
pub fn template_hash(template_json: &[u8]) -> String {
    encode(&digest(&[b"template", template_json]), 10)
}

/// A version-4 style UUID from the seed and what it identifies.
pub fn uid(seed: u64, parts: &[&str]) -> String {
    let mut all: Vec<&[u8]> = vec![b"uid"];
    let seed = seed.to_le_bytes();
    all.push(&seed);
    all.extend(parts.iter().map(|p| p.as_bytes()));
    let mut b = digest(&all);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(&b[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests;
