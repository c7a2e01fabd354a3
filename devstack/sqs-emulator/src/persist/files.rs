//! The data directory: which files hold what, and which of them a restart must read.
//!
//! ```text
//! LOCK                  held (flock) by the emulator using the directory
//! snapshot-<G>.log      every queue and message at the moment generation G began
//! journal-<G>.log       the changes made during generation G
//! snapshot-<G>.tmp      a snapshot being written (ignored, removed at start)
//! ```
//!
//! A compaction starts generation G+1: new changes go to `journal-<G+1>.log` while
//! `snapshot-<G+1>` is written; once it is renamed into place, every file of an older
//! generation is deleted. So the state is always the newest complete snapshot followed by the
//! journals of its generation and later — whatever moment a crash picks.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// The files of one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// What a restart reads: the newest snapshot and the journals after it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// The newest complete snapshot's generation.
    pub snapshot: Option<u64>,
    /// Journals to replay after it, oldest first.
    pub journals: Vec<u64>,
    /// Files of generations the snapshot supersedes.
    pub obsolete: Vec<PathBuf>,
    /// The newest generation seen.
    pub newest: u64,
}

impl DataDir {
    /// The directory at `root`, created if missing.
    pub fn create(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root)?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The directory's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the directory's lock, so that two emulators never share it.
    pub fn lock(&self) -> io::Result<File> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root.join("LOCK"))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is in use by another emulator (stop it, or give another --data-dir)",
                    self.root.display()
                ),
            )),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// A generation's journal.
    pub fn journal(&self, generation: u64) -> PathBuf {
        self.root.join(format!("journal-{generation:08}.log"))
    }

    /// A generation's snapshot.
    pub fn snapshot(&self, generation: u64) -> PathBuf {
        self.root.join(format!("snapshot-{generation:08}.log"))
    }

    /// A generation's snapshot while it is written.
    pub fn snapshot_tmp(&self, generation: u64) -> PathBuf {
        self.root.join(format!("snapshot-{generation:08}.tmp"))
    }

    /// Reads the directory: what to replay, and what is left over.
    pub fn layout(&self) -> io::Result<Layout> {
        let mut snapshots = Vec::new();
        let mut journals = Vec::new();
        let mut leftovers = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(g) = generation_of(name, "snapshot-", ".log") {
                snapshots.push(g);
            } else if let Some(g) = generation_of(name, "journal-", ".log") {
                journals.push(g);
            } else if generation_of(name, "snapshot-", ".tmp").is_some() {
                leftovers.push(entry.path());
            }
        }
        snapshots.sort_unstable();
        journals.sort_unstable();
        let snapshot = snapshots.last().copied();
        let from = snapshot.unwrap_or(0);
        let mut obsolete = leftovers;
        obsolete.extend(
            snapshots
                .iter()
                .filter(|g| **g < from)
                .map(|g| self.snapshot(*g)),
        );
        obsolete.extend(
            journals
                .iter()
                .filter(|g| **g < from)
                .map(|g| self.journal(*g)),
        );
        let newest = snapshots
            .iter()
            .chain(journals.iter())
            .copied()
            .max()
            .unwrap_or(0);
        journals.retain(|g| *g >= from);
        Ok(Layout {
            snapshot,
            journals,
            obsolete,
            newest,
        })
    }

    /// Makes renames and deletions in the directory durable.
    pub fn sync(&self) -> io::Result<()> {
        File::open(&self.root)?.sync_all()
    }
}

fn generation_of(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    name.strip_prefix(prefix)?
        .strip_suffix(suffix)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_newest_snapshot_and_the_journals_from_it_are_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(dir.path()).unwrap();
        for path in [
            data.snapshot(2),
            data.journal(1),
            data.journal(2),
            data.journal(3),
            data.snapshot_tmp(3),
            dir.path().join("notes.txt"),
        ] {
            File::create(path).unwrap();
        }
        let layout = data.layout().unwrap();
        assert_eq!(layout.snapshot, Some(2));
        assert_eq!(layout.journals, [2, 3]);
        assert_eq!(layout.newest, 3);
        let mut obsolete = layout.obsolete.clone();
        obsolete.sort();
        assert_eq!(obsolete, [data.journal(1), data.snapshot_tmp(3)]);
    }

    #[test]
    fn without_a_snapshot_every_journal_is_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(dir.path()).unwrap();
        File::create(data.journal(0)).unwrap();
        File::create(data.journal(1)).unwrap();
        let layout = data.layout().unwrap();
        assert_eq!(layout.snapshot, None);
        assert_eq!(layout.journals, [0, 1]);
    }

    #[test]
    fn a_second_emulator_cannot_take_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(dir.path()).unwrap();
        let _held = data.lock().unwrap();
        let err = data.lock().unwrap_err();
        assert!(err.to_string().contains("in use"), "{err}");
    }
}
