//! Container logs in the CRI format the kubelet reads:
//! `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>\n`.
//!
//! The container never writes its log file itself: its stdout and stderr are pipes, and the
//! supervisor's event loop feeds whatever it reads into a [`CriLogWriter`]. The writer splits
//! the bytes into lines: a line ended by `\n` is written with the tag `F` (full); a line longer
//! than the maximum is cut into chunks tagged `P` (partial) followed by a final `F` chunk, the
//! way containerd does with its `max_container_log_line_size` (16 KiB by default). Bytes left
//! without a newline when the stream ends are written as the last full line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// containerd's default `max_container_log_line_size`.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024;

/// Which pipe a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }

    fn index(self) -> usize {
        match self {
            LogStream::Stdout => 0,
            LogStream::Stderr => 1,
        }
    }
}

/// Whether a log record ends a line (`F`) or continues on the next record (`P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTag {
    Full,
    Partial,
}

impl LogTag {
    pub fn as_str(self) -> &'static str {
        match self {
            LogTag::Full => "F",
            LogTag::Partial => "P",
        }
    }
}

/// Splits a byte stream into log records. Pure: no I/O, no clock.
#[derive(Debug, Clone)]
pub struct LineSplitter {
    pending: Vec<u8>,
    max_line: usize,
}

impl LineSplitter {
    /// `max_line` is the longest record text; longer lines are cut into `P` records.
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            pending: Vec::new(),
            max_line: max_line.max(1),
        }
    }

    /// Feeds `data`; calls `emit` for every record that is complete.
    pub fn push<E: Emit>(&mut self, mut data: &[u8], emit: &mut E) -> Result<(), E::Error> {
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    let (line, rest) = (&data[..nl], &data[nl + 1..]);
                    self.take_full(line, emit)?;
                    data = rest;
                }
                None => {
                    self.pending.extend_from_slice(data);
                    data = &[];
                    self.emit_overlong(emit)?;
                }
            }
        }
        Ok(())
    }

    /// The stream ended: whatever is pending becomes the last full record.
    pub fn finish<E: Emit>(&mut self, emit: &mut E) -> Result<(), E::Error> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            emit.emit(&line, LogTag::Full)?;
        }
        Ok(())
    }

    /// Bytes buffered waiting for their newline.
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    fn take_full<E: Emit>(&mut self, line: &[u8], emit: &mut E) -> Result<(), E::Error> {
        if self.pending.is_empty() {
            let mut line = line;
            while line.len() > self.max_line {
                emit.emit(&line[..self.max_line], LogTag::Partial)?;
                line = &line[self.max_line..];
            }
            emit.emit(line, LogTag::Full)
        } else {
            self.pending.extend_from_slice(line);
            self.emit_overlong(emit)?;
            let line = std::mem::take(&mut self.pending);
            emit.emit(&line, LogTag::Full)
        }
    }

    fn emit_overlong<E: Emit>(&mut self, emit: &mut E) -> Result<(), E::Error> {
        if self.pending.len() > self.max_line {
            let mut start = 0;
            while self.pending.len() - start > self.max_line {
                emit.emit(&self.pending[start..start + self.max_line], LogTag::Partial)?;
                start += self.max_line;
            }
            self.pending.drain(..start);
        }
        Ok(())
    }
}

/// Receives the records a [`LineSplitter`] produces.
pub trait Emit {
    type Error;
    fn emit(&mut self, text: &[u8], tag: LogTag) -> Result<(), Self::Error>;
}

impl<F, Err> Emit for F
where
    F: FnMut(&[u8], LogTag) -> Result<(), Err>,
{
    type Error = Err;
    fn emit(&mut self, text: &[u8], tag: LogTag) -> Result<(), Err> {
        self(text, tag)
    }
}

/// Formats a time as RFC 3339 in UTC with nine fractional digits
/// (`2026-11-28T11:55:12.123456789Z`): fixed width, so records sort as text, and accepted by
/// Go's `time.RFC3339Nano` parser that the kubelet uses.
pub fn format_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        d.subsec_nanos()
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Errors of the log writer.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("open log file {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("write log file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Writes the CRI log of one container attempt (`logs/<container>/<restartCount>.log`).
pub struct CriLogWriter<W: Write = File> {
    out: W,
    path: PathBuf,
    splitters: [LineSplitter; 2],
    clock: fn() -> SystemTime,
}

impl CriLogWriter<File> {
    /// Opens (creating parents; appending, close-on-exec, mode 0640) the log file at `path`.
    pub fn create(path: &Path) -> Result<Self, LogError> {
        let open_err = |source| LogError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(open_err)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(open_err)?;
        Ok(CriLogWriter::new(file, path.to_path_buf()))
    }
}

impl<W: Write> CriLogWriter<W> {
    /// Wraps any writer; `path` is only used in error messages.
    pub fn new(out: W, path: PathBuf) -> Self {
        CriLogWriter {
            out,
            path,
            splitters: [
                LineSplitter::new(DEFAULT_MAX_LINE),
                LineSplitter::new(DEFAULT_MAX_LINE),
            ],
            clock: SystemTime::now,
        }
    }

    /// Changes the longest record text (tests, or a configured limit).
    pub fn with_max_line(mut self, max_line: usize) -> Self {
        self.splitters = [LineSplitter::new(max_line), LineSplitter::new(max_line)];
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    /// Writes the complete records found in `data`, read from `stream`.
    pub fn write_chunk(&mut self, stream: LogStream, data: &[u8]) -> Result<(), LogError> {
        let CriLogWriter {
            out,
            path,
            splitters,
            clock,
        } = self;
        let mut sink = RecordSink {
            out,
            stream,
            clock: *clock,
        };
        splitters[stream.index()]
            .push(data, &mut sink)
            .map_err(|source| LogError::Write {
                path: path.clone(),
                source,
            })
    }

    /// `stream` reached end of file: writes its unterminated last line, if any.
    pub fn finish_stream(&mut self, stream: LogStream) -> Result<(), LogError> {
        let CriLogWriter {
            out,
            path,
            splitters,
            clock,
        } = self;
        let mut sink = RecordSink {
            out,
            stream,
            clock: *clock,
        };
        splitters[stream.index()]
            .finish(&mut sink)
            .and_then(|()| out_flush(sink.out))
            .map_err(|source| LogError::Write {
                path: path.clone(),
                source,
            })
    }

    /// Both streams ended: flushes everything and returns the writer.
    pub fn finish(mut self) -> Result<W, LogError> {
        self.finish_stream(LogStream::Stdout)?;
        self.finish_stream(LogStream::Stderr)?;
        Ok(self.out)
    }
}

fn out_flush<W: Write>(w: &mut W) -> io::Result<()> {
    w.flush()
}

struct RecordSink<'a, W: Write> {
    out: &'a mut W,
    stream: LogStream,
    clock: fn() -> SystemTime,
}

impl<W: Write> Emit for RecordSink<'_, W> {
    type Error = io::Error;
    fn emit(&mut self, text: &[u8], tag: LogTag) -> io::Result<()> {
        // One write per record so that a concurrent reader never sees half a record.
        let ts = format_timestamp((self.clock)());
        let mut rec = Vec::with_capacity(ts.len() + text.len() + 12);
        rec.extend_from_slice(ts.as_bytes());
        rec.push(b' ');
        rec.extend_from_slice(self.stream.as_str().as_bytes());
        rec.push(b' ');
        rec.extend_from_slice(tag.as_str().as_bytes());
        rec.push(b' ');
        rec.extend_from_slice(text);
        rec.push(b'\n');
        self.out.write_all(&rec)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn split(max: usize, chunks: &[&[u8]]) -> Vec<(String, LogTag)> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut emit = |t: &[u8], tag| -> Result<(), ()> {
            out.push((String::from_utf8(t.to_vec()).unwrap(), tag));
            Ok(())
        };
        for c in chunks {
            s.push(c, &mut emit).unwrap();
        }
        s.finish(&mut emit).unwrap();
        out
    }

    use LogTag::{Full as F, Partial as P};

    #[test]
    fn splits_lines_across_chunks() {
        assert_eq!(
            split(100, &[b"a\nb", b"c\n", b"\nd"]),
            vec![
                ("a".into(), F),
                ("bc".into(), F),
                ("".into(), F),
                ("d".into(), F)
            ]
        );
    }

    #[test]
    fn empty_input_writes_nothing() {
        assert!(split(10, &[]).is_empty());
        assert!(split(10, &[b""]).is_empty());
    }

    #[test]
    fn overlong_lines_become_partial_records() {
        assert_eq!(
            split(3, &[b"abcdefgh\nxy\n"]),
            vec![
                ("abc".into(), P),
                ("def".into(), P),
                ("gh".into(), F),
                ("xy".into(), F)
            ]
        );
        // The same line arriving byte by byte gives the same records.
        let bytes: Vec<&[u8]> = b"abcdefgh\nxy\n".chunks(1).collect();
        assert_eq!(split(3, &bytes), split(3, &[b"abcdefgh\nxy\n"]));
        // Exactly max bytes is one full record.
        assert_eq!(split(3, &[b"abc\n"]), vec![("abc".into(), F)]);
    }

    #[test]
    fn unterminated_tail_is_written_at_end_of_stream() {
        let mut s = LineSplitter::new(10);
        let mut got = Vec::new();
        let mut emit = |t: &[u8], tag| -> Result<(), ()> {
            got.push((t.to_vec(), tag));
            Ok(())
        };
        s.push(b"partial", &mut emit).unwrap();
        assert!(got.is_empty());
        assert_eq!(s.pending(), b"partial");
        assert_eq!(split(10, &[b"no newline"]), vec![("no newline".into(), F)]);
    }

    #[test]
    fn timestamps_are_rfc3339_nano_utc() {
        assert_eq!(
            format_timestamp(UNIX_EPOCH),
            "1970-01-01T00:00:00.000000000Z"
        );
        let t = UNIX_EPOCH + Duration::new(1_709_210_096, 5); // 2024-02-29T12:34:56
        assert_eq!(format_timestamp(t), "2024-02-29T12:34:56.000000005Z");
        let t = UNIX_EPOCH + Duration::new(951_782_400, 0); // 2000-02-29
        assert_eq!(format_timestamp(t), "2000-02-29T00:00:00.000000000Z");
        let t = UNIX_EPOCH + Duration::new(4_102_444_799, 999_999_999);
        assert_eq!(format_timestamp(t), "2099-12-31T23:59:59.999999999Z");
    }

    fn fixed_clock() -> SystemTime {
        UNIX_EPOCH + Duration::new(1, 500)
    }

    #[test]
    fn writer_interleaves_streams_in_cri_format() {
        let mut w = CriLogWriter::new(Vec::new(), "mem".into())
            .with_clock(fixed_clock)
            .with_max_line(4);
        w.write_chunk(LogStream::Stdout, b"hello\nwor").unwrap();
        w.write_chunk(LogStream::Stderr, b"oops\n").unwrap();
        w.write_chunk(LogStream::Stdout, b"ld").unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let ts = "1970-01-01T00:00:01.000000500Z";
        assert_eq!(
            out,
            format!(
                "{ts} stdout P hell\n{ts} stdout F o\n{ts} stderr F oops\n{ts} stdout P worl\n{ts} stdout F d\n"
            )
        );
        let records: Vec<_> = out
            .lines()
            .map(|l| parse_record(l.as_bytes()).unwrap())
            .collect();
        assert_eq!(
            reassemble(&records, LogStream::Stdout),
            vec![b"hello".to_vec(), b"world".to_vec()]
        );
        assert_eq!(
            reassemble(&records, LogStream::Stderr),
            vec![b"oops".to_vec()]
        );
    }

    #[test]
    fn writer_creates_file_and_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/web/0.log");
        let mut w = CriLogWriter::create(&path).unwrap();
        w.write_chunk(LogStream::Stdout, b"x\n").unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let rec = parse_record(text.trim_end().as_bytes()).unwrap();
        assert_eq!(rec.text, b"x");
        assert_eq!(rec.tag, LogTag::Full);
    }
}
