//! Persistence: queues and messages that survive a restart and a crash (`kill -9`).
//!
//! A redo log of the core's [`Change`]s with snapshot compaction, in the spirit of Redis's
//! append-only file. The core stays the only index of messages; this module only records what
//! changed and, at start, replays it. Why a log rather than an embedded store (redb, SQLite):
//! see ARCHITECTURE.md ("Why the emulator persists with a log").
//!
//! - [`header`]: the magic number and format version every data file starts with.
//! - [`frame`]: the record format (length, CRC-32, postcard payload) and torn-tail detection.
//! - [`legacy`]: records of older formats, read to be upgraded.
//! - [`replay`]: reading a file back, and what damage means (only a torn last record is cut;
//!   anything else refuses to start, or with `repair` moves the file aside).
//! - [`image`]: the whole state as one byte string (`/_slipway/snapshot`, `devstack snapshot`).
//! - [`files`]: the data directory — generations of snapshots and journals, and its lock.
//! - [`writer`]: the background thread that writes and syncs the journal.
//! - [`Store`] (here): open (replay, compact, start writing), compaction, close.
//!
//! On start the store replays the newest snapshot and the journals after it, cuts a torn last
//! record (and refuses any other damage, changing nothing), then compacts at once: a new snapshot of what was restored, a new empty journal,
//! older files deleted. While serving it compacts again whenever the journal outgrows
//! [`PersistOptions::compact_after`] and twice the last snapshot.

pub mod files;
pub mod frame;
pub mod header;
pub mod image;
pub mod legacy;
pub mod replay;
pub mod writer;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::core::{Change, ChangeSink, Restorer, Sqs, Synced};
use files::DataDir;
pub use replay::RepairedFile;
use replay::{Replayed, replay_file};
pub use writer::FsyncPolicy;
use writer::{Shared, Writer};

/// Where and how to persist.
#[derive(Debug, Clone)]
pub struct PersistOptions {
    /// The data directory (created if missing).
    pub dir: PathBuf,
    /// When to sync the journal.
    pub fsync: FsyncPolicy,
    /// The journal size (bytes) from which a compaction is considered.
    pub compact_after: u64,
    /// Start even when a file is damaged: keep what can be read and move the damaged file
    /// aside (it is never deleted). Without it, damage refuses the start.
    pub repair: bool,
}

impl PersistOptions {
    /// Defaults: sync every 100 ms, compact past 64 MiB.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            fsync: FsyncPolicy::Interval(std::time::Duration::from_millis(100)),
            compact_after: 64 * 1024 * 1024,
            repair: false,
        }
    }
}

/// What opening a data directory found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Queues restored.
    pub queues: usize,
    /// Records replayed.
    pub records: u64,
    /// Bytes cut from a journal's torn end.
    pub truncated_bytes: u64,
    /// Files written before data files had a header (format 0), read and rewritten in the
    /// current format.
    pub upgraded_files: usize,
    /// Damaged files moved aside by a repair.
    pub repaired: Vec<RepairedFile>,
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record could not be encoded.
    #[error("cannot encode a journal record: {0}")]
    Encode(#[from] postcard::Error),
    /// A file is damaged somewhere other than its torn last record.
    #[error(
        "{path}: damaged at byte {offset} of {length} ({reason}). Nothing was changed: the emulator \
         refuses to start rather than drop what follows. To start with every record that can be \
         read, start again with --repair (the damaged file is moved aside, never deleted); to \
         start empty, use another data directory."
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// The file's length.
        length: u64,
        /// What is wrong.
        reason: String,
    },
    /// A file in a format version this build does not know.
    #[error(
        "{path}: data format version {version}, but this build reads version {known} (was it \
         written by a newer Slipway?). Nothing was changed. Use the build that wrote it, or move \
         the data directory aside (or start with --repair to move this file aside and keep the rest)."
    )]
    UnknownVersion {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        version: u32,
        /// The version this build reads.
        known: u32,
    },
}

pub(crate) fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A persistent emulator's journal: attached to the core as its [`ChangeSink`].
pub struct Store {
    dir: DataDir,
    fsync: FsyncPolicy,
    compact_after: u64,
    writer: Mutex<Writer>,
    shared: Arc<Shared>,
    /// The generation being written; compaction holds this lock throughout.
    generation: Mutex<u64>,
    _lock: File,
}

impl Store {
    /// Opens `options.dir`, restores its queues and messages into `sqs` (which must be new),
    /// compacts, and starts journaling every change `sqs` makes from now on.
    pub fn open(
        sqs: &Sqs,
        options: &PersistOptions,
    ) -> Result<(Arc<Self>, Recovery), PersistError> {
        let dir = DataDir::create(&options.dir).map_err(io_at(&options.dir))?;
        let lock = dir.lock().map_err(io_at(&options.dir))?;
        let layout = dir.layout().map_err(io_at(&options.dir))?;
        let mut recovery = Recovery::default();
        let mut restorer = Restorer::new(sqs);
        let mut files: Vec<PathBuf> = layout
            .snapshot
            .map(|g| dir.snapshot(g))
            .into_iter()
            .collect();
        files.extend(layout.journals.iter().map(|g| dir.journal(*g)));
        let last = files.len().saturating_sub(1);
        for (index, path) in files.iter().enumerate() {
            match replay_file(path, &mut restorer, index == last, options.repair)? {
                Replayed::Clean {
                    records,
                    older_format,
                } => {
                    recovery.records += records;
                    recovery.upgraded_files += usize::from(older_format);
                }
                Replayed::TornTail { records, cut } => {
                    recovery.records += records;
                    recovery.truncated_bytes += cut;
                }
                Replayed::MovedAside(file) => {
                    recovery.records += file.records_kept;
                    recovery.repaired.push(file);
                }
            }
        }
        recovery.queues = restorer.queues();
        for path in &layout.obsolete {
            remove_if_present(path)?;
        }
        let generation = layout.newest + 1;
        let writer = Writer::start(
            dir.clone(),
            generation,
            options.fsync,
            options.compact_after,
        )
        .map_err(io_at(&dir.journal(generation)))?;
        let shared = writer.shared().clone();
        let store = Arc::new(Self {
            dir,
            fsync: options.fsync,
            compact_after: options.compact_after,
            writer: Mutex::new(writer),
            shared,
            generation: Mutex::new(generation),
            _lock: lock,
        });
        // The snapshot of what was restored becomes this generation's base; nothing is
        // serving yet, so nothing else is in the new journal.
        store.write_snapshot(sqs, generation)?;
        store.remove_obsolete()?;
        sqs.attach_journal(store.clone());
        Ok((store, recovery))
    }

    /// Starts a new generation: later changes go to a new journal while every queue is
    /// snapshotted; then the older files are deleted. Safe while serving.
    pub fn compact(&self, sqs: &Sqs) -> Result<(), PersistError> {
        let mut generation = self.generation.lock();
        let next = *generation + 1;
        self.shared
            .rotate(next)
            .map_err(io_at(&self.dir.journal(next)))?;
        *generation = next;
        self.write_snapshot(sqs, next)?;
        self.remove_obsolete()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.dir.root()
    }

    /// The sync policy.
    pub fn fsync(&self) -> FsyncPolicy {
        self.fsync
    }

    /// Waits until the writer asks for a compaction.
    pub async fn compaction_wanted(&self) {
        self.shared.compaction_wanted.notified().await;
    }

    /// Writes and syncs what is pending and stops the writer. Later changes are not saved.
    pub fn close(&self) {
        self.writer.lock().stop();
    }

    fn write_snapshot(&self, sqs: &Sqs, generation: u64) -> Result<(), PersistError> {
        let tmp = self.dir.snapshot_tmp(generation);
        let file = File::create(&tmp).map_err(io_at(&tmp))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&header::encode()).map_err(io_at(&tmp))?;
        let mut frame = Vec::new();
        let mut size = header::LEN as u64;
        sqs.snapshot(|change| {
            frame.clear();
            frame::encode(change, &mut frame)?;
            size += frame.len() as u64;
            out.write_all(&frame).map_err(io_at(&tmp))
        })?;
        let file = out.into_inner().map_err(|e| io_at(&tmp)(e.into_error()))?;
        file.sync_all().map_err(io_at(&tmp))?;
        let path = self.dir.snapshot(generation);
        std::fs::rename(&tmp, &path).map_err(io_at(&path))?;
        self.dir.sync().map_err(io_at(self.dir.root()))?;
        self.shared
            .set_compact_after(self.compact_after.max(size.saturating_mul(2)));
        Ok(())
    }

    /// Deletes the files the newest snapshot supersedes.
    fn remove_obsolete(&self) -> Result<(), PersistError> {
        let layout = self.dir.layout().map_err(io_at(self.dir.root()))?;
        for path in layout.obsolete {
            remove_if_present(&path)?;
        }
        Ok(())
    }
}

impl ChangeSink for Store {
    fn append(&self, changes: Vec<Change>) {
        let mut frames = Vec::with_capacity(256 * changes.len());
        let mut count = 0;
        for change in &changes {
            match frame::encode(change, &mut frames) {
                Ok(()) => count += 1,
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode a journal record; it is not saved")
                }
            }
        }
        self.shared.append(&frames, count);
    }

    fn durability(&self) -> Option<(u64, tokio::sync::watch::Receiver<Synced>)> {
        (self.fsync == FsyncPolicy::Always).then(|| (self.shared.appended(), self.shared.synced()))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn remove_if_present(path: &Path) -> Result<(), PersistError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_at(path)(e)),
    }
}
