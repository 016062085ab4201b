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

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

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

#[cfg(test)]
mod rotation_tests {
    use super::*;
    use std::time::Duration;

    static TICK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    fn ticking_clock() -> SystemTime {
        let n = TICK.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        UNIX_EPOCH + Duration::new(1_700_000_000, 0) + Duration::from_micros(n)
    }

    fn read_all(files: &[PathBuf]) -> Vec<u8> {
        let mut all = Vec::new();
        for f in files {
            open_reader(f).unwrap().read_to_end(&mut all).unwrap();
        }
        all
    }

    #[test]
    fn policy_parses_quantities_and_refuses_bad_values() {
        assert_eq!(
            RotationPolicy::parse(None, None),
            Ok(RotationPolicy::default())
        );
        let p = RotationPolicy::parse(Some("500Ki"), Some("3")).unwrap();
        assert_eq!((p.max_size, p.max_files), (500 * 1024, 3));
        assert_eq!(parse_quantity("10Mi"), Some(10 << 20));
        assert_eq!(parse_quantity("2M"), Some(2_000_000));
        assert_eq!(parse_quantity("123"), Some(123));
        assert_eq!(parse_quantity("99999999999999Ti"), None);
        let e = RotationPolicy::parse(Some("10MB"), None).unwrap_err();
        assert!(e.contains(MAX_SIZE_ENV) && e.contains("10MB"), "{e}");
        assert!(RotationPolicy::parse(Some("0"), None).is_err());
        let e = RotationPolicy::parse(None, Some("1")).unwrap_err();
        assert!(e.contains(MAX_FILES_ENV), "{e}");
    }

    #[test]
    fn rotation_keeps_max_files_compresses_older_and_loses_no_record_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/app/0.log");
        let mut w = CriLogWriter::create(&path)
            .unwrap()
            .with_clock(ticking_clock)
            .with_rotation(RotationPolicy {
                max_size: 1000,
                max_files: 3,
            });
        for i in 0..200 {
            w.write(LogStream::Stdout, format!("line {i:04}\n").as_bytes())
                .unwrap();
        }
        w.finish().unwrap();
        let files = log_files(&path).unwrap();
        assert_eq!(files.len(), 3, "{files:?}");
        assert!(files[0].to_string_lossy().ends_with(".gz"), "{files:?}");
        assert!(!files[1].to_string_lossy().ends_with(".gz"), "{files:?}");
        assert_eq!(files[2], path);
        let mut total = 0;
        for f in &files {
            let m = std::fs::metadata(f).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o600, "{f:?}");
            total += m.len();
        }
        assert!(total < 3 * 1100, "{total}");
        use std::os::unix::fs::PermissionsExt;
        let dmode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dmode & 0o777, 0o700);
        // The files, oldest first, hold the newest lines in order, ending with the last one.
        let text = String::from_utf8(read_all(&files)).unwrap();
        let nums: Vec<u32> = text
            .lines()
            .map(|l| parse_record(l.as_bytes()).unwrap())
            .map(|r| String::from_utf8(r.text).unwrap()[5..].parse().unwrap())
            .collect();
        assert_eq!(*nums.last().unwrap(), 199);
        assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
        assert!(nums.len() > 30, "{}", nums.len());
    }

    #[test]
    fn one_large_write_is_split_across_rotations() {
        // A supervisor that fell behind hands the writer a whole pipe's worth at once: the
        // files must still stay near max_size, not hold the whole read.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        let mut w = CriLogWriter::create(&path)
            .unwrap()
            .with_clock(ticking_clock)
            .with_rotation(RotationPolicy {
                max_size: 4096,
                max_files: 5,
            });
        let data: String = (0..3000).map(|i| format!("line-{i}\n")).collect();
        w.write(LogStream::Stdout, data.as_bytes()).unwrap();
        w.finish().unwrap();
        let files = log_files(&path).unwrap();
        assert_eq!(files.len(), 5, "{files:?}");
        for f in files
            .iter()
            .filter(|f| f.extension().is_none_or(|e| e != "gz"))
        {
            let len = std::fs::metadata(f).unwrap().len();
            // One record (~50 bytes here) past the limit at most.
            assert!(len < 4096 + 100, "{f:?}: {len}");
        }
        let text = String::from_utf8(read_all(&files)).unwrap();
        let last = parse_record(text.lines().last().unwrap().as_bytes()).unwrap();
        assert_eq!(last.text, b"line-2999");
    }

    fn write_file(path: &Path, content: &[u8]) {
        std::fs::write(path, content).unwrap();
    }

    fn tail_text(files: &[PathBuf], n: usize) -> Vec<String> {
        let bytes = tail_log(files, n).unwrap();
        let records: Vec<LogRecord> = bytes
            .split(|b| *b == b'\n')
            .filter_map(parse_record)
            .collect();
        let mut lines = reassemble(&records, LogStream::Stdout);
        lines.extend(reassemble(&records, LogStream::Stderr));
        lines
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect()
    }

    #[test]
    fn tail_reads_backwards_across_blocks_and_files() {
        let dir = tempfile::tempdir().unwrap();
        // Lines long enough that records straddle the 64 KiB block boundaries.
        let mut old = Vec::new();
        for i in 0..2000 {
            old.extend_from_slice(
                format!(
                    "2024-01-01T00:00:00.000000000Z stdout F old{i} {}\n",
                    "x".repeat(97)
                )
                .as_bytes(),
            );
        }
        let rotated = dir.path().join("0.log.20240101-000000.000000000");
        write_file(&rotated, &old);
        compress(&rotated).unwrap();
        let current = dir.path().join("0.log");
        write_file(
            &current,
            b"2024-01-01T00:00:01.000000000Z stdout F new0\n2024-01-01T00:00:01.000000000Z stdout F new1\n",
        );
        let files = log_files(&current).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(tail_text(&files, 1), vec!["new1"]);
        let got = tail_text(&files, 4);
        assert_eq!(got.len(), 4);
        assert!(
            got[0].starts_with("old1998 ") && got[1].starts_with("old1999 "),
            "{got:?}"
        );
        assert_eq!(&got[2..], ["new0", "new1"]);
        // More than there is: everything, in order.
        let all = tail_text(&files, 100_000);
        assert_eq!(all.len(), 2002);
        assert!(all[0].starts_with("old0 "));
        assert!(all[1500].starts_with("old1500 "));
        assert!(tail_text(&files, 0).is_empty());
    }

    #[test]
    fn tail_keeps_partial_records_with_their_line_and_reads_an_unterminated_end() {
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("0.log");
        write_file(
            &current,
            concat!(
                "t1 stdout F first\n",
                "t2 stdout P sec\n",
                "t3 stderr F err\n",
                "t4 stdout P on\n",
                "t5 stdout F d\n",
                "t6 stderr P unfin\n",
                "t7 stdout F last"
            )
            .as_bytes(),
        );
        let files = vec![current];
        // The last two lines: stdout "second" (whose pieces straddle an stderr line) and
        // "last" (no trailing newline); stderr's unfinished piece counts as a line too.
        let bytes = tail_log(&files, 3).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "t2 stdout P sec\nt4 stdout P on\nt5 stdout F d\nt6 stderr P unfin\nt7 stdout F last\n"
        );
        let bytes = tail_log(&files, 1).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "t7 stdout F last\n");
        let bytes = tail_log(&files, 2).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "t6 stderr P unfin\nt7 stdout F last\n"
        );
    }

    #[test]
    fn rotated_files_are_ordered_and_ignore_temporaries_and_other_attempts() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "1.log",
            "1.log.20240101-000002.000000000",
            "1.log.20240101-000001.000000000.gz",
            "1.log.20240101-000000.000000000.gz.tmp",
            "11.log.20240101-000000.000000000",
            "0.log.20240101-000000.000000000",
        ] {
            write_file(&dir.path().join(name), b"");
        }
        let names: Vec<String> = log_files(&dir.path().join("1.log"))
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "1.log.20240101-000001.000000000.gz",
                "1.log.20240101-000002.000000000",
                "1.log"
            ]
        );
    }
}
