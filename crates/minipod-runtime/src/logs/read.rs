//! Reading container logs back (`minipod logs`): the files of a log oldest first, gunzipped
//! when rotated and compressed, the last lines read backwards block by block, and the records
//! parsed and joined back into the lines the container wrote.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{rotated_files, LogStream, LogTag};

/// Every file of the log `current`, oldest first: rotated ones, then `current` if it exists.
pub fn log_files(current: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = rotated_files(current)?;
    if current.exists() {
        files.push(current.to_path_buf());
    }
    Ok(files)
}

/// Opens one log file for reading from its start, gunzipping a `.gz` one.
pub fn open_reader(path: &Path) -> io::Result<Box<dyn Read>> {
    let file = File::open(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(flate2::read::GzDecoder::new(BufReader::new(file))))
    } else {
        Ok(Box::new(file))
    }
}

/// Opens a log file so that it can be read backwards: a plain file as it is, a `.gz` one
/// unpacked into an unnamed temporary file next to it (memory stays flat whatever its size).
pub fn open_seekable(path: &Path) -> io::Result<File> {
    if path.extension().is_none_or(|e| e != "gz") {
        return File::open(path);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
        .open(dir)?;
    io::copy(&mut open_reader(path)?, &mut tmp)?;
    Ok(tmp)
}

/// Block size for reading a log backwards.
const TAIL_BLOCK: u64 = 64 * 1024;
/// A "record" longer than this without a newline is not one the writer made: dropped.
const MAX_RECORD: usize = 1024 * 1024;

/// Collects, reading backwards, the records that make up the last `lines` lines of a log
/// (a line being `P` records of one stream ended by an `F` one; a line whose `F` has not been
/// written yet counts as a line too). Records of both streams interleave, so a `P` record
/// belongs to the next `F` of its own stream.
#[derive(Debug)]
pub struct TailCollector {
    wanted: usize,
    found: usize,
    /// Per stream: the earliest record taken is part of a line whose start is not seen yet.
    open: [bool; 2],
    /// Per stream: a record of it was seen (a `P` seen first ends no line: unfinished).
    seen: [bool; 2],
    /// Records taken, newest first (each without its `\n`).
    records: Vec<Vec<u8>>,
}

impl TailCollector {
    pub fn new(lines: usize) -> Self {
        TailCollector {
            wanted: lines,
            found: 0,
            open: [false; 2],
            seen: [false; 2],
            records: Vec::new(),
        }
    }

    /// Enough lines were found and none of them still lacks its start.
    pub fn done(&self) -> bool {
        self.found >= self.wanted && !self.open.iter().any(|o| *o)
    }

    /// Offers the record before every record offered so far.
    fn offer(&mut self, record: &[u8]) {
        let Some(rec) = parse_record(record) else {
            return;
        };
        let s = rec.stream.index();
        let take = match rec.tag {
            LogTag::Full => {
                if self.found < self.wanted {
                    self.found += 1;
                    self.open[s] = true;
                    true
                } else {
                    self.open[s] = false;
                    false
                }
            }
            LogTag::Partial if self.open[s] => true,
            LogTag::Partial if !self.seen[s] && self.found < self.wanted => {
                // The start of the stream's unfinished last line.
                self.found += 1;
                self.open[s] = true;
                true
            }
            LogTag::Partial => false,
        };
        self.seen[s] = true;
        if take {
            self.records.push(record.to_vec());
        }
    }

    /// Reads `file` backwards from byte `end` in blocks, offering every record, until done.
    /// An unterminated last record (a torn write) is offered too if it parses.
    pub fn read_back(&mut self, file: &mut File, end: u64) -> io::Result<()> {
        let mut pos = end;
        // Bytes after the earliest newline seen so far, still to be split.
        let mut carry: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; TAIL_BLOCK as usize];
        while pos > 0 && !self.done() {
            let start = pos.saturating_sub(TAIL_BLOCK);
            let len = (pos - start) as usize;
            file.seek(SeekFrom::Start(start))?;
            file.read_exact(&mut buf[..len])?;
            pos = start;
            let mut block = buf[..len].to_vec();
            block.extend_from_slice(&carry);
            // Every complete record in the block, newest first; the bytes before the first
            // newline may continue in the previous block.
            let mut tail_end = block.len();
            while let Some(nl) = block[..tail_end].iter().rposition(|b| *b == b'\n') {
                let rec = &block[nl + 1..tail_end];
                if !rec.is_empty() {
                    self.offer(rec);
                }
                tail_end = nl;
                if self.done() {
                    return Ok(());
                }
            }
            block.truncate(tail_end);
            carry = block;
            if carry.len() > MAX_RECORD {
                carry.clear();
            }
        }
        if pos == 0 && !carry.is_empty() && !self.done() {
            self.offer(&carry);
        }
        Ok(())
    }

    /// The records taken, in file order, each ended by `\n`.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::new();
        for r in self.records.iter().rev() {
            out.extend_from_slice(r);
            out.push(b'\n');
        }
        out
    }
}

/// The records of the last `lines` lines of the log whose files are `files` (oldest first,
/// as [`log_files`] gives them), read backwards block by block.
pub fn tail_log(files: &[PathBuf], lines: usize) -> io::Result<Vec<u8>> {
    let mut tail = TailCollector::new(lines);
    for path in files.iter().rev() {
        if tail.done() {
            break;
        }
        let mut file = match open_seekable(path) {
            Ok(f) => f,
            // Rotated away meanwhile.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let end = file.seek(SeekFrom::End(0))?;
        tail.read_back(&mut file, end)?;
    }
    Ok(tail.into_bytes())
}

/// The inode of an open file (to tell whether its path was rotated to a new file).
pub fn inode(file: &File) -> io::Result<(u64, u64)> {
    let m = file.metadata()?;
    Ok((m.dev(), m.ino()))
}

/// One parsed record of a CRI log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub timestamp: String,
    pub stream: LogStream,
    pub tag: LogTag,
    pub text: Vec<u8>,
}

/// Parses one line of a CRI log file (without its `\n`); `None` if it is not a record.
pub fn parse_record(line: &[u8]) -> Option<LogRecord> {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let timestamp = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let stream = match parts.next()? {
        b"stdout" => LogStream::Stdout,
        b"stderr" => LogStream::Stderr,
        _ => return None,
    };
    let tag = match parts.next()? {
        b"F" => LogTag::Full,
        b"P" => LogTag::Partial,
        _ => return None,
    };
    let text = parts.next().unwrap_or_default().to_vec();
    Some(LogRecord {
        timestamp,
        stream,
        tag,
        text,
    })
}

/// Joins the records of one stream back into the lines the container wrote.
pub fn reassemble(records: &[LogRecord], stream: LogStream) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut cur = Vec::new();
    for r in records.iter().filter(|r| r.stream == stream) {
        cur.extend_from_slice(&r.text);
        if r.tag == LogTag::Full {
            lines.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}
