//! Progress of `image load` and `image pull` (and pulls made by `run`) on stderr: indicatif
//! bars when stderr is a terminal, plain one-line messages otherwise (logs and pipes get
//! lines they can grep, never cursor movement). `--no-color` does not decide this: a
//! terminal gets bars either way, as podman does.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use minipod_image::{Digest, Progress};

/// Bars for a terminal, lines otherwise.
pub fn for_stderr() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(Lines)
    }
}

/// One line per blob, as podman prints them when it has no terminal.
struct Lines;

impl Progress for Lines {
    fn blob_done(&self, digest: &Digest) {
        eprintln!("Copying blob {} done", short(digest));
    }

    fn blob_present(&self, digest: &Digest) {
        eprintln!("Copying blob {} skipped: already exists", short(digest));
    }
}

/// `sha256:` and the first 12 hex digits, as docker and podman show blobs.
fn short(d: &Digest) -> String {
    format!("sha256:{}", d.short())
}

struct Bars {
    multi: MultiProgress,
    blobs: Mutex<HashMap<Digest, ProgressBar>>,
    unpack: Mutex<Option<ProgressBar>>,
}

impl Bars {
    fn new() -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            blobs: Mutex::new(HashMap::new()),
            unpack: Mutex::new(None),
        }
    }

    fn style(template: &str) -> ProgressStyle {
        // Invariant: the templates below are fixed and valid.
        ProgressStyle::with_template(template)
            .expect("valid progress template")
            .progress_chars("=> ")
    }

    fn finished_line(&self, msg: String) {
        let bar = self.multi.add(ProgressBar::new(0));
        bar.set_style(Self::style("{msg}"));
        bar.finish_with_message(msg);
    }
}

impl Progress for Bars {
    fn blob_started(&self, digest: &Digest, size: u64) {
        let bar = self.multi.add(ProgressBar::new(size));
        bar.set_style(Self::style(
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        ));
        bar.set_prefix(short(digest));
        bar.enable_steady_tick(Duration::from_millis(200));
        lock(&self.blobs).insert(digest.clone(), bar);
    }

    fn blob_advanced(&self, digest: &Digest, bytes: u64) {
        if let Some(bar) = lock(&self.blobs).get(digest) {
            bar.inc(bytes);
        }
    }

    fn blob_done(&self, digest: &Digest) {
        if let Some(bar) = lock(&self.blobs).remove(digest) {
            bar.set_style(Self::style("{prefix} {msg}"));
            bar.finish_with_message(format!(
                "done ({})",
                indicatif::HumanBytes(bar.length().unwrap_or(0))
            ));
        }
    }

    fn blob_present(&self, digest: &Digest) {
        self.finished_line(format!("{} already exists", short(digest)));
    }

    fn unpack_started(&self, count: usize) {
        let bar = self.multi.add(ProgressBar::new(count as u64));
        bar.set_style(Self::style(
            "Unpacking layers [{bar:30}] {pos}/{len} {elapsed}",
        ));
        bar.enable_steady_tick(Duration::from_millis(200));
        *lock(&self.unpack) = Some(bar);
    }

    fn layer_unpacked(&self, _diff_id: &Digest) {
        if let Some(bar) = lock(&self.unpack).as_ref() {
            bar.inc(1);
            if bar.position() >= bar.length().unwrap_or(0) {
                bar.finish();
            }
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        // A failed pull leaves bars running: stop them so the error prints on a clean line.
        for bar in lock(&self.blobs).values() {
            bar.abandon();
        }
        if let Some(bar) = lock(&self.unpack).as_ref() {
            bar.abandon();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking progress callback leaves nothing half-updated worth refusing.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
