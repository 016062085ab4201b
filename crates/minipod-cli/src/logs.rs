//! `minipod logs POD [CONTAINER]`: print a container's log from its CRI log files.
//!
//! Files: `<pod dir>/logs/<container>/<attempt>.log`, one per run of the container (the
//! restart count it started with), with its rotated files `<attempt>.log.<stamp>[.gz]`
//! (minipod_runtime::logs: the kubelet's rotation) read before it, oldest first; each record `<RFC3339Nano> stdout|stderr F|P <text>`:
//! `P` records are pieces of a line the runtime split, continued by the next record of the
//! same stream; `F` ends the line. Which attempt is "current" and "previous", the default
//! container and every message follow kubectl's logs.go and the kubelet's
//! validateContainerLogStatus.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};
use minipod_pod::store::{PodRecord, PodStore};
use minipod_pod::time::Timestamp;

use crate::exit::input;
use crate::get::not_found;
use crate::global::GlobalArgs;

/// kubectl's annotation naming the container `logs`/`exec` pick by default.
const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The pod (NAME, pod/NAME).
    #[arg(value_name = "POD")]
    pub pod: String,
    /// The container (same as -c).
    #[arg(value_name = "CONTAINER")]
    pub container_arg: Option<String>,
    /// The container.
    #[arg(short, long, value_name = "NAME")]
    pub container: Option<String>,
    /// Keep printing as the log grows, across restarts, until the container is done.
    #[arg(short, long)]
    pub follow: bool,
    /// The previous run of the container.
    #[arg(short, long)]
    pub previous: bool,
    /// Print each line's timestamp first.
    #[arg(long)]
    pub timestamps: bool,
    /// Only the last N lines (-1: all).
    #[arg(long, value_name = "N", default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// Only lines newer than this duration (5s, 2m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_go_duration)]
    pub since: Option<Duration>,
    /// Only lines at or after this time (RFC3339).
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    pub since_time: Option<Timestamp>,
    /// Every container of the pod, init containers first.
    #[arg(long)]
    pub all_containers: bool,
    /// Prefix each line with `[pod/NAME/CONTAINER]`.
    #[arg(long)]
    pub prefix: bool,
    /// The namespace.
    #[arg(short, long, value_name = "NS", default_value = "default")]
    pub namespace: String,
}

/// Go's time.ParseDuration for the units people write (`300ms`, `5s`, `1m30s`, `2h`).
fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(invalid());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {s:?}"))?;
        let number: f64 = rest[..num_end].parse().map_err(|_| invalid())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("time: unknown unit {unit:?} in duration {s:?}")),
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

fn parse_rfc3339(s: &str) -> Result<Timestamp, String> {
    s.parse::<Timestamp>()
        .map_err(|e| format!("{s:?} is not an RFC3339 time: {e}"))
}

/// An answer the API server would give as a 400 (kubectl prints it without `error:`).
struct BadRequest(String);

pub fn run(args: LogsArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    crate::printers::ignore_broken_pipe(run_verb(args, global))
}

fn run_verb(args: LogsArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let pod_name = crate::get::pod_name_arg(&args.pod)?;
    // kubectl logs.go Validate.
    if args.container.is_some() && args.container_arg.is_some() {
        return Err(input(anyhow::anyhow!(
            "only one of -c or an inline [CONTAINER] arg is allowed"
        )));
    }
    let container_flag = args.container.clone().or(args.container_arg.clone());
    if args.all_containers {
        if let Some(c) = &container_flag {
            return Err(input(anyhow::anyhow!(
                "--all-containers=true should not be specified with container name {c}"
            )));
        }
    }
    if args.since.is_some() && args.since_time.is_some() {
        return Err(input(anyhow::anyhow!(
            "at most one of `sinceTime` or `sinceSeconds` may be specified"
        )));
    }
    if args.since == Some(Duration::ZERO) {
        return Err(input(anyhow::anyhow!("--since must be greater than 0")));
    }
    if args.tail < -1 {
        return Err(input(anyhow::anyhow!(
            "--tail must be greater than or equal to -1"
        )));
    }

    let store = PodStore::open(&global.root_dir()).context("open pod store")?;
    let Some(record) = store.find(&args.namespace, &pod_name).context("read pod")? else {
        eprintln!("{}", not_found(&pod_name));
        return Ok(ExitCode::from(1));
    };

    let containers = if args.all_containers {
        all_container_names(&record.pod)
    } else {
        vec![choose_container(&record.pod, container_flag.as_deref())?]
    };
    // kubelet/kubectl: --since is whole seconds back from now.
    let since = match (args.since, args.since_time) {
        (Some(d), _) => {
            let seconds =
                i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i64::MAX);
            Some(
                Timestamp::now()
                    .checked_sub(jiff::SignedDuration::from_secs(seconds))
                    .unwrap_or(Timestamp::MIN),
            )
        }
        (None, t) => t,
    };
    let options = ReadOptions {
        timestamps: args.timestamps,
        tail: usize::try_from(args.tail).ok(),
        since,
    };
    let mut followers = Vec::new();
    let mut stdout = io::stdout().lock();
    for (name, kind) in &containers {
        let prefix = (args.prefix).then(|| format!("[pod/{pod_name}/{name}] "));
        let start = match start_attempt(&record, name, args.previous) {
            Ok(start) => start,
            Err(BadRequest(message)) => {
                stdout.flush()?;
                eprintln!("Error from server (BadRequest): {message}");
                return Ok(ExitCode::from(1));
            }
        };
        let mut follower = Follower {
            container: name.clone(),
            kind: *kind,
            prefix,
            dir: record.dir.join("logs").join(name),
            attempt: start,
            file: None,
            offset: 0,
            known_rotated: Default::default(),
            pending: HashMap::new(),
            carry: Vec::new(),
            done: false,
        };
        follower.print_existing(&options, &mut stdout)?;
        followers.push(follower);
    }
    stdout.flush()?;
    if !args.follow || args.previous {
        return Ok(ExitCode::SUCCESS);
    }

    // Follow: poll every file for new records, move to the next attempt's file when the
    // container restarts, stop when no container will write again.
    let options = ReadOptions {
        tail: None,
        ..options
    };
    loop {
        std::thread::sleep(FOLLOW_INTERVAL);
        let record = store.load(record.uid()).context("read pod")?;
        for f in followers.iter_mut().filter(|f| !f.done) {
            f.poll(record.as_ref(), &options, &mut stdout)?;
        }
        stdout.flush()?;
        if followers.iter().all(|f| f.done) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContainerKind {
    Init,
    App,
    Ephemeral,
}

/// kubectl podcmd.AllContainerNames order: init containers, containers, ephemeral.
fn all_container_names(pod: &Pod) -> Vec<(String, ContainerKind)> {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut names = Vec::new();
    for c in spec.init_containers.as_deref().unwrap_or_default() {
        names.push((c.name.clone(), ContainerKind::Init));
    }
    for c in &spec.containers {
        names.push((c.name.clone(), ContainerKind::App));
    }
    for c in spec.ephemeral_containers.as_deref().unwrap_or_default() {
        names.push((c.name.clone(), ContainerKind::Ephemeral));
    }
    names
}

/// kubectl logs.go logsForObjectWithClient: `-c`, else the default-container annotation,
/// else the first app container with a hint on stderr when the pod has others.
fn choose_container(pod: &Pod, flag: Option<&str>) -> anyhow::Result<(String, ContainerKind)> {
    let all = all_container_names(pod);
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    let find = |name: &str| all.iter().find(|(n, _)| n == name).cloned();
    let mut chosen = flag.map(str::to_owned);
    if chosen.is_none() {
        if let Some(default) = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(DEFAULT_CONTAINER_ANNOTATION))
            .filter(|d| !d.is_empty())
        {
            if find(default).is_some() {
                chosen = Some(default.clone());
            } else {
                eprintln!("Default container name {default:?} not found in pod {pod_name}");
            }
        }
    }
    let chosen = match chosen {
        Some(c) => c,
        None => {
            let spec = pod.spec.clone().unwrap_or_default();
            let Some(first) = spec.containers.first() else {
                anyhow::bail!(
                    "pod {}/{pod_name} does not have any containers",
                    pod.metadata.namespace.as_deref().unwrap_or("default")
                );
            };
            if all.len() > 1 {
                // kubectl podcmd.AllContainerNames: containers, ephemeral, then init.
                let rank = |k: &ContainerKind| match k {
                    ContainerKind::App => 0,
                    ContainerKind::Ephemeral => 1,
                    ContainerKind::Init => 2,
                };
                let mut ordered: Vec<&(String, ContainerKind)> = all.iter().collect();
                ordered.sort_by_key(|(_, k)| rank(k));
                let ordered: Vec<String> = ordered
                    .into_iter()
                    .map(|(n, k)| match k {
                        ContainerKind::Init => format!("{n} (init)"),
                        ContainerKind::Ephemeral => format!("{n} (ephem)"),
                        ContainerKind::App => n.clone(),
                    })
                    .collect();
                eprintln!(
                    "Defaulted container {:?} out of: {}",
                    first.name,
                    ordered.join(", ")
                );
            }
            first.name.clone()
        }
    };
    find(&chosen)
        .ok_or_else(|| anyhow::anyhow!("container {chosen} is not valid for pod {pod_name}"))
}

fn container_status<'a>(pod: &'a Pod, name: &str) -> Option<&'a ContainerStatus> {
    let status = pod.status.as_ref()?;
    [
        &status.init_container_statuses,
        &status.container_statuses,
        &status.ephemeral_container_statuses,
    ]
    .into_iter()
    .flat_map(|s| s.as_deref().unwrap_or_default())
    .find(|s| s.name == name)
}

fn container_spec<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.as_deref().unwrap_or_default())
        .find(|c| c.name == name)
}

/// The attempt numbers that have a log file, ascending.
fn attempts(dir: &Path) -> Vec<u32> {
    let mut found: Vec<u32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
        .collect();
    found.sort_unstable();
    found
}

fn attempt_path(dir: &Path, attempt: u32) -> PathBuf {
    dir.join(format!("{attempt}.log"))
}

/// Which file to start from: the container's current run, or with `-p` the run before it.
/// Like the kubelet, a container waiting to restart shows its last run for both.
fn start_attempt(
    record: &PodRecord,
    container: &str,
    previous: bool,
) -> Result<Option<u32>, BadRequest> {
    let pod_name = record.name();
    let dir = record.dir.join("logs").join(container);
    let files = attempts(&dir);
    let status = container_status(&record.pod, container);
    let state = status.and_then(|s| s.state.clone()).unwrap_or_default();
    let restart_count = status.map(|s| u32::try_from(s.restart_count).unwrap_or(0));
    let current_run_has_file = restart_count.is_some_and(|rc| files.contains(&rc));
    let waiting =
        state.waiting.is_some() || (state.running.is_none() && state.terminated.is_none());
    let current = match restart_count {
        Some(rc) if current_run_has_file => Some(rc),
        _ => files
            .iter()
            .copied()
            .filter(|a| restart_count.is_none_or(|rc| *a <= rc))
            .max(),
    };
    if previous {
        let prev = if waiting && !current_run_has_file {
            current
        } else {
            current.and_then(|c| files.iter().copied().filter(|a| *a < c).max())
        };
        return prev.map(Some).ok_or_else(|| {
            BadRequest(format!(
                "previous terminated container {container:?} in pod {pod_name:?} not found"
            ))
        });
    }
    if current.is_none() && waiting {
        let reason = state
            .waiting
            .and_then(|w| w.reason)
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "ContainerCreating".to_owned());
        return Err(BadRequest(format!(
            "container {container:?} in pod {pod_name:?} is waiting to start: {reason}"
        )));
    }
    Ok(current)
}

#[derive(Debug, Clone, Copy)]
struct ReadOptions {
    timestamps: bool,
    tail: Option<usize>,
    since: Option<Timestamp>,
}

/// One reassembled log line.
struct Line {
    timestamp: String,
    time: Option<Timestamp>,
    text: Vec<u8>,
    complete: bool,
}

/// Reads one container's log files: for one attempt, its rotated files (`<attempt>.log.<stamp>`
/// and `.gz`, oldest first) and then the current `<attempt>.log`.
struct Follower {
    container: String,
    kind: ContainerKind,
    prefix: Option<String>,
    dir: PathBuf,
    /// The attempt being read; `None` until its file exists.
    attempt: Option<u32>,
    /// The attempt's current file, open: after a rotation the rest of it is still read
    /// through this handle, then the files rotated after it, then the new current file.
    file: Option<File>,
    /// Bytes of `file` read so far.
    offset: u64,
    /// The rotated files that existed when `file` was opened (names without `.gz`): after a
    /// rotation, the new ones are this file's and the ones rotated after it.
    known_rotated: std::collections::HashSet<String>,
    /// Partial (`P`) pieces per stream waiting for their `F`: (first timestamp, text).
    pending: HashMap<String, (String, Vec<u8>)>,
    /// Bytes after the last newline read (a record still being written).
    carry: Vec<u8>,
    done: bool,
}

/// Read size when streaming a log file (memory stays flat whatever its size).
const READ_CHUNK: usize = 64 * 1024;

/// A rotated file's name without `.gz` (the same before and after its compression).
fn rotated_key(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.strip_suffix(".gz").unwrap_or(&name).to_owned()
}

fn open_if_exists(path: &Path) -> anyhow::Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("open {}", path.display())),
    }
}

impl Follower {
    /// What the attempt's files hold now, with `--tail`/`--since`; an unfinished line counts
    /// too. `--tail` reads backwards from the end of the files, block by block.
    fn print_existing(
        &mut self,
        options: &ReadOptions,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        let Some(attempt) = self.attempt else {
            return Ok(());
        };
        let path = attempt_path(&self.dir, attempt);
        // The current file is opened first: whatever is rotated after this is read through
        // the handle in follow mode.
        self.file = open_if_exists(&path)?;
        self.offset = 0;
        let rotated = minipod_runtime::logs::rotated_files(&path)
            .with_context(|| format!("list rotated logs of {}", path.display()))?;
        self.known_rotated = rotated.iter().map(|p| rotated_key(p)).collect();
        match options.tail {
            Some(n) => {
                let mut tail = minipod_runtime::logs::TailCollector::new(n);
                if let Some(file) = self.file.as_mut() {
                    let end = file
                        .seek(SeekFrom::End(0))
                        .with_context(|| format!("read {}", path.display()))?;
                    tail.read_back(file, end)
                        .with_context(|| format!("read {}", path.display()))?;
                    self.offset = end;
                }
                for p in rotated.iter().rev() {
                    if tail.done() {
                        break;
                    }
                    let mut file = match minipod_runtime::logs::open_seekable(p) {
                        Ok(f) => f,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e).with_context(|| format!("read {}", p.display())),
                    };
                    let end = file
                        .seek(SeekFrom::End(0))
                        .with_context(|| format!("read {}", p.display()))?;
                    tail.read_back(&mut file, end)
                        .with_context(|| format!("read {}", p.display()))?;
                }
                let bytes = tail.into_bytes();
                self.pump(&mut &bytes[..], options, out)?;
                self.carry.clear();
            }
            None => {
                for p in &rotated {
                    let mut reader = match minipod_runtime::logs::open_reader(p) {
                        Ok(r) => r,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e).with_context(|| format!("read {}", p.display())),
                    };
                    self.pump(&mut reader, options, out)
                        .with_context(|| format!("read {}", p.display()))?;
                    self.carry.clear();
                }
                self.drain_current(options, out)?;
            }
        }
        self.flush_unfinished(options, out)?;
        Ok(())
    }

    /// Reads `reader` to its end in chunks, printing every line completed.
    fn pump(
        &mut self,
        reader: &mut dyn Read,
        options: &ReadOptions,
        out: &mut impl Write,
    ) -> anyhow::Result<u64> {
        let mut buf = vec![0u8; READ_CHUNK];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            total += n as u64;
            let mut data = std::mem::take(&mut self.carry);
            data.extend_from_slice(&buf[..n]);
            let mut start = 0;
            while let Some(nl) = data[start..].iter().position(|b| *b == b'\n') {
                let record = &data[start..start + nl];
                start += nl + 1;
                if let Some(line) = self.assemble(record) {
                    if keep_since(&line, options) {
                        self.write_line(&line, options, out)?;
                    }
                }
            }
            self.carry = data[start..].to_vec();
        }
    }

    /// New records of the current file since the last read.
    fn drain_current(&mut self, options: &ReadOptions, out: &mut impl Write) -> anyhow::Result<()> {
        let Some(mut file) = self.file.take() else {
            return Ok(());
        };
        let result = file
            .seek(SeekFrom::Start(self.offset))
            .map_err(anyhow::Error::from)
            .and_then(|_| self.pump(&mut file, options, out));
        self.file = Some(file);
        self.offset += result.context("read log")?;
        Ok(())
    }

    /// Follow mode: the current file was renamed by a rotation when its path now names
    /// another file. Then the rest of it, the files rotated after it (more than one if
    /// several rotations happened between two polls), and the new file are read in order.
    fn follow_rotation(
        &mut self,
        attempt: u32,
        options: &ReadOptions,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        let path = attempt_path(&self.dir, attempt);
        let Some(file) = self.file.as_ref() else {
            self.known_rotated = minipod_runtime::logs::rotated_files(&path)?
                .iter()
                .map(|p| rotated_key(p))
                .collect();
            self.file = open_if_exists(&path)?;
            self.offset = 0;
            return self.drain_current(options, out);
        };
        let ours = minipod_runtime::logs::inode(file)?;
        let now = match std::fs::metadata(&path) {
            Ok(m) => (m.dev(), m.ino()),
            // Between the rename and the new file's creation.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("stat {}", path.display())),
        };
        if now == ours {
            return Ok(());
        }
        self.drain_current(options, out)?;
        self.carry.clear();
        let rotated = minipod_runtime::logs::rotated_files(&path)?;
        // Ours is the plain rotated file with our inode; if later rotations compressed it
        // already, it is the oldest of the files that appeared since we opened it.
        let by_inode = rotated
            .iter()
            .position(|p| std::fs::metadata(p).is_ok_and(|m| (m.dev(), m.ino()) == ours));
        let after: Vec<&PathBuf> = match by_inode {
            Some(i) => rotated[i + 1..].iter().collect(),
            None => rotated
                .iter()
                .filter(|p| !self.known_rotated.contains(&rotated_key(p)))
                .skip(1)
                .collect(),
        };
        for p in after {
            if let Ok(mut reader) = minipod_runtime::logs::open_reader(p) {
                self.pump(&mut reader, options, out)
                    .with_context(|| format!("read {}", p.display()))?;
                self.carry.clear();
            }
        }
        self.known_rotated = rotated.iter().map(|p| rotated_key(p)).collect();
        self.file = open_if_exists(&path)?;
        self.offset = 0;
        self.drain_current(options, out)
    }

    /// Adds one CRI record; returns a line when the record ends one. Records that do not
    /// parse are skipped, as the kubelet skips them.
    fn assemble(&mut self, record: &[u8]) -> Option<Line> {
        let mut parts = record.splitn(4, |b| *b == b' ');
        let timestamp = std::str::from_utf8(parts.next()?).ok()?;
        let stream = std::str::from_utf8(parts.next()?).ok()?;
        let tag = parts.next()?;
        let content = parts.next().unwrap_or_default();
        let partial = tag.split(|b| *b == b':').next() == Some(b"P");
        let entry = self
            .pending
            .entry(stream.to_owned())
            .or_insert_with(|| (timestamp.to_owned(), Vec::new()));
        entry.1.extend_from_slice(content);
        if partial {
            return None;
        }
        let (first_timestamp, text) = self.pending.remove(stream)?;
        Some(Line {
            time: first_timestamp.parse().ok(),
            timestamp: first_timestamp,
            text,
            complete: true,
        })
    }

    /// Pieces of lines whose end has not been written (printed without a newline).
    fn take_unfinished(&mut self) -> Vec<Line> {
        let mut lines: Vec<Line> = self
            .pending
            .drain()
            .map(|(_, (timestamp, text))| Line {
                time: timestamp.parse().ok(),
                timestamp,
                text,
                complete: false,
            })
            .collect();
        lines.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
        lines
    }

    fn write_line(
        &self,
        line: &Line,
        options: &ReadOptions,
        out: &mut impl Write,
    ) -> io::Result<()> {
        if let Some(prefix) = &self.prefix {
            out.write_all(prefix.as_bytes())?;
        }
        if options.timestamps {
            out.write_all(line.timestamp.as_bytes())?;
            out.write_all(b" ")?;
        }
        out.write_all(&line.text)?;
        if line.complete {
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Prints the lines left unfinished (a `P` record without its `F`), once the file ends.
    fn flush_unfinished(
        &mut self,
        options: &ReadOptions,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        for line in self.take_unfinished() {
            if keep_since(&line, options) {
                self.write_line(&line, options, out)?;
            }
        }
        Ok(())
    }

    /// Finishes the attempt being read: the rest of its file and its unfinished lines.
    fn finish_attempt(
        &mut self,
        options: &ReadOptions,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        if let Some(attempt) = self.attempt {
            self.follow_rotation(attempt, options, out)?;
            self.drain_current(options, out)?;
            self.flush_unfinished(options, out)?;
        }
        Ok(())
    }

    /// Follow mode: print what was appended, switch to a newer attempt, decide if done.
    fn poll(
        &mut self,
        record: Option<&PodRecord>,
        options: &ReadOptions,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        if let Some(attempt) = self.attempt {
            self.drain_current(options, out)?;
            self.follow_rotation(attempt, options, out)?;
        }
        let files = attempts(&self.dir);
        let newer = files
            .iter()
            .copied()
            .find(|a| self.attempt.is_none_or(|cur| *a > cur));
        if let Some(next) = newer {
            // The container restarted: finish the old file, then read the new one.
            self.finish_attempt(options, out)?;
            self.attempt = Some(next);
            self.file = None;
            self.offset = 0;
            self.carry.clear();
            self.pending.clear();
            return self.poll(record, options, out);
        }
        let finished = match record {
            None => true,
            Some(record) => !will_write_again(&record.pod, &self.container, self.kind),
        };
        if finished {
            self.finish_attempt(options, out)?;
            self.done = true;
        }
        Ok(())
    }
}

fn keep_since(line: &Line, options: &ReadOptions) -> bool {
    match (options.since, line.time) {
        (Some(since), Some(t)) => t >= since,
        _ => true,
    }
}

/// Whether the container may still log: it runs, waits to (re)start, or ended and its
/// restart policy brings it back (kubelet: ShouldContainerBeRestarted).
fn will_write_again(pod: &Pod, container: &str, kind: ContainerKind) -> bool {
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default();
    if phase == "Succeeded" || phase == "Failed" {
        return false;
    }
    let Some(status) = container_status(pod, container) else {
        // Not started yet (e.g. waiting for init containers).
        return pod.metadata.deletion_timestamp.is_none();
    };
    let state = status.state.clone().unwrap_or_default();
    let Some(terminated) = state.terminated else {
        return true;
    };
    if pod.metadata.deletion_timestamp.is_some() || kind == ContainerKind::Ephemeral {
        return false;
    }
    let pod_policy = pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.clone())
        .unwrap_or_else(|| "Always".to_owned());
    let container_policy = container_spec(pod, container).and_then(|c| c.restart_policy.clone());
    let policy = match (kind, container_policy) {
        (_, Some(p)) => p,
        // A regular init container is retried on failure unless the pod never restarts.
        (ContainerKind::Init, None) if pod_policy == "Never" => "Never".to_owned(),
        (ContainerKind::Init, None) => "OnFailure".to_owned(),
        (_, None) => pod_policy,
    };
    match policy.as_str() {
        "Always" => true,
        "OnFailure" => terminated.exit_code != 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("x").is_err());
        assert!(parse_go_duration("5d").is_err());
    }

    fn follower(dir: &Path) -> Follower {
        Follower {
            container: "c".into(),
            kind: ContainerKind::App,
            prefix: None,
            dir: dir.to_path_buf(),
            attempt: Some(0),
            file: None,
            offset: 0,
            known_rotated: Default::default(),
            pending: HashMap::new(),
            carry: Vec::new(),
            done: false,
        }
    }

    fn gzip(path: &Path, text: &str) {
        let plain = path.with_extension("");
        std::fs::write(&plain, text).unwrap();
        minipod_runtime::logs::compress(&plain).unwrap();
        assert!(path.exists());
    }

    #[test]
    fn rotated_files_are_read_oldest_first_and_a_line_may_span_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        gzip(
            &d.join("0.log.20240101-000000.000000000.gz"),
            "2024-01-01T00:00:00Z stdout F one\n2024-01-01T00:00:00Z stdout F two\n",
        );
        std::fs::write(
            d.join("0.log.20240101-000001.000000000"),
            "2024-01-01T00:00:01Z stdout F three\n2024-01-01T00:00:01Z stdout P fo\n",
        )
        .unwrap();
        std::fs::write(
            d.join("0.log"),
            "2024-01-01T00:00:02Z stderr F err\n2024-01-01T00:00:02Z stdout F ur\n",
        )
        .unwrap();
        // Another attempt's rotated file is not part of attempt 0.
        std::fs::write(
            d.join("1.log.20240101-000000.000000000"),
            "2024-01-01T00:00:00Z stdout F other\n",
        )
        .unwrap();
        let all = ReadOptions {
            timestamps: false,
            tail: None,
            since: None,
        };
        let mut out = Vec::new();
        follower(d).print_existing(&all, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "one\ntwo\nthree\nerr\nfour\n"
        );
        for (n, want) in [
            (1, "four\n"),
            (3, "three\nerr\nfour\n"),
            (4, "two\nthree\nerr\nfour\n"),
            (9, "one\ntwo\nthree\nerr\nfour\n"),
        ] {
            let mut out = Vec::new();
            let options = ReadOptions {
                tail: Some(n),
                ..all
            };
            follower(d).print_existing(&options, &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want, "--tail {n}");
        }
    }

    #[test]
    fn follow_reads_every_file_rotated_between_two_polls_even_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let rec = |t: &str| format!("2024-01-01T00:00:00Z stdout F {t}\n");
        std::fs::write(d.join("0.log"), rec("a")).unwrap();
        let all = ReadOptions {
            timestamps: false,
            tail: None,
            since: None,
        };
        let mut f = follower(d);
        let mut out = Vec::new();
        f.print_existing(&all, &mut out).unwrap();
        assert_eq!(out, b"a\n");
        // Three rotations before the next poll; ours ("a", "b") is compressed by then.
        let mut cur = std::fs::OpenOptions::new()
            .append(true)
            .open(d.join("0.log"))
            .unwrap();
        cur.write_all(rec("b").as_bytes()).unwrap();
        let first = d.join("0.log.20240101-000001.000000000");
        std::fs::rename(d.join("0.log"), &first).unwrap();
        minipod_runtime::logs::compress(&first).unwrap();
        std::fs::write(d.join("0.log.20240101-000002.000000000"), rec("c")).unwrap();
        std::fs::write(d.join("0.log.20240101-000003.000000000"), rec("d")).unwrap();
        std::fs::write(d.join("0.log"), rec("e")).unwrap();
        let mut out = Vec::new();
        f.follow_rotation(0, &all, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "b\nc\nd\ne\n");
        // One plain rotation: found by its inode.
        let mut out = Vec::new();
        std::fs::rename(d.join("0.log"), d.join("0.log.20240101-000004.000000000")).unwrap();
        std::fs::write(d.join("0.log"), rec("f")).unwrap();
        f.follow_rotation(0, &all, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "f\n");
    }

    #[test]
    fn partial_records_are_joined_per_stream() {
        let mut f = Follower {
            container: "c".into(),
            kind: ContainerKind::App,
            prefix: None,
            dir: PathBuf::new(),
            attempt: None,
            file: None,
            offset: 0,
            known_rotated: Default::default(),
            pending: HashMap::new(),
            carry: Vec::new(),
            done: false,
        };
        assert!(f.assemble(b"2024-01-01T00:00:00Z stdout P hel").is_none());
        let err = f.assemble(b"2024-01-01T00:00:01Z stderr F oops").unwrap();
        assert_eq!(err.text, b"oops");
        let out = f.assemble(b"2024-01-01T00:00:02Z stdout F lo").unwrap();
        assert_eq!(out.text, b"hello");
        assert_eq!(out.timestamp, "2024-01-01T00:00:00Z");
        let empty = f.assemble(b"2024-01-01T00:00:03Z stdout F").unwrap();
        assert!(empty.text.is_empty());
    }
}
