#!/usr/bin/env bash
# Runs every minipod test on a Debian 12 host, as root: installs what the tests need, builds
# the test images, checks formatting and lints, then runs unit, integration and end-to-end
# tests (privileged ones fail, never skip, unless MINIPOD_SKIP_PRIVILEGED=1), and a short fuzz
# run of the manifest parser (FUZZ_SECONDS, default 30; 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ] && [ "${MINIPOD_SKIP_PRIVILEGED:-}" != 1 ]; then
  echo "scripts/test.sh: run as root (privileged tests), or set MINIPOD_SKIP_PRIVILEGED=1" >&2
  exit 2
fi

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
if [ "$(id -u)" -eq 0 ]; then scripts/install-deps.sh; fi

step "test images"
scripts/build-test-images.sh

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  # One process per test: libcontainer must not run inside a multi-threaded test harness.
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi

if [ "${FUZZ_SECONDS:-30}" != 0 ] && [ -x scripts/fuzz-manifest.sh ]; then
  step "fuzz the manifest parser for ${FUZZ_SECONDS:-30}s"
  scripts/fuzz-manifest.sh "${FUZZ_SECONDS:-30}"
fi
