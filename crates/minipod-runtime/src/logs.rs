//! Container logs in the CRI format the kubelet reads:
//! `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>\n`.
//!
//! The container never writes its log file itself: its stdout and stderr are pipes, and the
//! supervisor's event loop feeds whatever it reads into a [`CriLogWriter`]. The writer splits
//! the bytes into lines: a line ended by `\n` is written with the tag `F` (full); a line longer
//! than the maximum is cut into chunks tagged `P` (partial) followed by a final `F` chunk, the
//! way containerd does with its `max_container_log_line_size` (16 KiB by default). Bytes left
//! without a newline when the stream ends are written as the last full line.
//!
//! Rotation follows the kubelet's container log manager
//! (pkg/kubelet/logs/container_log_manager.go): once the current file reaches
//! `containerLogMaxSize` (10Mi) it is renamed `<log>.<timestamp>`, a new `<log>` is opened,
//! rotated files other than the newest are gzipped, and the oldest are removed so that at most
//! `containerLogMaxFiles` (5) files, the current one included, remain. The kubelet renames and
//! asks the runtime to reopen; here the writer is the runtime, so it rotates in-line, right
//! after the write that crossed the limit. The timestamp in the name has nanoseconds (the
//! kubelet's has seconds, but it rotates at most every 10 s) so names sort by age as text.
//!
//! This file writes logs (splitting, records, rotation); `logs/read.rs` reads them back.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

mod read;

pub use read::{
    inode, log_files, open_reader, open_seekable, parse_record, reassemble, tail_log, LogRecord,
    TailCollector,
};

/// containerd's default `max_container_log_line_size`.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024;

/// The kubelet's `containerLogMaxSize` default (10Mi).
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// The kubelet's `containerLogMaxFiles` default.
pub const DEFAULT_MAX_FILES: usize = 5;
/// Environment variable the supervisor reads for `containerLogMaxSize` (a quantity: `10Mi`).
pub const MAX_SIZE_ENV: &str = "MINIPOD_CONTAINER_LOG_MAX_SIZE";
/// Environment variable the supervisor reads for `containerLogMaxFiles`.
pub const MAX_FILES_ENV: &str = "MINIPOD_CONTAINER_LOG_MAX_FILES";

/// When a container's log file is rotated and how many files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Rotate once the current file holds at least this many bytes.
    pub max_size: u64,
    /// Files kept, the current one included (at least 2, as the kubelet's config validation
    /// requires).
    pub max_files: usize,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        RotationPolicy {
            max_size: DEFAULT_MAX_SIZE,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

impl RotationPolicy {
    /// Reads [`MAX_SIZE_ENV`] and [`MAX_FILES_ENV`]; unset means the kubelet's defaults.
    pub fn from_env() -> Result<Self, String> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self::parse(get(MAX_SIZE_ENV).as_deref(), get(MAX_FILES_ENV).as_deref())
    }

    /// The policy from the two settings' text (`None`: default).
    pub fn parse(max_size: Option<&str>, max_files: Option<&str>) -> Result<Self, String> {
        let mut policy = RotationPolicy::default();
        if let Some(v) = max_size {
            policy.max_size = parse_quantity(v.trim()).filter(|n| *n > 0).ok_or_else(|| {
                format!("{MAX_SIZE_ENV}={v:?}: not a positive size such as 10Mi or 500Ki")
            })?;
        }
        if let Some(v) = max_files {
            policy.max_files = v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 2)
                .ok_or_else(|| format!("{MAX_FILES_ENV}={v:?}: must be a whole number >= 2"))?;
        }
        Ok(policy)
    }
}

/// A byte quantity as Kubernetes writes it: `1048576`, `500Ki`, `10Mi`, `1Gi`, `10M`, `1k`.
pub fn parse_quantity(s: &str) -> Option<u64> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let number: u64 = s[..digits].parse().ok()?;
    let scale: u64 = match &s[digits..] {
        "" => 1,
        "k" => 1000,
        "M" => 1000u64.pow(2),
        "G" => 1000u64.pow(3),
        "T" => 1000u64.pow(4),
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(scale)
}

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
    #[error("rotate log file {path}: {source}")]
    Rotate {
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
    /// Bytes in the current file.
    written: u64,
    rotation: Option<RotationPolicy>,
}

fn open_log(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

impl CriLogWriter<File> {
    /// Opens (creating parents 0700; appending, close-on-exec, mode 0600) the log file at
    /// `path`. Logs can hold secrets a container prints: only root reads them.
    pub fn create(path: &Path) -> Result<Self, LogError> {
        let open_err = |source| LogError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(open_err)?;
        }
        let file = open_log(path).map_err(open_err)?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut w = CriLogWriter::new(file, path.to_path_buf());
        w.written = written;
        Ok(w)
    }

    /// Rotates the file by `policy` from now on.
    pub fn with_rotation(mut self, policy: RotationPolicy) -> Self {
        self.rotation = Some(policy);
        self
    }

    /// [`write_chunk`](Self::write_chunk), rotating whenever the file reaches its limit. The
    /// data is fed a line at a time (each record is one `write` anyway), so one large read (a
    /// busy supervisor reads up to 256 KiB per pass) cannot push a file far past `max_size`:
    /// a file ends at most one record beyond it.
    pub fn write(&mut self, stream: LogStream, mut data: &[u8]) -> Result<(), LogError> {
        if self.rotation.is_none() {
            return self.write_chunk(stream, data);
        }
        while !data.is_empty() {
            let n = data
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |i| i + 1);
            let (line, rest) = data.split_at(n);
            self.write_chunk(stream, line)?;
            self.rotate_if_needed()?;
            data = rest;
        }
        Ok(())
    }

    /// Renames the current file to `<log>.<timestamp>`, opens a new one, gzips the older
    /// rotated files and removes those beyond `max_files`.
    fn rotate_if_needed(&mut self) -> Result<(), LogError> {
        let Some(policy) = self.rotation else {
            return Ok(());
        };
        if self.written < policy.max_size {
            return Ok(());
        }
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LogError::Rotate { path, source }
        };
        let stamp = format_rotation_stamp((self.clock)());
        let mut rotated = PathBuf::from(format!("{}.{stamp}", self.path.display()));
        // Two rotations within one clock tick: keep both rather than overwrite.
        let mut n = 0;
        while rotated.exists() || PathBuf::from(format!("{}.gz", rotated.display())).exists() {
            n += 1;
            rotated = PathBuf::from(format!("{}.{stamp}{n:03}", self.path.display()));
        }
        std::fs::rename(&self.path, &rotated).map_err(err(&self.path))?;
        self.out = open_log(&self.path).map_err(err(&self.path))?;
        self.written = 0;
        let mut files = rotated_files(&self.path).map_err(err(&self.path))?;
        // Current + rotated <= max_files (the kubelet's removeExcessLogs).
        let keep = policy.max_files.saturating_sub(1).max(1);
        while files.len() > keep {
            let old = files.remove(0);
            match std::fs::remove_file(&old) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(err(&old)(e)),
            }
        }
        // Every rotated file but the newest is compressed (the kubelet's compressLog).
        if let Some((_newest, older)) = files.split_last() {
            for f in older
                .iter()
                .filter(|f| f.extension().is_none_or(|e| e != "gz"))
            {
                compress(f).map_err(err(f))?;
            }
        }
        Ok(())
    }
}

/// `20261204-195512.123456789`: the kubelet's `20060102-150405` with nanoseconds.
fn format_rotation_stamp(t: SystemTime) -> String {
    let ts = format_timestamp(t);
    // 2026-12-04T19:55:12.123456789Z
    let digits: String = ts[..10].chars().filter(|c| *c != '-').collect();
    let time: String = ts[11..19].chars().filter(|c| *c != ':').collect();
    format!("{digits}-{time}.{}", &ts[20..29])
}

/// Gzips `path` to `path.gz` (through a temporary name, so a crash never leaves a truncated
/// `.gz` that readers would take as complete) and removes `path`.
pub fn compress(path: &Path) -> io::Result<()> {
    let gz = PathBuf::from(format!("{}.gz", path.display()));
    let tmp = PathBuf::from(format!("{}.gz.tmp", path.display()));
    let result = (|| {
        let mut input = File::open(path)?;
        let out = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        io::copy(&mut input, &mut enc)?;
        enc.finish()?.sync_all()?;
        std::fs::rename(&tmp, &gz)?;
        std::fs::remove_file(path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The rotated files of the log `current` (`<current>.<stamp>` and `<current>.<stamp>.gz`),
/// oldest first. Temporary files of an unfinished compression are not included.
pub fn rotated_files(current: &Path) -> io::Result<Vec<PathBuf>> {
    let (Some(dir), Some(base)) = (current.parent(), current.file_name()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{}.", base.to_string_lossy());
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let stamp = rest.strip_suffix(".gz").unwrap_or(rest);
        let is_stamp = stamp.len() >= 15
            && stamp.as_bytes()[8] == b'-'
            && stamp
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-' || b == b'.');
        if is_stamp {
            found.push((stamp.to_owned(), entry.path()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
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
            written: 0,
            rotation: None,
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
        self.with_sink(stream, |splitter, sink| splitter.push(data, sink))
    }

    /// `stream` reached end of file: writes its unterminated last line, if any.
    pub fn finish_stream(&mut self, stream: LogStream) -> Result<(), LogError> {
        self.with_sink(stream, |splitter, sink| {
            splitter.finish(sink).and_then(|()| out_flush(sink.out))
        })
    }

    /// Runs `f` on the splitter of `stream` with a sink that writes its records to the file.
    fn with_sink(
        &mut self,
        stream: LogStream,
        f: impl FnOnce(&mut LineSplitter, &mut RecordSink<'_, W>) -> io::Result<()>,
    ) -> Result<(), LogError> {
        let CriLogWriter {
            out,
            path,
            splitters,
            clock,
            written,
            ..
        } = self;
        let mut sink = RecordSink {
            out,
            stream,
            clock: *clock,
            written,
        };
        f(&mut splitters[stream.index()], &mut sink).map_err(|source| LogError::Write {
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
    written: &'a mut u64,
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
        self.out.write_all(&rec)?;
        *self.written += rec.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
