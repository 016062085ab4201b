//! Unit tests of `tarframe.rs`.

use super::*;

const LIMITS: FrameLimits = FrameLimits {
    max_metadata: 1 << 20,
    max_total: 1 << 30,
    max_trailing: 1 << 20,
};

fn header(kind: tar::EntryType, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.as_old_mut().name[..4].copy_from_slice(b"name");
    h.set_cksum();
    h.as_bytes().to_vec()
}

fn drain(r: &mut dyn Read) -> io::Result<u64> {
    io::copy(r, &mut io::sink())
}

#[test]
fn passes_a_tar_through_unchanged() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_cksum();
    b.append_data(&mut h, "a".repeat(300), &b"abc"[..]).unwrap();
    let mut data = b.into_inner().unwrap();
    data.extend(vec![0u8; 8192]);
    let mut out = Vec::new();
    TarFrame::new(&data[..], LIMITS)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, data);
}

#[test]
fn huge_metadata_header_fails_at_its_header() {
    for kind in [
        tar::EntryType::GNULongName,
        tar::EntryType::GNULongLink,
        tar::EntryType::XHeader,
        tar::EntryType::XGlobalHeader,
    ] {
        // Only the header: the 8 GiB body is never there, and never asked for.
        let data = header(kind, 8 << 30);
        let err = drain(&mut TarFrame::new(&data[..], LIMITS)).unwrap_err();
        let e = TarLimitError::of(&err).unwrap();
        assert!(
            matches!(e, TarLimitError::MetadataTooLarge { size, .. } if size == 8 << 30),
            "{e:?}"
        );
    }
}

#[test]
fn base256_size_field_is_read() {
    let mut data = header(tar::EntryType::GNULongName, 0);
    // A base-256 size of 2^40: the high bit of the first byte, then big-endian bytes.
    let mut field = [0u8; 12];
    field[0] = 0x80;
    field[6] = 1;
    data[124..136].copy_from_slice(&field);
    let mut h = tar::Header::from_byte_slice(&data).clone();
    h.set_cksum();
    let err = drain(&mut TarFrame::new(h.as_bytes().as_slice(), LIMITS)).unwrap_err();
    assert!(matches!(
        TarLimitError::of(&err),
        Some(TarLimitError::MetadataTooLarge { size, .. }) if size == 1 << 40
    ));
}

/// A PAX extended header whose one record sets the next entry's size to 1024.
fn pax_size_1024() -> Vec<u8> {
    let rec = b"13 size=1024\n";
    let mut data = header(tar::EntryType::XHeader, rec.len() as u64);
    let mut body = rec.to_vec();
    body.resize(512, 0);
    data.extend(body);
    data
}

/// The 1024-byte body a PAX size of 1024 announces, made of two blocks that would read as
/// 8 GiB long-name headers, then the two zero blocks that end the archive.
fn fake_long_names() -> Vec<u8> {
    let fake = header(tar::EntryType::GNULongName, 8 << 30);
    let mut data = fake.clone();
    data.extend(&fake);
    data.extend(vec![0u8; 1024]);
    data
}

#[test]
fn pax_size_overrides_the_next_header() {
    // A PAX size of 1024 for an entry whose ustar size is 0: the framing must skip
    // 1024 bytes of body, as the tar crate does, and not read it as headers.
    let mut data = Vec::new();
    data.extend(pax_size_1024());
    data.extend(header(tar::EntryType::Regular, 0));
    // A body that looks like an 8 GiB long-name header.
    data.extend(fake_long_names());
    let n = drain(&mut TarFrame::new(&data[..], LIMITS)).unwrap();
    assert_eq!(n, data.len() as u64);
}

#[test]
fn pax_size_carries_over_a_long_name_header() {
    let mut data = Vec::new();
    data.extend(pax_size_1024());
    data.extend(header(tar::EntryType::GNULongName, 4));
    let mut name = b"abc\0".to_vec();
    name.resize(512, 0);
    data.extend(name);
    data.extend(header(tar::EntryType::Regular, 0));
    data.extend(fake_long_names());
    let n = drain(&mut TarFrame::new(&data[..], LIMITS)).unwrap();
    assert_eq!(n, data.len() as u64);
    // And the tar crate frames it the same way: one entry of 1024 bytes.
    let mut a = tar::Archive::new(&data[..]);
    let sizes: Vec<u64> = a.entries().unwrap().map(|e| e.unwrap().size()).collect();
    assert_eq!(sizes, [1024]);
}

#[test]
fn total_size_is_capped() {
    let mut data = header(tar::EntryType::Regular, 4096);
    data.extend(vec![1u8; 4096]);
    data.extend(vec![0u8; 1024]);
    let limits = FrameLimits {
        max_total: 2048,
        ..LIMITS
    };
    let err = drain(&mut TarFrame::new(&data[..], limits)).unwrap_err();
    assert_eq!(
        TarLimitError::of(&err),
        Some(TarLimitError::TooLarge { limit: 2048 })
    );
}

/// Fails the test if read past `allowed` bytes.
struct Endless {
    prefix: Vec<u8>,
    pos: u64,
    allowed: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        assert!(self.pos < self.allowed, "read past the allowance");
        let n = buf.len().min((self.allowed - self.pos) as usize);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            let p = self.pos as usize + i;
            *b = self.prefix.get(p).copied().unwrap_or(0x5a);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

#[test]
fn trailing_data_after_the_end_is_bounded() {
    let mut prefix = header(tar::EntryType::Regular, 1);
    prefix.extend(vec![1u8; 512]);
    prefix.extend(vec![0u8; 1024]);
    let limits = FrameLimits {
        max_trailing: 4096,
        ..LIMITS
    };
    let mut r = Endless {
        allowed: prefix.len() as u64 - 512 + 4096 + 1,
        prefix,
        pos: 0,
    };
    let err = drain(&mut TarFrame::new(&mut r, limits)).unwrap_err();
    assert_eq!(
        TarLimitError::of(&err),
        Some(TarLimitError::Trailing { limit: 4096 })
    );
}
