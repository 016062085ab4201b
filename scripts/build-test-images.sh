#!/usr/bin/env bash
# Builds the test images into build/test-images/ (git-ignored) from Debian's busybox-static,
# without a container engine: rootfs/make-images.py writes deterministic tars (fixed owners,
# times and order), so digests are stable across runs. Idempotent: skips the work when the
# recipe and busybox are older than the output. Installs busybox-static if missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/test-images

if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  echo "installing busybox-static"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends busybox-static
fi
command -v zstd >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq zstd; }

stamp=$out/.stamp
if [ -f "$stamp" ] && [ -z "$(find rootfs /bin/busybox "$0" -newer "$stamp" -print -quit)" ]; then
  echo "test images are up to date in $out"
  exit 0
fi
mkdir -p "$out"
python3 rootfs/make-images.py "$out"
touch "$stamp"
echo "test images written to $out:"
ls -1 "$out"
