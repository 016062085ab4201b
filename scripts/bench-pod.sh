#!/usr/bin/env bash
# A whole pod, end to end: `minipod run --rm -f pod.yaml` (init container, then the app, to
# Completed, then removed) vs `podman kube play` + `podman wait` + `podman kube down` of the
# same YAML, side by side with hyperfine, each against its own private store.
#
# Usage: sudo [RUNS=20] scripts/bench-pod.sh [hyperfine args...]
# Needs: root, hyperfine, podman (+ runc), the test images (scripts/build-test-images.sh).
#
# podman on this kind of host needs three settings, all kept private to the run: runc (crun
# 1.8 refuses hybrid cgroup hosts), cgroupfs (no systemd scope per container), and
# default ulimits the sandbox allows (its 1048576 open files exceed the hard limit here).
# podman ignores postStart/preStop and has no native sidecars, so the pod uses none of them.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "error: run as root" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
for t in hyperfine podman runc python3; do
    command -v "$t" >/dev/null || { echo "error: $t not found (apt-get install $t)" >&2; exit 2; }
done
image=$here/build/test-images/busybox-docker.tar
[ -f "$image" ] || "$here/scripts/build-test-images.sh"

target=${CARGO_TARGET_DIR:-$here/target}
(cd "$here" && cargo build --release -q -p minipod-cli)
minipod=$target/release/minipod

work=$(mktemp -d /tmp/minipod-bench-pod.XXXXXX)
cat > "$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
CONF
export CONTAINERS_CONF=$work/containers.conf
podman=(podman --root "$work/podman" --runroot "$work/podman-run" --cgroup-manager cgroupfs
    --events-backend none --runtime runc)
# podman leaves its libpod_parent cgroups behind; remove them at the end unless they were
# there before (then they are someone else's).
had_libpod_cgroups=$(find /sys/fs/cgroup -maxdepth 2 -name libpod_parent 2>/dev/null | wc -l)
cleanup() {
    "${podman[@]}" pod rm -af >/dev/null 2>&1 || true
    "${podman[@]}" system reset -f >/dev/null 2>&1 || true
    "$minipod" --root "$work/minipod" delete pods --all --force --grace-period=0 >/dev/null 2>&1 || true
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
    if [ "$had_libpod_cgroups" = 0 ]; then
        for d in /sys/fs/cgroup/*/libpod_parent; do
            [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
    fi
    return 0
}
trap cleanup EXIT

cat > "$work/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: bench}
spec:
  restartPolicy: Never
  initContainers:
  - name: init
    image: busybox:1.35
    command: ["true"]
  containers:
  - name: app
    image: busybox:1.35
    command: ["true"]
YAML

"$minipod" --root "$work/minipod" image load "$image" >/dev/null
"${podman[@]}" load -q -i "$image" >/dev/null

mp="$minipod --root $work/minipod run --rm -f $work/pod.yaml"
pm="${podman[*]} kube play $work/pod.yaml && ${podman[*]} wait bench-app && ${podman[*]} kube down $work/pod.yaml"
# Sanity: each runs the pod to completion once.
sh -c "$mp" >/dev/null
sh -c "$pm" >/dev/null 2>&1

hyperfine --warmup 2 --runs "${RUNS:-20}" --export-json "$work/result.json" "$@" \
    -n "minipod run --rm" "$mp >/dev/null" \
    -n "podman kube play+wait+down" "$pm >/dev/null 2>&1"

python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
m = r["minipod run --rm"]["median"]
p = r["podman kube play+wait+down"]["median"]
print(f"\nmedians: minipod {m*1000:.0f} ms, podman {p*1000:.0f} ms -> minipod is {p/m:.1f}x faster")
PY
