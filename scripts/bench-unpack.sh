#!/usr/bin/env bash
# Benchmarks unpacking a >= 300 MB three-layer gzip image, side by side in one hyperfine run:
#   minipod image load   (fresh store each run: import, verify, unpack all layers)
#   umoci unpack         (the same image as an OCI layout)
#   tar -xzf             (GNU tar, the three layer blobs one after another)
# Layer content is copied from host files (/usr). Run as root; installs hyperfine and umoci
# if missing. Builds minipod in release mode (or set MINIPOD_BIN). The image is kept in
# BENCH_DIR (default /var/tmp/minipod-bench); runs write into RUNS_DIR (default BENCH_DIR/runs,
# e.g. a tmpfs to take the disk out of the picture). Usage: scripts/bench-unpack.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
work=${BENCH_DIR:-/var/tmp/minipod-bench}

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v umoci >/dev/null || need+=(umoci)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

bin=${MINIPOD_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -p minipod-cli
  bin=${CARGO_TARGET_DIR:-target}/release/minipod
fi

mkdir -p "$work"
img=$work/image
if [ ! -f "$img/index.json" ]; then
  echo "building the benchmark image in $img"
  python3 - "$work" <<'PY'
import hashlib, json, os, subprocess, sys, tarfile
work = sys.argv[1]
img = os.path.join(work, "image")
blobs = os.path.join(img, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
# Three layers of roughly equal size from /usr, about 370 MB uncompressed in all: many small
# files (headers, docs) and big binaries (gcc).
sources = [["/usr/share/doc"], ["/usr/lib/gcc"], ["/usr/include"]]
diff_ids, layers, total = [], [], 0
for i, srcs in enumerate(sources):
    raw = os.path.join(work, f"layer{i}.tar")
    with tarfile.open(raw, "w", format=tarfile.PAX_FORMAT) as tf:
        for s in srcs:
            if os.path.exists(s):
                tf.add(s, arcname=s.lstrip("/"))
    total += os.path.getsize(raw)
    h = hashlib.sha256()
    with open(raw, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    diff_ids.append("sha256:" + h.hexdigest())
    gz = raw + ".gz"
    subprocess.run(["gzip", "-6", "-n", raw], check=True)  # writes raw.gz, removes raw
    h = hashlib.sha256()
    with open(gz, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    d = h.hexdigest()
    os.replace(gz, os.path.join(blobs, d))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": "sha256:" + d, "size": os.path.getsize(os.path.join(blobs, d))})
def put(obj, mt):
    data = json.dumps(obj).encode()
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return {"mediaType": mt, "digest": "sha256:" + d, "size": len(data)}
cfg = put({"architecture": "amd64", "os": "linux", "config": {},
           "rootfs": {"type": "layers", "diff_ids": diff_ids}}, "application/vnd.oci.image.config.v1+json")
man = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": cfg, "layers": layers}, "application/vnd.oci.image.manifest.v1+json")
man["annotations"] = {"io.containerd.image.name": "docker.io/library/bench:1.0",
                      "org.opencontainers.image.ref.name": "1.0"}
json.dump({"schemaVersion": 2, "manifests": [man]}, open(os.path.join(img, "index.json"), "w"))
open(os.path.join(img, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(work, "layers.txt"), "w") as f:
    for l in layers:
        f.write(os.path.join(blobs, l["digest"][7:]) + "\n")
print(f"uncompressed {total/1e6:.0f} MB in 3 layers, compressed "
      f"{sum(l['size'] for l in layers)/1e6:.0f} MB")
PY
fi
mapfile -t layer_files < "$work/layers.txt"
# Every run writes into a fresh directory and nothing is deleted until the end: on ext4,
# creating files right after deleting many (rm -rf between runs) makes inode allocation scan
# the recently freed inodes (recently_deleted() in ialloc.c), which swamps what is measured.
runs_dir=${RUNS_DIR:-$work/runs}
rm -rf "$runs_dir" && mkdir -p "$runs_dir"
fresh="\$(mktemp -d -p $runs_dir)"
tar_cmd="d=$fresh"
for l in "${layer_files[@]}"; do tar_cmd+=" && tar -xzf $l -C \$d"; done

hyperfine --runs "$runs" --warmup 1 --shell bash \
  -n "minipod image load" "$bin --root $fresh/root image load $img" \
  -n "umoci unpack" "umoci unpack --image $img:1.0 $fresh/rootfs" \
  -n "tar -xzf (3 layers)" "$tar_cmd"
rm -rf "$runs_dir"
