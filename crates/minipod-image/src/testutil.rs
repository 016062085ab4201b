//! Helpers for unit tests: a tar writer that does not sanitise names (so that tests can
//! build hostile layers), and checks of what an unpacked layer holds.

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use tar::{EntryType, Header};

pub const MTIME: u64 = 1_640_995_200;

pub fn is_whiteout(p: &Path) -> bool {
    fs::symlink_metadata(p)
        .map(|m| m.file_type().is_char_device() && m.rdev() == 0)
        .unwrap_or(false)
}

pub fn opaque(p: &Path) -> bool {
    let dir = fs::File::open(p).unwrap();
    crate::sys::fgetxattr(dir.as_fd(), c"trusted.overlay.opaque")
        .unwrap()
        .as_deref()
        == Some(&b"y"[..])
}

#[derive(Default)]
pub struct TarBuilder {
    out: Vec<u8>,
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body_len + 1;
    while len != body_len + len.to_string().len() {
        len = body_len + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

impl TarBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn raw(&mut self, h: &mut Header, data: &[u8]) {
        h.set_cksum();
        self.out.extend_from_slice(h.as_bytes());
        self.out.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.out.extend(std::iter::repeat_n(0u8, pad));
    }

    fn header(name: &str, kind: EntryType, link: &str, size: u64, mode: u32) -> Header {
        let mut h = Header::new_ustar();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(MTIME);
        // Names are copied raw: `set_path` would refuse the hostile ones tests need.
        let old = h.as_old_mut();
        let n = name.as_bytes();
        old.name[..n.len().min(100)].copy_from_slice(&n[..n.len().min(100)]);
        let l = link.as_bytes();
        old.linkname[..l.len().min(100)].copy_from_slice(&l[..l.len().min(100)]);
        h
    }

    fn pax(&mut self, records: &[(&str, &[u8])]) {
        let mut body = Vec::new();
        for (k, v) in records {
            body.extend(pax_record(k, v));
        }
        let mut h = Self::header("pax", EntryType::XHeader, "", body.len() as u64, 0o644);
        self.raw(&mut h, &body);
    }

    /// An entry; names or targets over 100 bytes go into PAX records.
    pub fn entry(
        &mut self,
        name: &str,
        kind: EntryType,
        link: &str,
        data: &[u8],
        mode: u32,
        pax: &[(&str, &[u8])],
    ) {
        let mut records: Vec<(&str, &[u8])> = pax.to_vec();
        if name.len() > 100 {
            records.push(("path", name.as_bytes()));
        }
        if link.len() > 100 {
            records.push(("linkpath", link.as_bytes()));
        }
        if !records.is_empty() {
            self.pax(&records);
        }
        let mut h = Self::header(name, kind, link, data.len() as u64, mode);
        self.raw(&mut h, data);
    }

    pub fn entry_owned(&mut self, name: &str, data: &[u8], mode: u32, uid: u64, gid: u64) {
        let mut h = Self::header(name, EntryType::Regular, "", data.len() as u64, mode);
        h.set_uid(uid);
        h.set_gid(gid);
        self.raw(&mut h, data);
    }

    /// A file whose ustar size field disagrees with its PAX size.
    pub fn entry_with_header_size(
        &mut self,
        name: &str,
        data: &[u8],
        size: u64,
        pax: &[(&str, &[u8])],
    ) {
        self.pax(pax);
        let mut h = Self::header(name, EntryType::Regular, "", size, 0o644);
        self.raw(&mut h, data);
    }

    pub fn gnu_long_name_without_member(&mut self, name: &str) {
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::GNULongName);
        h.set_size(name.len() as u64 + 1);
        h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        let mut data = name.as_bytes().to_vec();
        data.push(0);
        self.raw(&mut h, &data);
    }

    pub fn file(&mut self, name: &str, data: &[u8]) {
        self.entry(name, EntryType::Regular, "", data, 0o644, &[]);
    }

    pub fn dir(&mut self, name: &str) {
        self.entry(name, EntryType::Directory, "", b"", 0o755, &[]);
    }

    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, EntryType::Symlink, target, b"", 0o777, &[]);
    }

    pub fn hardlink(&mut self, name: &str, target: &str) {
        self.entry(name, EntryType::Link, target, b"", 0o644, &[]);
    }

    pub fn device(&mut self, name: &str, kind: EntryType, major: u32, minor: u32) {
        let mut h = Self::header(name, kind, "", 0, 0o666);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.raw(&mut h, b"");
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend(std::iter::repeat_n(0u8, 1024));
        self.out
    }
}
