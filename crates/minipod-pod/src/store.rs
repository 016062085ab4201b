//! Pod records on disk: the accepted Pod, its status and its events, under `<root>/pods/<uid>/`.
//!
//! The supervisor of a pod is the only writer of that pod's `status.json` and `events.jsonl`;
//! CLI verbs read them. Every stored change takes the next value of a per-root counter as its
//! `metadata.resourceVersion`, as the API server does, so a watcher can tell changes apart and
//! a later local API server can offer list/watch on the same files.
//!
//! Layout (docs/runtime.md, "Private state, writable layers, removal"):
//! ```text
//! <root>/pods/.resource-version      the counter (flock-guarded)
//! <root>/pods/<uid>/pod.json         the accepted Pod: metadata + defaulted spec
//! <root>/pods/<uid>/status.json      a Pod with only metadata (uid, resourceVersion,
//!                                    deletion fields) and status; atomically replaced
//! <root>/pods/<uid>/status.jsonl     every status.json written, one per line, appended:
//!                                    what a watch replays, so no change is missed;
//!                                    compacted to the newest entries when it grows
//! <root>/pods/<uid>/events.jsonl     core/v1 Events, one per line; a repeat of an event
//!                                    is folded into it (count, lastTimestamp)
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Event, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use nix::fcntl::{Flock, FlockArg};

const POD_FILE: &str = "pod.json";
const STATUS_FILE: &str = "status.json";
const EVENTS_FILE: &str = "events.jsonl";
const STATUS_HISTORY_FILE: &str = "status.jsonl";
/// The status history is compacted once it is larger than this...
const HISTORY_MAX_BYTES: u64 = 1024 * 1024;
/// ...to its newest entries (a watcher further behind gets the current state, as an API
/// server watch that fell out of its window would be re-listed).
const HISTORY_KEEP: usize = 200;
/// The most events kept per pod; the ones seen longest ago go first (the API server drops
/// events after its --event-ttl, 1h).
const MAX_EVENTS: usize = 500;
const COUNTER_FILE: &str = ".resource-version";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("create pod store {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("pod {namespace}/{name} has no metadata.uid")]
    MissingUid { namespace: String, name: String },
    #[error("pod uid {uid:?} is not a valid directory name")]
    BadUid { uid: String },
    #[error("pods \"{name}\" already exists in namespace {namespace:?}")]
    AlreadyExists { namespace: String, name: String },
    #[error("read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a valid pod record")]
    Decode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("remove pod directory {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: minipod_runtime::removeall::RemoveError,
    },
    #[error("lock {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
}

/// One stored pod: the merged object (metadata + spec + status, with the latest
/// resourceVersion) and its directory.
#[derive(Debug, Clone)]
pub struct PodRecord {
    pub pod: Pod,
    pub dir: PathBuf,
}

impl PodRecord {
    pub fn uid(&self) -> &str {
        self.pod.metadata.uid.as_deref().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or_default()
    }

    pub fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("default")
    }
}

/// What changes with a status write besides the status itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusMeta {
    pub deletion_timestamp: Option<Time>,
    pub deletion_grace_period_seconds: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct PodStore {
    dir: PathBuf,
}

impl PodStore {
    /// Opens (creating, mode 0700) `<root>/pods`; an existing one is tightened to 0700 (it
    /// leads to every pod's volumes, logs and writable layers).
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let dir = root.join("pods");
        minipod_runtime::private::create_dir_all(&dir).map_err(|source| StoreError::Open {
            path: dir.clone(),
            source,
        })?;
        Ok(PodStore { dir })
    }

    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.dir.join(uid)
    }

    /// Stores a newly accepted pod. Its name must be free in its namespace. The pod's
    /// `metadata.resourceVersion` is set from the counter; the status starts empty.
    pub fn create(&self, pod: &Pod) -> Result<PodRecord, StoreError> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let uid = pod
            .metadata
            .uid
            .as_deref()
            .ok_or_else(|| StoreError::MissingUid {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            })?;
        check_uid(uid)?;
        // The counter lock also serialises creations, so two `run`s cannot both take a name.
        let mut lock = self.lock_counter()?;
        if self.find(namespace, name)?.is_some() {
            return Err(StoreError::AlreadyExists {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            });
        }
        let rv = self.bump_counter_locked(&mut lock)?;
        let mut stored = pod.clone();
        stored.metadata.resource_version = Some(rv.to_string());
        if stored.metadata.creation_timestamp.is_none() {
            stored.metadata.creation_timestamp = Some(Time(jiff::Timestamp::now()));
        }
        stored.status = None;
        let dir = self.pod_dir(uid);
        // Build the record in a temporary directory and rename it into place, so a reader
        // never sees a pod directory without its pod.json.
        let tmp = self.dir.join(format!(".new-{uid}"));
        let _ = fs::remove_dir_all(&tmp);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&tmp)
            .map_err(|source| StoreError::Write {
                path: tmp.clone(),
                source,
            })?;
        let result = write_json_atomic(&tmp.join(POD_FILE), &stored).and_then(|()| {
            fs::rename(&tmp, &dir).map_err(|source| StoreError::Write {
                path: dir.clone(),
                source,
            })
        });
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        Ok(PodRecord { pod: stored, dir })
    }

    /// Replaces the pod's status (and deletion fields); returns the new resourceVersion.
    pub fn write_status(
        &self,
        uid: &str,
        status: &PodStatus,
        meta: &StatusMeta,
    ) -> Result<u64, StoreError> {
        check_uid(uid)?;
        let rv = self.next_resource_version()?;
        let record = Pod {
            metadata: ObjectMeta {
                uid: Some(uid.to_owned()),
                resource_version: Some(rv.to_string()),
                deletion_timestamp: meta.deletion_timestamp.clone(),
                deletion_grace_period_seconds: meta.deletion_grace_period_seconds,
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(status.clone()),
        };
        // History first: a watcher that sees the new status.json finds it in the history too.
        self.append_line(uid, STATUS_HISTORY_FILE, &record)?;
        self.compact_history(uid)?;
        write_json_atomic(&self.pod_dir(uid).join(STATUS_FILE), &record)?;
        Ok(rv)
    }

    /// Keeps the status history bounded: past [`HISTORY_MAX_BYTES`], only the newest
    /// [`HISTORY_KEEP`] entries stay (replaced atomically; readers replay by
    /// resourceVersion, so a missing older entry is only a state they do not replay).
    fn compact_history(&self, uid: &str) -> Result<(), StoreError> {
        let path = self.pod_dir(uid).join(STATUS_HISTORY_FILE);
        let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len <= HISTORY_MAX_BYTES {
            return Ok(());
        }
        let history: Vec<Pod> = self.read_lines(uid, STATUS_HISTORY_FILE)?;
        let start = history.len().saturating_sub(HISTORY_KEEP);
        write_lines_atomic(&path, &history[start..])
    }

    /// Records one event in the pod's `events.jsonl`. A repeat of a recorded event (same
    /// source, involved object, type, reason and message: client-go's EventCorrelator key)
    /// is folded into it: its count goes up and its lastTimestamp moves, as the API server's
    /// event series do, so a crash loop or a failing probe does not grow the file.
    pub fn append_event(&self, uid: &str, event: &Event) -> Result<(), StoreError> {
        check_uid(uid)?;
        let path = self.pod_dir(uid).join(EVENTS_FILE);
        let mut events: Vec<Event> = self.read_lines(uid, EVENTS_FILE)?;
        if let Some(i) = events.iter().position(|e| same_event(e, event)) {
            let mut folded = events.remove(i);
            folded.count = Some(folded.count.unwrap_or(1).max(1) + event.count.unwrap_or(1).max(1));
            folded.last_timestamp = event
                .last_timestamp
                .clone()
                .or_else(|| event.first_timestamp.clone())
                .or(folded.last_timestamp);
            if folded.first_timestamp.is_none() {
                folded.first_timestamp = event.first_timestamp.clone();
            }
            // The newest last, as if just appended.
            events.push(folded);
        } else if events.len() < MAX_EVENTS {
            return self.append_line(uid, EVENTS_FILE, event);
        } else {
            events.push(event.clone());
        }
        if events.len() > MAX_EVENTS {
            // Drop the events seen longest ago.
            events.sort_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0));
            events.drain(..events.len() - MAX_EVENTS);
        }
        write_lines_atomic(&path, &events)
    }

    fn append_line<T: serde::Serialize>(
        &self,
        uid: &str,
        file: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let path = self.pod_dir(uid).join(file);
        let mut line = serde_json::to_vec(value).map_err(|source| StoreError::Decode {
            path: path.clone(),
            source,
        })?;
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| StoreError::Write {
                path: path.clone(),
                source,
            })?;
        // One write(2) of a whole line with O_APPEND: readers never see half a line unless
        // the disk fills, and a torn last line is skipped by the readers.
        file.write_all(&line)
            .map_err(|source| StoreError::Write { path, source })
    }

    /// Every status the pod has had, oldest first, as partial Pods (metadata with uid and
    /// resourceVersion, and status): what a watch from the beginning would deliver.
    pub fn status_history(&self, uid: &str) -> Result<Vec<Pod>, StoreError> {
        check_uid(uid)?;
        self.read_lines(uid, STATUS_HISTORY_FILE)
    }

    /// The pod's events, oldest first. Lines that do not parse (a torn last write) are skipped.
    pub fn events(&self, uid: &str) -> Result<Vec<Event>, StoreError> {
        check_uid(uid)?;
        self.read_lines(uid, EVENTS_FILE)
    }

    fn read_lines<T: serde::de::DeserializeOwned>(
        &self,
        uid: &str,
        file: &str,
    ) -> Result<Vec<T>, StoreError> {
        let path = self.pod_dir(uid).join(file);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        let mut out = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|source| StoreError::Read {
                path: path.clone(),
                source,
            })?;
            if let Ok(value) = serde_json::from_str::<T>(&line) {
                out.push(value);
            }
        }
        Ok(out)
    }

    /// Reads one pod by uid: pod.json merged with status.json.
    pub fn load(&self, uid: &str) -> Result<Option<PodRecord>, StoreError> {
        check_uid(uid)?;
        let dir = self.pod_dir(uid);
        let Some(mut pod) = read_json::<Pod>(&dir.join(POD_FILE))? else {
            return Ok(None);
        };
        if let Some(status) = read_json::<Pod>(&dir.join(STATUS_FILE))? {
            pod.metadata.resource_version = status.metadata.resource_version;
            pod.metadata.deletion_timestamp = status.metadata.deletion_timestamp;
            pod.metadata.deletion_grace_period_seconds =
                status.metadata.deletion_grace_period_seconds;
            pod.status = status.status;
        }
        Ok(Some(PodRecord { pod, dir }))
    }

    /// Every stored pod, ordered by namespace then name.
    pub fn list(&self) -> Result<Vec<PodRecord>, StoreError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| StoreError::Read {
            path: self.dir.clone(),
            source,
        })?;
        let mut pods = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Read {
                path: self.dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            let Some(uid) = name.to_str() else { continue };
            if uid.starts_with('.') || check_uid(uid).is_err() {
                continue;
            }
            // A pod removed between read_dir and load is simply not listed.
            if let Some(record) = self.load(uid)? {
                pods.push(record);
            }
        }
        pods.sort_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
        Ok(pods)
    }

    /// The pod with this name in this namespace, if stored.
    pub fn find(&self, namespace: &str, name: &str) -> Result<Option<PodRecord>, StoreError> {
        Ok(self
            .list()?
            .into_iter()
            .find(|p| p.namespace() == namespace && p.name() == name))
    }

    /// Removes the pod's record. Volumes, logs and writable layers under its directory go
    /// with it. Whatever is still mounted below it is unmounted first, and the removal never
    /// deletes through a mount (the kubelet's RemoveAllOneFilesystem): a mount that cannot
    /// be unmounted stops it with an error naming the mount, the record left in place.
    pub fn remove(&self, uid: &str) -> Result<(), StoreError> {
        use minipod_runtime::removeall;
        check_uid(uid)?;
        let dir = self.pod_dir(uid);
        let doomed = self.dir.join(format!(".gone-{uid}"));
        // A removal that stopped half-way (a mount it could not remove) is finished first.
        removeall::unmount_and_remove_all(&doomed).map_err(|source| StoreError::Remove {
            path: doomed.clone(),
            source,
        })?;
        removeall::unmount_all_under(&dir).map_err(|source| StoreError::Remove {
            path: dir.clone(),
            source,
        })?;
        // Rename first so that readers stop seeing the pod at once, then delete at leisure.
        match fs::rename(&dir, &doomed) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(StoreError::Write { path: dir, source }),
        }
        removeall::remove_all_one_filesystem(&doomed).map_err(|source| StoreError::Remove {
            path: doomed,
            source,
        })
    }

    /// Takes the next resourceVersion (1, 2, 3, ...).
    pub fn next_resource_version(&self) -> Result<u64, StoreError> {
        let mut lock = self.lock_counter()?;
        self.bump_counter_locked(&mut lock)
    }

    /// The latest resourceVersion handed out (0 when none).
    pub fn current_resource_version(&self) -> Result<u64, StoreError> {
        let mut lock = self.lock_counter()?;
        read_counter(&mut lock, &self.counter_path())
    }

    fn counter_path(&self) -> PathBuf {
        self.dir.join(COUNTER_FILE)
    }

    fn lock_counter(&self) -> Result<Flock<File>, StoreError> {
        let path = self.counter_path();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|source| StoreError::Write {
                path: path.clone(),
                source,
            })?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, source)| StoreError::Lock { path, source })
    }

    fn bump_counter_locked(&self, file: &mut Flock<File>) -> Result<u64, StoreError> {
        let path = self.counter_path();
        let next = read_counter(file, &path)? + 1;
        let text = next.to_string();
        // The value is short and written in place at offset 0: a crash leaves either the old
        // or the new digits (the length only grows), never a smaller number.
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(text.as_bytes()))
            .map_err(|source| StoreError::Write { path, source })?;
        Ok(next)
    }
}

fn read_counter(file: &mut File, path: &Path) -> Result<u64, StoreError> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text))
        .map_err(|source| StoreError::Read {
            path: path.to_owned(),
            source,
        })?;
    // An empty or damaged counter restarts from 0 plus nothing lost: resourceVersions only
    // need to differ between consecutive writes of one pod, and status writes re-read it.
    Ok(text.trim().parse().unwrap_or(0))
}

/// Uids become directory names: allow only what Kubernetes uids (and our generated ones) use.
fn check_uid(uid: &str) -> Result<(), StoreError> {
    let ok = !uid.is_empty()
        && uid.len() <= 128
        && !uid.starts_with('.')
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadUid {
            uid: uid.to_owned(),
        })
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| StoreError::Decode {
            path: path.to_owned(),
            source,
        })
}

/// Whether two events are the same for folding (client-go tools/record getEventKey).
fn same_event(a: &Event, b: &Event) -> bool {
    event_key(a) == event_key(b)
}

type EventKey<'a> = (
    (Option<&'a str>, Option<&'a str>),
    (
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    ),
    (Option<&'a str>, Option<&'a str>, Option<&'a str>),
);

fn event_key(e: &Event) -> EventKey<'_> {
    let o = &e.involved_object;
    let source = e.source.as_ref();
    (
        (
            source.and_then(|s| s.component.as_deref()),
            source.and_then(|s| s.host.as_deref()),
        ),
        (
            o.kind.as_deref(),
            o.namespace.as_deref(),
            o.name.as_deref(),
            o.uid.as_deref(),
            o.field_path.as_deref(),
        ),
        (
            e.type_.as_deref(),
            e.reason.as_deref(),
            e.message.as_deref(),
        ),
    )
}

/// Replaces a JSON-lines file with `values`, one per line, atomically (temporary file in the
/// same directory, fsync, rename), mode 0600.
fn write_lines_atomic<T: serde::Serialize>(path: &Path, values: &[T]) -> Result<(), StoreError> {
    let mut bytes = Vec::new();
    for v in values {
        serde_json::to_writer(&mut bytes, v).map_err(|source| StoreError::Decode {
            path: path.to_owned(),
            source,
        })?;
        bytes.push(b'\n');
    }
    write_bytes_atomic(path, &bytes)
}

/// Write to a temporary name in the same directory, fsync, rename over: readers see the old
/// or the new content, never a mix, and a crash leaves at most a stray temporary file.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| StoreError::Decode {
        path: path.to_owned(),
        source,
    })?;
    bytes.push(b'\n');
    write_bytes_atomic(path, &bytes)
}

/// The store's writes go through the runtime's one private atomic write (0600).
fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    minipod_runtime::private::replace_file(path, bytes, minipod_runtime::private::FILE_MODE)
        .map_err(|source| StoreError::Write {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests;
