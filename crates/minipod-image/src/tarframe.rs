//! A reader that follows the framing of a tar stream as it passes through, so that limits
//! apply before the `tar` crate buffers anything.
//!
//! The `tar` crate reads the body of a GNU long name (`L`), long link (`K`) or PAX (`x`,
//! `g`) entry whole into memory before returning the entry it describes
//! (`EntriesFields::next_entry` → `read_all`), so a header declaring an 8 GiB long name
//! would allocate 8 GiB before any check of minipod runs. [`TarFrame`] sits between the
//! decompressor and the `tar` reader: it sees each 512-byte header as it is read, refuses a
//! metadata entry that declares more than its cap, counts every uncompressed byte against
//! the layer's cap, and stops at the end-of-archive marker, allowing only a bounded amount
//! of trailing data (the record padding tar writers add) instead of decompressing whatever
//! follows. It reads no further than its caller asks, so the `tar` crate sees the same
//! bytes in the same order.

use std::io::{self, Read};

const BLOCK: usize = 512;

/// A limit the tar framing hit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TarLimitError {
    #[error("tar {kind} entry declares {size} bytes, more than the limit of {limit} bytes")]
    MetadataTooLarge {
        kind: &'static str,
        size: u64,
        limit: u64,
    },
    #[error("layer is larger than the limit of {limit} bytes uncompressed")]
    TooLarge { limit: u64 },
    #[error("more than {limit} bytes of data after the tar end-of-archive marker")]
    Trailing { limit: u64 },
    #[error("tar header has an invalid size field")]
    BadSize,
}

impl TarLimitError {
    /// The limit error an I/O error carries, if it came from a [`TarFrame`].
    pub fn of(e: &io::Error) -> Option<TarLimitError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<TarLimitError>())
            .cloned()
    }
}

/// The caps [`TarFrame`] enforces.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// Body of one `L`, `K`, `x` or `g` entry.
    pub max_metadata: u64,
    /// The whole uncompressed stream: headers, contents, padding, trailing data.
    pub max_total: u64,
    /// Bytes read after the first zero block that ends the archive.
    pub max_trailing: u64,
}

enum State {
    /// Collecting the next header.
    Header,
    /// Passing an entry's body and padding through.
    Body { left: u64 },
    /// Collecting a PAX local header's body (bounded by `max_metadata`) to learn `size`.
    Pax { left: u64, padding: u64 },
    /// After the end-of-archive marker.
    Trailing { left: u64 },
}

pub struct TarFrame<R> {
    inner: R,
    limits: FrameLimits,
    state: State,
    header: [u8; BLOCK],
    header_len: usize,
    pax: Vec<u8>,
    /// The `size` of the last PAX local header: it overrides the next entry's size field,
    /// as it does in the `tar` crate.
    pax_size: Option<u64>,
    total: u64,
}

fn limit_err(e: TarLimitError) -> io::Error {
    io::Error::other(e)
}

fn padded(size: u64) -> Option<u64> {
    size.checked_add(BLOCK as u64 - 1)
        .map(|s| s & !(BLOCK as u64 - 1))
}

impl<R: Read> TarFrame<R> {
    pub fn new(inner: R, limits: FrameLimits) -> Self {
        TarFrame {
            inner,
            limits,
            state: State::Header,
            header: [0; BLOCK],
            header_len: 0,
            pax: Vec::new(),
            pax_size: None,
            total: 0,
        }
    }

    /// A header block is complete: decide how much body follows.
    fn header_done(&mut self) -> io::Result<()> {
        self.header_len = 0;
        if self.header.iter().all(|b| *b == 0) {
            // The `tar` crate ends the archive at the first zero block; the second one and
            // the record padding are trailing data.
            self.state = State::Trailing {
                left: self.limits.max_trailing,
            };
            return Ok(());
        }
        let h = tar::Header::from_byte_slice(&self.header);
        // A header the `tar` crate will refuse (bad checksum, bad size) ends here too: the
        // framing after it is meaningless, and its own error is clearer.
        let size = match h.entry_size() {
            Ok(s) => s,
            Err(_) => return Err(limit_err(TarLimitError::BadSize)),
        };
        let kind = match h.entry_type().as_byte() {
            b'L' => Some("GNU long name ('L')"),
            b'K' => Some("GNU long link ('K')"),
            b'x' => Some("PAX header ('x')"),
            b'g' => Some("PAX global header ('g')"),
            _ => None,
        };
        if let Some(kind) = kind {
            if size > self.limits.max_metadata {
                return Err(limit_err(TarLimitError::MetadataTooLarge {
                    kind,
                    size,
                    limit: self.limits.max_metadata,
                }));
            }
        }
        // The `tar` crate keeps a PAX header's values across the long-name/link headers
        // that may follow it and applies them to the next real entry.
        let size = match kind {
            None => self.pax_size.take().unwrap_or(size),
            Some(_) => size,
        };
        let total = padded(size).ok_or_else(|| limit_err(TarLimitError::BadSize))?;
        self.state = if h.entry_type().as_byte() == b'x' {
            self.pax.clear();
            State::Pax {
                left: size,
                padding: total - size,
            }
        } else {
            State::Body { left: total }
        };
        Ok(())
    }

    fn pax_done(&mut self) {
        self.pax_size = tar::PaxExtensions::new(&self.pax)
            .map_while(Result::ok)
            .find(|e| e.key() == Ok("size"))
            .and_then(|e| e.value().ok()?.parse().ok());
        self.pax = Vec::new();
    }
}

impl<R: Read> Read for TarFrame<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let want = match &self.state {
            State::Header => BLOCK - self.header_len,
            State::Body { left } | State::Trailing { left } => {
                usize::try_from(*left).unwrap_or(usize::MAX)
            }
            State::Pax { left, padding } => {
                usize::try_from(if *left > 0 { *left } else { *padding }).unwrap_or(usize::MAX)
            }
        };
        if want == 0 {
            return match self.state {
                State::Trailing { .. } => {
                    // The allowance is used up: one more byte means more data follows, which is
                    // refused rather than decompressed.
                    let mut probe = [0u8; 1];
                    match self.inner.read(&mut probe)? {
                        0 => Ok(0),
                        _ => Err(limit_err(TarLimitError::Trailing {
                            limit: self.limits.max_trailing,
                        })),
                    }
                }
                _ => {
                    // An empty body: go straight to the next header.
                    if matches!(self.state, State::Pax { .. }) {
                        self.pax_done();
                    }
                    self.state = State::Header;
                    self.read(buf)
                }
            };
        }
        let n = want.min(buf.len());
        let got = self.inner.read(&mut buf[..n])?;
        if got == 0 {
            return Ok(0);
        }
        self.total += got as u64;
        if self.total > self.limits.max_total {
            return Err(limit_err(TarLimitError::TooLarge {
                limit: self.limits.max_total,
            }));
        }
        match &mut self.state {
            State::Header => {
                self.header[self.header_len..self.header_len + got].copy_from_slice(&buf[..got]);
                self.header_len += got;
                if self.header_len == BLOCK {
                    self.header_done()?;
                }
            }
            State::Body { left } => {
                *left -= got as u64;
                if *left == 0 {
                    self.state = State::Header;
                }
            }
            State::Trailing { left } => *left -= got as u64,
            State::Pax { left, padding } => {
                if *left > 0 {
                    self.pax.extend_from_slice(&buf[..got]);
                    *left -= got as u64;
                } else {
                    *padding -= got as u64;
                }
                if *left == 0 && *padding == 0 {
                    self.pax_done();
                    self.state = State::Header;
                }
            }
        }
        Ok(got)
    }
}

#[cfg(test)]
mod tests;
