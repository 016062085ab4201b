#!/usr/bin/env bash
# Installs the Debian 12 packages minipod's build and tests need. Idempotent; run as root.
#   libseccomp-dev pkg-config  libcontainer's seccomp support links against libseccomp
#   busybox-static             the test images and the runtime tests' root filesystems
#   iproute2                   network checks inside pod namespaces
#   hyperfine runc crun umoci  peers the benchmark scripts compare against
#   containernetworking-plugins  the CNI plugins pods are networked with (bridge, host-local,
#                              portmap: /usr/lib/cni), and nftables for minipod's own NAT table
#   docker-registry skopeo     `image pull` tests: a private registry on loopback (Debian's
#                              distribution/registry), and skopeo to push the test images into it
set -euo pipefail
packages=(libseccomp-dev pkg-config gcc curl ca-certificates busybox-static iproute2 python3 hyperfine runc crun umoci docker-registry skopeo containernetworking-plugins nftables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Rust: Debian 12's rustc is too old for the workspace (1.85+); use rustup's stable.
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null 2>&1; then
  echo "installing the Rust toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
fi
