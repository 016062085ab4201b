#!/usr/bin/env bash
# Fuzzes the manifest parser (minipod-manifest) for N seconds (default 60).
#   scripts/fuzz-manifest.sh [SECONDS]
# Installs cargo-fuzz when missing. Works on the stable toolchain: cargo-fuzz needs nightly
# flags, which RUSTC_BOOTSTRAP=1 unlocks. A crash leaves its input in
# fuzz/artifacts/parse_manifest/ and makes this script exit non-zero.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-manifest: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
# Its own target directory: libFuzzer builds use different flags from the workspace's.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$root/fuzz/target}"

corpus="$root/fuzz/corpus/parse_manifest"
mkdir -p "$corpus"
cp -n "$root"/fuzz/seeds/* "$corpus"/ 2>/dev/null || true

# -s none: no sanitizer (safe Rust; panics and stack overflows are what we look for, and the
# build is much faster). -rss_limit_mb guards against memory blow-ups (alias bombs).
cargo fuzz run -s none parse_manifest "$corpus" -- \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1
echo "fuzz-manifest: ${seconds}s without a crash"
