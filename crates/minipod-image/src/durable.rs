//! Durable writes: a file's data is synced before it is renamed into place, and the
//! directory is synced after, so that after a power cut a name in the store points at
//! complete content or is absent (the rename alone orders nothing on disk: ext4 and xfs may
//! persist the new name before the data). The same discipline as containerd's content
//! writer (`content/local/writer.go` `Commit`: `fp.Sync()` before `os.Rename`) and its
//! `fs.SyncDir` use.

use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Flushes a file's data and metadata.
pub(crate) fn sync_file(f: &File) -> io::Result<()> {
    record(|| "file".to_string());
    f.sync_all()
}

/// Flushes a directory's entries (a rename or create in it).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    record(|| format!("dir {}", dir.display()));
    File::open(dir)?.sync_all()
}

/// Flushes everything written on the filesystem holding `dir`: one call for the thousands
/// of files of an unpacked layer, instead of one fsync each.
pub(crate) fn sync_fs(dir: &Path) -> io::Result<()> {
    record(|| format!("fs {}", dir.display()));
    let d = File::open(dir)?;
    nix::unistd::syncfs(d.as_raw_fd()).map_err(io::Error::from)
}

/// Renames `from` to `to` and syncs `to`'s directory. `from`'s data must be synced already.
pub(crate) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    record(|| format!("rename {}", to.display()));
    sync_dir(to.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
thread_local! {
    static LOG: std::cell::RefCell<Option<Vec<String>>> = const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
fn record(event: impl FnOnce() -> String) {
    LOG.with(|l| {
        if let Some(v) = l.borrow_mut().as_mut() {
            v.push(event());
        }
    });
}

#[cfg(not(test))]
fn record(_: impl FnOnce() -> String) {}

/// Runs `f` and returns the sync events it caused on this thread, in order.
#[cfg(test)]
pub(crate) fn events_of(f: impl FnOnce()) -> Vec<String> {
    LOG.with(|l| *l.borrow_mut() = Some(Vec::new()));
    f();
    LOG.with(|l| l.borrow_mut().take().unwrap_or_default())
}
