#!/usr/bin/env python3
"""Builds minipod's test images, deterministically, without a container engine.

Called by scripts/build-test-images.sh. Every tar is written with fixed owners and times and
sorted entries, so the same inputs give the same digests on every run. Outputs (OUT is the
first argument, normally build/test-images):

  busybox-docker.tar       busybox:1.35, `docker save` legacy form (<id>/layer.tar, manifest.json)
  busybox-docker25.tar     busybox:1.35, Docker >= 25 form (manifest.json + embedded OCI layout)
  busybox-oci/             busybox:1.35, OCI image layout directory, gzip layer
  busybox-oci.tar          the same layout as an oci-archive
  busybox-zstd-oci.tar     busybox:1.35-zstd, zstd layer
  layered-docker.tar       layered:1.0, two layers: whiteout, opaque dir, full config
  layered-oci.tar          layered:1.0 as an oci-archive, gzip lower + zstd upper layer
  multiarch-oci.tar        multiarch:1.0, an index with linux/arm64, linux/amd64, an attestation
  noname-oci.tar           an oci-archive whose image has no name (load needs --name)
  layers100-oci.tar        layers100:1.0, busybox plus 99 one-file layers (layer/<n>): more
                           layers than one overlay mount option page holds with full paths
"""

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

MTIME = 1640995200  # 2022-01-01T00:00:00Z: fixed so that digests never change
CREATED = "2022-01-01T00:00:00Z"
HERE = os.path.dirname(os.path.abspath(__file__))
BUSYBOX = "/bin/busybox"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Layer:
    """An in-memory layer: a list of (TarInfo, bytes) written in the order given."""

    def __init__(self):
        self.entries = []

    def dir(self, name, mode=0o755):
        ti = tarfile.TarInfo(name)
        ti.type = tarfile.DIRTYPE
        ti.mode = mode
        self.entries.append((ti, None))

    def file(self, name, data, mode=0o644, uid=0, gid=0):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        self.entries.append((ti, data))

    def symlink(self, name, target):
        ti = tarfile.TarInfo(name)
        ti.type = tarfile.SYMTYPE
        ti.linkname = target
        ti.mode = 0o777
        self.entries.append((ti, None))

    def tar(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
            for ti, data in self.entries:
                ti.mtime = MTIME
                ti.uname = ti.gname = ""
                tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()


def busybox_layer(extra=None):
    layer = Layer()
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    dirs = {"bin", "dev", "etc", "home", "proc", "root", "sbin", "sys", "tmp", "usr", "usr/bin",
            "usr/sbin", "var", "home/app"}
    modes = {"tmp": 0o1777, "root": 0o700}
    for d in sorted(dirs):
        layer.dir(d + "/", modes.get(d, 0o755))
    with open(BUSYBOX, "rb") as f:
        layer.file("bin/busybox", f.read(), 0o755)
    for path in sorted(set(applets)):
        if path != "bin/busybox":
            layer.symlink(path, "/bin/busybox")
    for name in ("passwd", "group"):
        with open(os.path.join(HERE, "busybox", "etc", name), "rb") as f:
            layer.file("etc/" + name, f.read())
    for entry in extra or []:
        entry(layer)
    return layer.tar()


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as g:
        g.write(data)
    return buf.getvalue()


def zst(data):
    return subprocess.run(["zstd", "-q", "-c", "-3", "--no-check"], input=data, check=True,
                          capture_output=True).stdout


def config(diff_ids, **cfg):
    c = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
         "Cmd": ["sh"]}
    c.update(cfg)
    return json.dumps({
        "architecture": cfg.pop("_arch", "amd64"),
        "os": "linux",
        "created": CREATED,
        "config": {k: v for k, v in c.items() if not k.startswith("_")},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d in diff_ids]},
        "history": [{"created": CREATED, "created_by": "rootfs/make-images.py"}],
    }, sort_keys=True, separators=(",", ":")).encode()


class Blobs:
    """Blobs of one OCI layout, keyed by hex digest."""

    def __init__(self):
        self.blobs = {}

    def add(self, data, media_type):
        d = sha(data)
        self.blobs[d] = data
        return {"mediaType": media_type, "digest": "sha256:" + d, "size": len(data)}

    def image(self, layers, cfg):
        """layers: list of (uncompressed tar, compression); returns the manifest descriptor."""
        descs = []
        for raw, comp in layers:
            if comp == "gzip":
                descs.append(self.add(gz(raw), OCI_LAYER + "+gzip"))
            elif comp == "zstd":
                descs.append(self.add(zst(raw), OCI_LAYER + "+zstd"))
            else:
                descs.append(self.add(raw, OCI_LAYER))
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": self.add(cfg, OCI_CONFIG), "layers": descs}
        data = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        return self.add(data, OCI_MANIFEST)


def write_tar(path, files):
    """files: list of (name, bytes | None for a dir | ("symlink", target))."""
    tmp = path + ".tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            elif isinstance(data, tuple):
                ti.type, ti.linkname = tarfile.SYMTYPE, data[1]
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                tf.addfile(ti, io.BytesIO(data))
    os.replace(tmp, path)


def layout_files(blobs, index):
    files = [("blobs/", None), ("blobs/sha256/", None)]
    for d in sorted(blobs.blobs):
        files.append(("blobs/sha256/" + d, blobs.blobs[d]))
    files.append(("index.json", json.dumps(index, sort_keys=True).encode()))
    files.append(("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'))
    return files


def write_layout_dir(path, files):
    tmp = path + ".tmp"
    subprocess.run(["rm", "-rf", tmp], check=True)
    os.makedirs(tmp)
    for name, data in files:
        full = os.path.join(tmp, name)
        if data is None:
            os.makedirs(full, exist_ok=True)
        else:
            with open(full, "wb") as f:
                f.write(data)
    subprocess.run(["rm", "-rf", path], check=True)
    os.rename(tmp, path)


def index_of(desc, name=None, tag=None):
    d = dict(desc)
    ann = {}
    if name:
        ann["io.containerd.image.name"] = name
    if tag:
        ann["org.opencontainers.image.ref.name"] = tag
    if ann:
        d["annotations"] = ann
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [d]}


def docker_legacy(path, images):
    """images: list of (repo_tags, [uncompressed layer tars], config bytes)."""
    files, manifest = [], []
    for tags, layers, cfg in images:
        cfg_hex = sha(cfg)
        files.append((cfg_hex + ".json", cfg))
        paths, parent = [], ""
        for raw in layers:
            # `docker save` (< 25) names layer folders by a v1 id chained over the parents.
            lid = sha((parent + sha(raw)).encode())
            files += [(lid + "/", None), (lid + "/VERSION", b"1.0"),
                      (lid + "/json", json.dumps({"id": lid}).encode()),
                      (lid + "/layer.tar", raw)]
            paths.append(lid + "/layer.tar")
            parent = lid
        manifest.append({"Config": cfg_hex + ".json", "RepoTags": tags, "Layers": paths})
    files.append(("manifest.json", json.dumps(manifest).encode()))
    write_tar(path, sorted(files, key=lambda f: f[0]))


def docker25(path, tags, layers, cfg, name):
    """The Docker >= 25 form: an OCI layout plus manifest.json pointing into blobs/."""
    blobs = Blobs()
    mdesc = blobs.image([(raw, None) for raw in layers], cfg)
    manifest = [{"Config": "blobs/sha256/" + sha(cfg), "RepoTags": tags,
                 "Layers": ["blobs/sha256/" + sha(raw) for raw in layers]}]
    files = layout_files(blobs, index_of(mdesc, name, tags[0].split(":")[-1]))
    files.append(("manifest.json", json.dumps(manifest).encode()))
    write_tar(path, files)


def fixtures_lower(layer):
    layer.dir("fixtures/")
    layer.file("fixtures/removed.txt", b"lower\n")
    layer.file("fixtures/kept.txt", b"lower\n")
    layer.dir("fixtures/opaque/")
    layer.file("fixtures/opaque/lower.txt", b"lower\n")
    layer.dir("fixtures/gone-dir/")
    layer.file("fixtures/gone-dir/inner.txt", b"lower\n")


def upper_layer():
    layer = Layer()
    layer.dir("fixtures/")
    layer.file("fixtures/.wh.removed.txt", b"")
    layer.file("fixtures/.wh.gone-dir", b"")
    layer.file("fixtures/added.txt", b"upper\n")
    layer.dir("fixtures/opaque/")
    layer.file("fixtures/opaque/.wh..wh..opq", b"")
    layer.file("fixtures/opaque/upper.txt", b"upper\n")
    layer.dir("app/")
    with open(os.path.join(HERE, "layered", "app", "run.sh"), "rb") as f:
        layer.file("app/run.sh", f.read(), 0o755)
    layer.file("app/setuid-bin", b"#!/bin/sh\n", 0o4755)
    layer.file("app/owned-by-app", b"app\n", 0o600, uid=1000, gid=1000)
    return layer.tar()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    bb = busybox_layer()
    bb_cfg = config([sha(bb)])
    name = "docker.io/library/busybox:1.35"

    docker_legacy(os.path.join(out, "busybox-docker.tar"), [(["busybox:1.35"], [bb], bb_cfg)])
    docker25(os.path.join(out, "busybox-docker25.tar"), ["busybox:1.35"], [bb], bb_cfg, name)

    blobs = Blobs()
    files = layout_files(blobs, index_of(blobs.image([(bb, "gzip")], bb_cfg), name, "1.35"))
    write_layout_dir(os.path.join(out, "busybox-oci"), files)
    write_tar(os.path.join(out, "busybox-oci.tar"), files)

    blobs = Blobs()
    desc = blobs.image([(bb, "zstd")], bb_cfg)
    write_tar(os.path.join(out, "busybox-zstd-oci.tar"),
              layout_files(blobs, index_of(desc, "docker.io/library/busybox:1.35-zstd")))

    lower = busybox_layer([fixtures_lower])
    upper = upper_layer()
    lay_cfg = config([sha(lower), sha(upper)],
                     Entrypoint=["/bin/sh", "/app/run.sh"], Cmd=["hello", "world"],
                     WorkingDir="/app", StopSignal="SIGQUIT", User="1000:1000",
                     ExposedPorts={"8080/tcp": {}},
                     Env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "GREETING=hello from layered"])
    docker_legacy(os.path.join(out, "layered-docker.tar"), [(["layered:1.0"], [lower, upper],
                                                            lay_cfg)])
    blobs = Blobs()
    desc = blobs.image([(lower, "gzip"), (upper, "zstd")], lay_cfg)
    write_tar(os.path.join(out, "layered-oci.tar"),
              layout_files(blobs, index_of(desc, "docker.io/library/layered:1.0", "1.0")))

    # A multi-platform index: the amd64 image is busybox; the arm64 one carries a marker file
    # so that a wrong pick is visible; the attestation manifest has platform unknown/unknown.
    blobs = Blobs()
    arm = Layer()
    arm.file("platform", b"linux/arm64\n")
    arm_raw = arm.tar()
    arm_desc = blobs.image([(arm_raw, "gzip")], config([sha(arm_raw)], _arch="arm64"))
    arm_desc["platform"] = {"architecture": "arm64", "os": "linux", "variant": "v8"}
    amd_desc = blobs.image([(bb, "gzip")], bb_cfg)
    amd_desc["platform"] = {"architecture": "amd64", "os": "linux"}
    att = Layer()
    att.file("attestation", b"{}\n")
    att_raw = att.tar()
    att_desc = blobs.image([(att_raw, None)], config([sha(att_raw)]))
    att_desc["platform"] = {"architecture": "unknown", "os": "unknown"}
    inner = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [arm_desc, amd_desc, att_desc]}
    inner_desc = blobs.add(json.dumps(inner, sort_keys=True).encode(), OCI_INDEX)
    write_tar(os.path.join(out, "multiarch-oci.tar"),
              layout_files(blobs, index_of(inner_desc, "docker.io/library/multiarch:1.0")))

    blobs = Blobs()
    desc = blobs.image([(bb, "gzip")], bb_cfg)
    write_tar(os.path.join(out, "noname-oci.tar"), layout_files(blobs, index_of(desc)))

    layers = [bb]
    for n in range(1, 100):
        layer = Layer()
        layer.dir("layer/")
        layer.file("layer/%d" % n, b"%d\n" % n)
        layers.append(layer.tar())
    blobs = Blobs()
    desc = blobs.image([(raw, None) for raw in layers], config([sha(raw) for raw in layers]))
    write_tar(os.path.join(out, "layers100-oci.tar"),
              layout_files(blobs, index_of(desc, "docker.io/library/layers100:1.0", "1.0")))


if __name__ == "__main__":
    main()
