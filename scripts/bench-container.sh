#!/usr/bin/env bash
# One create+start+wait+delete of /bin/true: minipod-runtime (probe binary, release build)
# vs `runc run` and `crun run` of the same OCI bundle, side by side with hyperfine.
#
# Usage: sudo [RUNS=300] [BENCH_RT=1] scripts/bench-container.sh [hyperfine args...]
# Needs: root, hyperfine, runc, crun, /bin/busybox (static), cargo.
#
# crun 1.8 refuses hybrid cgroup hosts (v1 controllers + a v2 tree at /sys/fs/cgroup/unified),
# so it runs in a private mount namespace without the v2 tree. That wrapper (unshare + sh +
# umount) costs time of its own: it is measured alone as `wrapper only` so it can be taken off.
#
# The three runtimes keep their state (minipod's run directory, `runc --root`, `crun --root`)
# in the benchmark's folder, on the same file system as their defaults under /run. On this
# project's VMs that is a discard-mounted ext4, where every state write, truncate and unlink
# waits for the disk; STATE_ON_TMPFS=1 puts the three on a tmpfs of the benchmark's own, as on
# a host whose /run is a tmpfs (any systemd host).
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "error: run as root" >&2; exit 2; }
for t in hyperfine runc crun busybox; do
    command -v "$t" >/dev/null || { echo "error: $t not found" >&2; exit 2; }
done

here=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$here/target}
(cd "$here" && cargo build --release -q -p minipod-runtime-probe)
probe=$target/release/minipod-runtime-probe

work=$(mktemp -d /tmp/minipod-bench.XXXXXX)
state=$work/state
mkdir -p "$state"
cleanup() {
    runc --root "$state/runc" delete -f minipod-bench-runc >/dev/null 2>&1 || true
    unshare -m sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; crun --root '$state/crun' delete -f minipod-bench-crun" >/dev/null 2>&1 || true
    umount "$state" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
if [ "${STATE_ON_TMPFS:-0}" = 1 ]; then
    mount -t tmpfs -o size=64m,mode=0700 minipod-bench-state "$state"
fi

# The bundle: a busybox root filesystem and runc's default spec running /bin/true.
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys" "$bundle/rootfs/tmp" "$bundle/rootfs/etc"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
ln -s busybox "$bundle/rootfs/bin/sh"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
s["process"]["terminal"] = False
s["process"]["args"] = ["/bin/true"]
s["root"]["readonly"] = True
json.dump(s, open(p, "w"), indent=2)
EOF

# Sanity: each runtime runs the bundle once.
"$probe" bundle "$bundle" "$state/minipod-run" minipod-bench
runc --root "$state/runc" run -b "$bundle" minipod-bench-runc </dev/null
unshare -m sh -c "umount /sys/fs/cgroup/unified; crun --root '$state/crun' run -b '$bundle' minipod-bench-crun" </dev/null

# On a busy machine (other builds), BENCH_RT=1 runs hyperfine and everything it starts at
# nice -19 so that the runtimes, not the scheduler queue, are measured (SCHED_FIFO would be
# refused by the v1 cpu cgroups: no realtime budget).
rt=()
[ "${BENCH_RT:-0}" = 1 ] && rt=(nice -n -19)

"${rt[@]}" hyperfine -N --warmup 20 --runs "${RUNS:-300}" "$@" \
    -n minipod "$probe bundle $bundle $state/minipod-run minipod-bench" \
    -n runc "runc --root $state/runc run -b $bundle minipod-bench-runc" \
    -n "crun (in wrapper)" "unshare -m sh -c 'umount /sys/fs/cgroup/unified; crun --root $state/crun run -b $bundle minipod-bench-crun'" \
    -n "wrapper only" "unshare -m sh -c 'umount /sys/fs/cgroup/unified; true'" \
    --export-json "$work/bench.json"

python3 - "$work/bench.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ms = lambda n: r[n]["median"] * 1000
crun = ms("crun (in wrapper)") - ms("wrapper only")
print()
print(f"{'runtime':<20}{'median ms':>10}{'mean ms':>10}")
for n in ["minipod", "runc", "crun (in wrapper)", "wrapper only"]:
    print(f"{n:<20}{ms(n):>10.2f}{r[n]['mean']*1000:>10.2f}")
print(f"{'crun (net)':<20}{crun:>10.2f}")
print(f"minipod / crun (net of wrapper): {ms('minipod') / crun:.2f}x   minipod / runc: {ms('minipod') / ms('runc'):.2f}x")
EOF
