//! The journal file and its sync thread.
//!
//! Request threads write their encoded frames straight to the journal (one `write(2)` under a
//! mutex, in the order the core made the changes), so once a request has answered its changes
//! are in the operating system and survive a killed emulator. A background thread makes them
//! durable against a machine crash per the [`FsyncPolicy`]:
//!
//! - `Always`: it syncs as soon as there is something new — many appends share one fsync
//!   (group commit) — and publishes how many appends are on disk; requests wait for theirs
//!   before they answer.
//! - `Interval`: it syncs at most that often; a power cut may lose that window.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::{Notify, watch};

use super::files::DataDir;
use crate::core::Synced;

/// When the journal is synced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every write; a request answers only once its changes are on disk.
    Always,
    /// At most this often; a crash of the machine (not the process) may lose that window.
    Interval(Duration),
}

impl std::str::FromStr for FsyncPolicy {
    type Err = String;

    /// `always`, or an interval in milliseconds such as `100ms` (or `100`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "always" {
            return Ok(Self::Always);
        }
        s.trim_end_matches("ms")
            .parse::<u64>()
            .map(|ms| Self::Interval(Duration::from_millis(ms)))
            .map_err(|_| format!("{s:?}: expected `always` or milliseconds such as `100ms`"))
    }
}

impl std::fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Always => f.write_str("always"),
            Self::Interval(d) => write!(f, "{}ms", d.as_millis()),
        }
    }
}

struct Current {
    file: File,
    generation: u64,
    /// Bytes in the current generation's journal.
    written: u64,
    /// Appends so far (all generations).
    appended: u64,
    /// Whether something was appended since the sync thread last took the count.
    unsynced: bool,
    failed: Option<String>,
    stop: bool,
}

/// The open journal, shared by appenders, the sync thread and compaction.
pub struct Shared {
    dir: DataDir,
    policy: FsyncPolicy,
    current: Mutex<Current>,
    wake: Condvar,
    synced: watch::Sender<Synced>,
    /// Fired when the current journal outgrows the compaction threshold.
    pub compaction_wanted: Notify,
    compact_after: AtomicU64,
}

impl Shared {
    /// Writes encoded frames (`count` records) to the journal: in the OS once this returns,
    /// so a killed process loses none of them.
    pub fn append(&self, frames: &[u8], count: u64) {
        let mut current = self.current.lock();
        if current.failed.is_some() {
            return;
        }
        if let Err(e) = current.file.write_all(frames) {
            let why = format!("{}: {e}", self.dir.journal(current.generation).display());
            tracing::error!(error = %why, "cannot write the SQS journal; changes are no longer saved");
            current.failed = Some(why.clone());
            self.synced.send_modify(|s| s.failed = Some(why));
            return;
        }
        current.written += frames.len() as u64;
        current.appended += count;
        let was_synced = !std::mem::replace(&mut current.unsynced, true);
        let grown = current.written > self.compact_after.load(Ordering::Relaxed);
        drop(current);
        // `Always` syncs at once, so the thread must hear of every append; `Interval` only
        // needs to hear that its timer should start (waking it on every append costs a
        // context switch per request).
        if self.policy == FsyncPolicy::Always || was_synced {
            self.wake.notify_one();
        }
        if grown {
            self.compaction_wanted.notify_one();
        }
    }

    /// Appends so far.
    pub fn appended(&self) -> u64 {
        self.current.lock().appended
    }

    /// Syncs the current journal and sends later appends to `generation`'s.
    pub fn rotate(&self, generation: u64) -> std::io::Result<()> {
        let mut current = self.current.lock();
        current.file.sync_data()?;
        current.file = open_journal(&self.dir, generation)?;
        current.generation = generation;
        current.written = 0;
        Ok(())
    }

    /// A receiver of how far the journal is on disk.
    pub fn synced(&self) -> watch::Receiver<Synced> {
        self.synced.subscribe()
    }

    /// Sets the journal size that asks for a compaction.
    pub fn set_compact_after(&self, bytes: u64) {
        self.compact_after.store(bytes, Ordering::Relaxed);
    }
}

/// The journal and the thread that syncs it.
pub struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Opens `generation`'s journal in `dir` and starts the sync thread.
    pub fn start(
        dir: DataDir,
        generation: u64,
        policy: FsyncPolicy,
        compact_after: u64,
    ) -> std::io::Result<Self> {
        let file = open_journal(&dir, generation)?;
        let shared = Arc::new(Shared {
            dir,
            policy,
            current: Mutex::new(Current {
                file,
                generation,
                written: 0,
                appended: 0,
                unsynced: false,
                failed: None,
                stop: false,
            }),
            wake: Condvar::new(),
            synced: watch::Sender::new(Synced::default()),
            compaction_wanted: Notify::new(),
            compact_after: AtomicU64::new(compact_after),
        });
        let thread = std::thread::Builder::new()
            .name("sqs-journal-sync".into())
            .spawn({
                let shared = shared.clone();
                move || sync_loop(&shared)
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// The shared journal, for appenders and compaction.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Syncs what was written and stops the thread.
    pub fn stop(&mut self) {
        self.shared.current.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the journal sync thread panicked");
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Opens a generation's journal, writing the header when the file is new.
fn open_journal(dir: &DataDir, generation: u64) -> std::io::Result<File> {
    let mut file = File::options()
        .create(true)
        .append(true)
        .open(dir.journal(generation))?;
    if file.metadata()?.len() == 0 {
        file.write_all(&super::header::encode())?;
    }
    Ok(file)
}

/// Syncs the journal when there is something new: at once (`Always`, so many appends share
/// one fsync) or once the interval since the last sync has passed.
fn sync_loop(shared: &Shared) {
    let mut synced = 0u64;
    let mut last_sync = Instant::now();
    loop {
        let (file, target, stop) = {
            let mut current = shared.current.lock();
            loop {
                if current.stop || current.failed.is_some() {
                    break;
                }
                if current.appended > synced {
                    let wait = match shared.policy {
                        FsyncPolicy::Always => Duration::ZERO,
                        FsyncPolicy::Interval(every) => every.saturating_sub(last_sync.elapsed()),
                    };
                    if wait.is_zero() {
                        break;
                    }
                    shared.wake.wait_for(&mut current, wait);
                } else {
                    shared.wake.wait(&mut current);
                }
            }
            if current.failed.is_some() {
                return;
            }
            current.unsynced = false;
            (current.file.try_clone(), current.appended, current.stop)
        };
        if target > synced {
            if let Err(e) = file.and_then(|f| f.sync_data()) {
                let why = format!("fsync: {e}");
                tracing::error!(error = %why, "cannot sync the SQS journal");
                shared.current.lock().failed = Some(why.clone());
                shared.synced.send_modify(|s| s.failed = Some(why));
                return;
            }
            synced = target;
            last_sync = Instant::now();
            shared.synced.send_modify(|s| s.appended = target);
        }
        if stop {
            return;
        }
    }
}
