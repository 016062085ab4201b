//! Safe extraction of one layer tar into an empty directory, in overlayfs format.
//!
//! The `tar` crate only reads entries; every write happens here, relative to directory file
//! descriptors that were reached either one plain component at a time with `O_NOFOLLOW`, or
//! through `pathrs` (openat2 `RESOLVE_IN_ROOT`) whenever a symlink is in the way. Absolute
//! and `..` symlinks inside the layer therefore resolve inside the layer root, never on the
//! host (each attack docs/images.md "Unpacking safely" lists has a test in unpack/tests.rs).
//!
//! Whiteouts are converted the way containerd's overlay converter does
//! (`archive.OverlayConvertWhiteout`): `.wh.NAME` becomes a 0/0 character device `NAME`,
//! `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmod, fchmodat, fstatat, futimens, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag,
    UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use pathrs::flags::OpenFlags;
use pathrs::{InodeType, Root};

use crate::sys;
use crate::tarframe::{FrameLimits, TarFrame, TarLimitError};

/// The overlayfs attribute that marks a directory as hiding everything below it.
pub(crate) const OPAQUE_XATTR: &CStr = c"trusted.overlay.opaque";
const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
/// aufs bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`): Docker skips these entries too.
const AUFS_META_PREFIX: &[u8] = b".wh..wh.";
const COPY_BUFFER: usize = 256 * 1024;

/// Caps that stop decompression bombs and hostile archives.
#[derive(Debug, Clone)]
pub struct UnpackLimits {
    /// Total bytes of file content in one layer.
    pub max_bytes: u64,
    /// Number of tar entries in one layer.
    pub max_entries: u64,
    /// Length of an entry name or link target (Linux PATH_MAX).
    pub max_name_len: usize,
    /// Body of one GNU long name/link or PAX header entry, checked at its header, before
    /// the `tar` crate buffers the body (see [`crate::tarframe`]).
    pub max_header_bytes: u64,
    /// The whole uncompressed tar stream of one layer: headers, contents and padding.
    pub max_stream_bytes: u64,
    /// Data after the end-of-archive marker (tar writers pad to a 10 KiB record; the rest
    /// is not read).
    pub max_trailing_bytes: u64,
}

/// Sets [`UnpackLimits::max_bytes`] and `max_stream_bytes` (a byte count).
pub const LAYER_SIZE_ENV: &str = "MINIPOD_MAX_LAYER_SIZE";

impl Default for UnpackLimits {
    fn default() -> Self {
        // 64 GiB of content: several times the largest layers seen in public images (CUDA
        // and ML framework layers reach 10-20 GB), while a decompression bomb still stops
        // after a bounded amount of disk. The stream allows headers and padding on top
        // (at most 1 KiB per entry).
        let max_bytes = 64 << 30;
        UnpackLimits {
            max_bytes,
            max_entries: 4_000_000,
            max_name_len: 4096,
            max_header_bytes: 1 << 20,
            max_stream_bytes: max_bytes + (4 << 30),
            max_trailing_bytes: 1 << 20,
        }
    }
}

impl UnpackLimits {
    /// The defaults, with the layer size from `MINIPOD_MAX_LAYER_SIZE` when it is set (a
    /// value that is not a byte count is reported and ignored).
    pub fn from_env() -> Self {
        let mut l = UnpackLimits::default();
        if let Ok(v) = std::env::var(LAYER_SIZE_ENV) {
            match v.trim().parse::<u64>() {
                Ok(n) => {
                    l.max_bytes = n;
                    l.max_stream_bytes = n;
                }
                Err(_) => log::warn!(
                    "{LAYER_SIZE_ENV}={v:?} is not a byte count; using {} bytes",
                    l.max_bytes
                ),
            }
        }
        l
    }

    pub(crate) fn frame(&self) -> FrameLimits {
        FrameLimits {
            max_metadata: self.max_header_bytes,
            max_total: self.max_stream_bytes,
            max_trailing: self.max_trailing_bytes,
        }
    }
}

/// What one layer held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UnpackStats {
    pub entries: u64,
    pub bytes: u64,
}

/// Why a layer could not be unpacked. Nothing outside the destination directory is touched
/// in any case; the caller removes the partial destination.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("read layer tar")]
    Read(#[source] io::Error),
    #[error("open layer directory {}", path.display())]
    OpenRoot {
        path: PathBuf,
        #[source]
        source: pathrs::error::Error,
    },
    #[error("entry {entry:?}: {reason}")]
    Refused { entry: String, reason: &'static str },
    #[error("entry {entry:?}: {op}")]
    Write {
        entry: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("layer has more than {limit} {what}")]
    Limit { what: &'static str, limit: u64 },
    #[error(transparent)]
    Frame(#[from] TarLimitError),
}

/// A read error, as the framing limit it carries when it is one.
pub(crate) fn read_error(e: io::Error) -> UnpackError {
    match TarLimitError::of(&e) {
        Some(l) => UnpackError::Frame(l),
        None => UnpackError::Read(one_line(e)),
    }
}

/// Unpacks the tar stream `reader` into the existing, empty directory `dest`. The reader is
/// left just after the tar's end-of-archive marker, so that the caller can drain the rest
/// into its diff_id hash.
pub fn unpack_layer<R: Read>(
    reader: &mut R,
    dest: &Path,
    limits: &UnpackLimits,
) -> Result<UnpackStats, UnpackError> {
    let root = Root::open(dest).map_err(|source| UnpackError::OpenRoot {
        path: dest.to_path_buf(),
        source,
    })?;
    // The pathrs root is an O_PATH handle; attributes and modes need a readable one.
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let root_dir = openat(Some(root.as_fd().as_raw_fd()), ".", flags, Mode::empty())
        .map(sys::own_fd)
        .map_err(|e| UnpackError::Write {
            entry: ".".into(),
            op: "open layer directory",
            source: e.into(),
        })?;
    let mut unpacker = Unpacker {
        root,
        root_dir,
        dirs: Vec::new(),
        stale: false,
        host_root: sys::is_host_root(),
        euid_root: nix::unistd::geteuid().is_root(),
        umask: process_umask(),
        limits,
        buf: vec![0; COPY_BUFFER],
        stats: UnpackStats::default(),
        skipped_devices: 0,
    };
    // The framing is checked here too, so that every caller gets the header caps; it reads
    // no further than the `tar` crate asks, so `reader` still ends after the marker.
    let mut archive = tar::Archive::new(TarFrame::new(reader, limits.frame()));
    for entry in archive.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        unpacker.stats.entries += 1;
        if unpacker.stats.entries > limits.max_entries {
            return Err(UnpackError::Limit {
                what: "entries",
                limit: limits.max_entries,
            });
        }
        unpacker.entry(&mut entry)?;
    }
    if unpacker.skipped_devices > 0 {
        log::warn!(
            "skipped {} device node(s): creating them needs root outside a user namespace",
            unpacker.skipped_devices
        );
    }
    Ok(unpacker.stats)
}

/// The metadata of one entry that is applied after its content.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    xattrs: Vec<(CString, Vec<u8>)>,
}

struct Unpacker<'a> {
    root: Root,
    /// The same directory as `root`, opened for reading.
    root_dir: OwnedFd,
    /// The directories of the previous lookup, root first: (component, open directory).
    dirs: Vec<(OsString, OwnedFd)>,
    /// Set when a directory or symlink was removed: cached descriptors may then point at
    /// something the path no longer names, so the cache is dropped before the next lookup.
    stale: bool,
    host_root: bool,
    euid_root: bool,
    /// Permission bits file creation drops (read once: setting it would race other threads).
    umask: u32,
    limits: &'a UnpackLimits,
    buf: Vec<u8>,
    stats: UnpackStats,
    skipped_devices: u64,
}

fn refuse(entry: &str, reason: &'static str) -> UnpackError {
    UnpackError::Refused {
        entry: entry.to_string(),
        reason,
    }
}

fn write_err<'a>(entry: &'a str, op: &'static str) -> impl FnOnce(io::Error) -> UnpackError + 'a {
    move |source| UnpackError::Write {
        entry: entry.to_string(),
        op,
        source,
    }
}

fn pathrs_io(e: pathrs::error::Error) -> io::Error {
    match e.kind() {
        pathrs::error::ErrorKind::OsError(Some(errno)) => {
            io::Error::new(io::Error::from_raw_os_error(errno).kind(), e)
        }
        _ => io::Error::other(e),
    }
}

fn owned(fd: RawFd) -> OwnedFd {
    sys::own_fd(fd)
}

/// The `tar` crate quotes raw header bytes in some errors (newlines included); error
/// messages must stay one line.
pub(crate) fn one_line(e: io::Error) -> io::Error {
    let msg: String = e
        .to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let msg = if msg.chars().count() > 200 {
        format!("{}...", msg.chars().take(200).collect::<String>())
    } else {
        msg
    };
    io::Error::new(e.kind(), msg)
}

fn process_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Umask:"))?;
            u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
        })
        .unwrap_or(0o777)
}

/// Cleans a tar path lexically: drops `.`, empty and leading `/` components and folds `..`.
/// `None` is the layer root itself; a `..` that would climb above the root is refused
/// (Go's `filepath.Clean` + prefix check in containerd).
pub(crate) fn clean_path(raw: &[u8]) -> Result<Option<PathBuf>, &'static str> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return Err("path climbs out of the layer root");
                }
            }
            _ => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(PathBuf::from(OsStr::from_bytes(&parts.join(&b'/')))))
}

fn file_name(rel: &Path) -> &OsStr {
    // Invariant: `clean_path` only returns non-empty paths of normal components.
    rel.file_name().expect("clean path has a final component")
}

fn parent(rel: &Path) -> &Path {
    rel.parent().unwrap_or(Path::new(""))
}

impl Unpacker<'_> {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        if raw.len() > self.limits.max_name_len {
            return Err(refuse(&name, "name longer than the limit"));
        }
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        let rel = clean_path(&raw).map_err(|reason| refuse(&name, reason))?;
        let meta = self.meta(entry, &name)?;
        self.stats.bytes += entry.size();
        if self.stats.bytes > self.limits.max_bytes {
            return Err(UnpackError::Limit {
                what: "bytes",
                limit: self.limits.max_bytes,
            });
        }

        let Some(rel) = rel else {
            // The layer root: only metadata may change, and only for a directory
            // (umoci CVE-2021-29136: a `.` symlink or file replaced the root).
            if !kind.is_dir() {
                return Err(refuse(&name, "the layer root must be a directory"));
            }
            let fd = sys::borrow_fd(self.root_dir.as_raw_fd());
            return self.apply_meta(fd, &meta, false, false, &name);
        };
        let base = file_name(&rel).as_bytes();
        if base.starts_with(WHITEOUT_PREFIX) {
            return self.whiteout(&rel, &meta, &name);
        }
        if rel
            .components()
            .any(|c| c.as_os_str().as_bytes().starts_with(AUFS_META_PREFIX))
        {
            log::debug!("skipping aufs metadata entry {name:?}");
            return Ok(());
        }
        use tar::EntryType as T;
        match kind {
            T::Regular | T::Continuous => self.file(&rel, entry, &meta, &name),
            T::Directory => self.dir(&rel, &meta, &name),
            T::Symlink => self.symlink(&rel, entry, &meta, &name),
            T::Link => self.hardlink(&rel, entry, &name),
            T::Char | T::Block | T::Fifo => self.node(&rel, entry, kind, &meta, &name),
            T::GNUSparse => Err(refuse(&name, "sparse files are not supported")),
            _ => Err(refuse(&name, "unsupported entry type")),
        }
    }

    fn meta<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
    ) -> Result<Meta, UnpackError> {
        let h = entry.header();
        let bad = |_| refuse(name, "unreadable header field");
        let id = |v: u64| u32::try_from(v).map_err(|_| refuse(name, "uid/gid out of range"));
        let mode = h.mode().map_err(bad)? & 0o7777;
        let uid = id(h.uid().map_err(bad)?)?;
        let gid = id(h.gid().map_err(bad)?)?;
        let mtime = i64::try_from(h.mtime().map_err(bad)?).unwrap_or(i64::MAX);
        let mut xattrs = Vec::new();
        if let Some(pax) = entry.pax_extensions().map_err(read_error)? {
            for ext in pax {
                let ext = ext.map_err(read_error)?;
                let Ok(key) = ext.key() else { continue };
                let Some(attr) = key.strip_prefix("SCHILY.xattr.") else {
                    continue;
                };
                // Overlay's own attributes would let a layer forge whiteouts, opaque
                // directories or redirects: never applied.
                if attr.starts_with("trusted.overlay.") || attr.starts_with("user.overlay.") {
                    log::debug!("{name:?}: dropping overlay attribute {attr}");
                    continue;
                }
                let Ok(attr) = CString::new(attr) else {
                    continue;
                };
                xattrs.push((attr, ext.value_bytes().to_vec()));
            }
        }
        Ok(Meta {
            mode,
            uid,
            gid,
            mtime,
            xattrs,
        })
    }

    /// Returns the directory `p` (clean, relative), creating missing directories, with
    /// symlinks on the way resolved inside the layer root. The open directories of the last
    /// lookup are kept as a stack, so a lookup costs one `openat` per component that differs
    /// from the previous entry's: linear in the name length, even for deep nesting (class 22).
    fn dir_fd(&mut self, p: &Path) -> io::Result<RawFd> {
        if self.stale {
            self.dirs.clear();
            self.stale = false;
        }
        let comps: Vec<&OsStr> = p.iter().collect();
        let mut keep = 0;
        while keep < comps.len() && keep < self.dirs.len() && self.dirs[keep].0 == comps[keep] {
            keep += 1;
        }
        self.dirs.truncate(keep);
        for i in keep..comps.len() {
            let parent_fd = match i {
                0 => self.root_dir.as_raw_fd(),
                _ => self.dirs[i - 1].1.as_raw_fd(),
            };
            let prefix: PathBuf = comps[..=i].iter().collect();
            let fd = self.open_child_dir(parent_fd, &prefix)?;
            self.dirs.push((comps[i].to_os_string(), fd));
        }
        Ok(match self.dirs.last() {
            Some((_, fd)) if !comps.is_empty() => fd.as_raw_fd(),
            _ => self.root_dir.as_raw_fd(),
        })
    }

    fn open_child_dir(&self, parent_fd: RawFd, p: &Path) -> io::Result<OwnedFd> {
        let name = file_name(p);
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        // A single normal component with O_NOFOLLOW below a directory already inside the
        // root cannot leave the root: no `..`, no symlink is followed.
        match openat(Some(parent_fd), name, flags, Mode::empty()) {
            Ok(fd) => return Ok(owned(fd)),
            Err(Errno::ENOENT) => {
                mkdirat(Some(parent_fd), name, Mode::from_bits_truncate(0o755))?;
                return Ok(owned(openat(Some(parent_fd), name, flags, Mode::empty())?));
            }
            Err(Errno::ENOTDIR | Errno::ELOOP) => {}
            Err(e) => return Err(e.into()),
        }
        let st = fstatat(Some(parent_fd), name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
        match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
            SFlag::S_IFLNK => self.open_through_symlink(p),
            SFlag::S_IFCHR if st.st_rdev == 0 => {
                // A whiteout this layer wrote earlier, then a path below it: the new
                // directory replaces it and, being opaque, still hides the lower one.
                unlinkat(Some(parent_fd), name, UnlinkatFlags::NoRemoveDir)?;
                mkdirat(Some(parent_fd), name, Mode::from_bits_truncate(0o755))?;
                let fd = owned(openat(Some(parent_fd), name, flags, Mode::empty())?);
                sys::fsetxattr(fd.as_fd(), OPAQUE_XATTR, b"y")?;
                Ok(fd)
            }
            _ => Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
        }
    }

    /// `p` has a symlink in it: let pathrs resolve it in-root. pathrs does not create the
    /// target of a dangling symlink (`var/run -> /run`, then `var/run/x`), so then resolve
    /// the symlinks lexically ourselves and create the real path, as containerd does
    /// (`fs.RootPath` then `MkdirAll`).
    fn open_through_symlink(&self, p: &Path) -> io::Result<OwnedFd> {
        let perm = Permissions::from_mode(0o755);
        let handle = match self.root.mkdir_all(p, &perm) {
            Ok(h) => h,
            Err(_) => {
                let real = self.resolve_lexically(p)?;
                self.root.mkdir_all(&real, &perm).map_err(pathrs_io)?
            }
        };
        let file = handle
            .reopen(OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY)
            .map_err(pathrs_io)?;
        Ok(OwnedFd::from(file))
    }

    /// Follows every symlink of `p` with `/` and `..` clamped at the layer root, returning
    /// a path without symlinks (which may not exist yet).
    fn resolve_lexically(&self, p: &Path) -> io::Result<PathBuf> {
        const MAX_LINKS: usize = 40; // Linux MAXSYMLINKS
        let mut todo: Vec<Vec<u8>> = p
            .as_os_str()
            .as_bytes()
            .split(|b| *b == b'/')
            .rev()
            .map(<[u8]>::to_vec)
            .collect();
        let mut out = PathBuf::new();
        let mut links = 0;
        while let Some(c) = todo.pop() {
            match c.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    out.pop();
                    continue;
                }
                _ => {}
            }
            let candidate = out.join(OsStr::from_bytes(&c));
            match self.root.readlink(&candidate) {
                Ok(target) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let t = target.as_os_str().as_bytes();
                    if t.starts_with(b"/") {
                        out = PathBuf::new();
                    }
                    todo.extend(t.split(|b| *b == b'/').rev().map(<[u8]>::to_vec));
                }
                // Not a symlink, or not there yet: a plain component.
                Err(_) => out = candidate,
            }
        }
        Ok(out)
    }

    /// Makes room for a new entry at `rel`: returns its parent directory, and whether a
    /// directory is already there (kept when the new entry is a directory too). Anything
    /// else is removed first: the last entry for a path wins (class 18), a symlink is
    /// replaced rather than followed.
    fn prepare(
        &mut self,
        rel: &Path,
        is_dir: bool,
        name: &str,
    ) -> Result<(RawFd, bool), UnpackError> {
        let parent_fd = self
            .dir_fd(parent(rel))
            .map_err(write_err(name, "create parent directories"))?;
        let exists = self.make_room(parent_fd, rel, is_dir, name)?;
        Ok((parent_fd, exists))
    }

    /// The second half of `prepare`, for callers that already hold the parent.
    fn make_room(
        &mut self,
        parent_fd: RawFd,
        rel: &Path,
        is_dir: bool,
        name: &str,
    ) -> Result<bool, UnpackError> {
        let base = file_name(rel);
        match fstatat(Some(parent_fd), base, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => {
                let fmt = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
                if fmt == SFlag::S_IFDIR && is_dir {
                    return Ok(true);
                }
                if fmt == SFlag::S_IFDIR {
                    self.root
                        .remove_all(rel)
                        .map_err(|e| write_err(name, "replace directory")(pathrs_io(e)))?;
                    self.stale = true;
                } else {
                    unlinkat(Some(parent_fd), base, UnlinkatFlags::NoRemoveDir)
                        .map_err(|e| write_err(name, "replace existing entry")(e.into()))?;
                    self.stale |= fmt == SFlag::S_IFLNK;
                }
                Ok(false)
            }
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(write_err(name, "inspect existing entry")(e.into())),
        }
    }

    /// Applies owner, mode, attributes and (for files) times. `fresh` means this process
    /// just created the inode with `meta.mode` as its creation mode, so owner and mode only
    /// need changing where they differ from what creation gave.
    fn apply_meta(
        &self,
        fd: BorrowedFd<'_>,
        meta: &Meta,
        times: bool,
        fresh: bool,
        name: &str,
    ) -> Result<(), UnpackError> {
        let raw = fd.as_raw_fd();
        let chown = self.euid_root && (!fresh || meta.uid != 0 || meta.gid != 0);
        if chown {
            // Before chmod: chown clears setuid/setgid bits and file capabilities.
            fchown(
                raw,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
            )
            .map_err(|e| write_err(name, "chown")(e.into()))?;
        }
        let mode_ok = fresh && !chown && meta.mode & (self.umask | 0o7000) == 0;
        if !mode_ok {
            fchmod(raw, Mode::from_bits_truncate(meta.mode))
                .map_err(|e| write_err(name, "chmod")(e.into()))?;
        }
        for (attr, value) in &meta.xattrs {
            if let Err(e) = sys::fsetxattr(fd, attr, value) {
                if e.raw_os_error() == Some(libc::ENOTSUP) {
                    log::debug!("{name:?}: filesystem does not support {attr:?}");
                    continue;
                }
                return Err(write_err(name, "set extended attribute")(e));
            }
        }
        if times {
            let t = TimeSpec::new(meta.mtime, 0);
            futimens(raw, &t, &t).map_err(|e| write_err(name, "set times")(e.into()))?;
        }
        Ok(())
    }

    fn file<R: Read>(
        &mut self,
        rel: &Path,
        entry: &mut tar::Entry<'_, R>,
        meta: &Meta,
        name: &str,
    ) -> Result<(), UnpackError> {
        let parent_fd = self
            .dir_fd(parent(rel))
            .map_err(write_err(name, "create parent directories"))?;
        let flags =
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let mode = Mode::from_bits_truncate(meta.mode & 0o777);
        let base = file_name(rel);
        // Try the common case first (nothing there yet); make room only on EEXIST.
        let fd = match openat(Some(parent_fd), base, flags, mode) {
            Err(Errno::EEXIST) => {
                self.make_room(parent_fd, rel, false, name)?;
                openat(Some(parent_fd), base, flags, mode)
            }
            other => other,
        }
        .map_err(|e| write_err(name, "create file")(e.into()))?;
        let mut file = File::from(owned(fd));
        loop {
            let n = entry.read(&mut self.buf).map_err(read_error)?;
            if n == 0 {
                break;
            }
            file.write_all(&self.buf[..n])
                .map_err(write_err(name, "write file"))?;
        }
        self.apply_meta(file.as_fd(), meta, true, true, name)
    }

    fn dir(&mut self, rel: &Path, meta: &Meta, name: &str) -> Result<(), UnpackError> {
        let (parent_fd, exists) = self.prepare(rel, true, name)?;
        let base = file_name(rel);
        if !exists {
            mkdirat(
                Some(parent_fd),
                base,
                Mode::from_bits_truncate(meta.mode & 0o777),
            )
            .map_err(|e| write_err(name, "create directory")(e.into()))?;
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(Some(parent_fd), base, flags, Mode::empty())
            .map_err(|e| write_err(name, "open directory")(e.into()))?;
        let fd = owned(fd);
        self.apply_meta(fd.as_fd(), meta, false, !exists, name)
    }

    fn link_target<R: Read>(
        &self,
        entry: &tar::Entry<'_, R>,
        name: &str,
    ) -> Result<Vec<u8>, UnpackError> {
        let target = entry
            .link_name_bytes()
            .ok_or_else(|| refuse(name, "link without a target"))?
            .into_owned();
        if target.len() > self.limits.max_name_len {
            return Err(refuse(name, "link target longer than the limit"));
        }
        Ok(target)
    }

    fn symlink<R: Read>(
        &mut self,
        rel: &Path,
        entry: &tar::Entry<'_, R>,
        meta: &Meta,
        name: &str,
    ) -> Result<(), UnpackError> {
        let target = self.link_target(entry, name)?;
        let (parent_fd, _) = self.prepare(rel, false, name)?;
        let base = file_name(rel);
        // The target is stored verbatim: it is only ever followed by in-root resolution.
        symlinkat(OsStr::from_bytes(&target), Some(parent_fd), base)
            .map_err(|e| write_err(name, "create symlink")(e.into()))?;
        self.chown_node(parent_fd, base, meta, name, "chown symlink")?;
        let t = TimeSpec::new(meta.mtime, 0);
        utimensat(
            Some(parent_fd),
            base,
            &t,
            &t,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| write_err(name, "set symlink times")(e.into()))?;
        Ok(())
    }

    /// Gives a node just created at `base` in `parent_fd` the entry's owner, never following a
    /// symlink. Only as root: anyone else cannot, and keeps their own ids.
    fn chown_node(
        &self,
        parent_fd: RawFd,
        base: &OsStr,
        meta: &Meta,
        name: &str,
        what: &'static str,
    ) -> Result<(), UnpackError> {
        if !self.euid_root {
            return Ok(());
        }
        fchownat(
            Some(parent_fd),
            base,
            Some(Uid::from_raw(meta.uid)),
            Some(Gid::from_raw(meta.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| write_err(name, what)(e.into()))
    }

    /// A hardlink's target is resolved inside the root by pathrs; linking a
    /// directory or a missing target fails (class 10).
    fn hardlink<R: Read>(
        &mut self,
        rel: &Path,
        entry: &tar::Entry<'_, R>,
        name: &str,
    ) -> Result<(), UnpackError> {
        let target = self.link_target(entry, name)?;
        let target = clean_path(&target)
            .map_err(|reason| refuse(name, reason))?
            .ok_or_else(|| refuse(name, "hardlink to the layer root"))?;
        if target == rel {
            return Err(refuse(name, "hardlink to itself"));
        }
        self.prepare(rel, false, name)?;
        self.root
            .create(rel, &InodeType::Hardlink(target))
            .map_err(|e| write_err(name, "create hardlink")(pathrs_io(e)))
    }

    fn node<R: Read>(
        &mut self,
        rel: &Path,
        entry: &tar::Entry<'_, R>,
        kind: tar::EntryType,
        meta: &Meta,
        name: &str,
    ) -> Result<(), UnpackError> {
        let h = entry.header();
        let major = h.device_major().ok().flatten().unwrap_or(0);
        let minor = h.device_minor().ok().flatten().unwrap_or(0);
        let sflag = match kind {
            tar::EntryType::Char => SFlag::S_IFCHR,
            tar::EntryType::Block => SFlag::S_IFBLK,
            _ => SFlag::S_IFIFO,
        };
        if sflag == SFlag::S_IFCHR && major == 0 && minor == 0 {
            // In overlay form a 0/0 device *is* a whiteout: a layer must not smuggle one in
            //.
            return Err(refuse(
                name,
                "0/0 character device (an overlay whiteout impostor)",
            ));
        }
        if sflag != SFlag::S_IFIFO && !self.host_root {
            self.skipped_devices += 1;
            return Ok(());
        }
        let (parent_fd, _) = self.prepare(rel, false, name)?;
        let base = file_name(rel);
        let dev = nix::sys::stat::makedev(u64::from(major), u64::from(minor));
        mknodat(
            Some(parent_fd),
            base,
            sflag,
            Mode::from_bits_truncate(0o600),
            dev,
        )
        .map_err(|e| write_err(name, "create device node")(e.into()))?;
        self.chown_node(parent_fd, base, meta, name, "chown device node")?;
        // Following is harmless: the node was just created here and is not a symlink.
        fchmodat(
            Some(parent_fd),
            base,
            Mode::from_bits_truncate(meta.mode),
            FchmodatFlags::FollowSymlink,
        )
        .map_err(|e| write_err(name, "chmod device node")(e.into()))
    }

    fn whiteout(&mut self, rel: &Path, meta: &Meta, name: &str) -> Result<(), UnpackError> {
        let base = file_name(rel).as_bytes();
        if base == OPAQUE_MARKER {
            let fd = self
                .dir_fd(parent(rel))
                .map_err(write_err(name, "open opaque directory"))?;
            // The descriptor stays in the cache until the next lookup.
            let fd = sys::borrow_fd(fd);
            return sys::fsetxattr(fd, OPAQUE_XATTR, b"y")
                .map_err(write_err(name, "mark directory opaque"));
        }
        if base.starts_with(AUFS_META_PREFIX) {
            log::debug!("skipping aufs metadata entry {name:?}");
            return Ok(());
        }
        let hidden = &base[WHITEOUT_PREFIX.len()..];
        if hidden.is_empty() || hidden == b"." || hidden == b".." {
            return Err(refuse(name, "whiteout does not name a file"));
        }
        let hidden = OsStr::from_bytes(hidden);
        let parent_fd = self
            .dir_fd(parent(rel))
            .map_err(write_err(name, "create parent directories"))?;
        match fstatat(Some(parent_fd), hidden, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => {
                // This layer wrote the path itself: the whiteout only hides lower layers,
                // and the new entry already does (class 16). A directory must also stop
                // showing the lower directory's children, so it becomes opaque.
                if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR {
                    let flags =
                        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                    let fd = openat(Some(parent_fd), hidden, flags, Mode::empty())
                        .map_err(|e| write_err(name, "open whited-out directory")(e.into()))?;
                    let fd = owned(fd);
                    sys::fsetxattr(fd.as_fd(), OPAQUE_XATTR, b"y")
                        .map_err(write_err(name, "mark directory opaque"))?;
                }
                Ok(())
            }
            Err(Errno::ENOENT) => {
                mknodat(Some(parent_fd), hidden, SFlag::S_IFCHR, Mode::empty(), 0)
                    .map_err(|e| write_err(name, "create whiteout")(e.into()))?;
                if self.euid_root {
                    fchownat(
                        Some(parent_fd),
                        hidden,
                        Some(Uid::from_raw(meta.uid)),
                        Some(Gid::from_raw(meta.gid)),
                        AtFlags::AT_SYMLINK_NOFOLLOW,
                    )
                    .map_err(|e| write_err(name, "chown whiteout")(e.into()))?;
                }
                Ok(())
            }
            Err(e) => Err(write_err(name, "inspect whited-out entry")(e.into())),
        }
    }
}

#[cfg(test)]
mod tests;
