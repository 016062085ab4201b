#!/usr/bin/env bash
# The bundled example end to end, on a Debian 12 host as root: installs what minipod needs,
# builds it, builds and loads the busybox test image, then runs examples/init-demo.yaml in
# the foreground (an init container, then an app container with a postStart hook), shows its
# logs and events, and deletes it. State goes to MINIPOD_ROOT (default /var/lib/minipod).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
scripts/install-deps.sh
cargo build --release --locked -p minipod-cli
scripts/build-test-images.sh
minipod=target/release/minipod
say() { printf '\n$ %s\n' "$*"; "$@"; }
say "$minipod" image load build/test-images/busybox-docker.tar
say "$minipod" delete pod init-demo --ignore-not-found
say "$minipod" run -f examples/init-demo.yaml
say "$minipod" logs init-demo
say "$minipod" logs init-demo -c prepare
say "$minipod" describe pod init-demo
say "$minipod" delete pod init-demo
