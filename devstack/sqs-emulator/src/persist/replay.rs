//! Reading a data file back at start, and deciding what damage means.
//!
//! The rule: **only a torn last record may be cut.** A crash can leave the last record of the
//! newest journal half written (short, failing its checksum, or zero-filled up to the end of
//! the file); that record was never acknowledged, so it is cut off. Any other damage — a bad
//! record with good bytes after it, damage in an older file, a file in a format version this
//! build does not know — stops the start with [`PersistError::Damaged`] or
//! [`PersistError::UnknownVersion`], before any file is changed. With `repair`, the damaged
//! file is moved aside (renamed, never deleted) after the records before the damage were
//! replayed, and the start goes on.

use std::fs::File;
use std::io::{BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use super::frame::{Damage, FrameReader, Layout};
use super::header::{self, Format, HeaderError};
use super::legacy::ChangeV1;
use super::{PersistError, io_at};
use crate::core::Restorer;

/// What replaying one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    /// Every record was read.
    Clean {
        /// Records replayed.
        records: u64,
        /// The file is in an older format (0 or 1) and will be rewritten in the current one.
        older_format: bool,
    },
    /// The last record was torn and cut off.
    TornTail {
        /// Records replayed.
        records: u64,
        /// Bytes cut.
        cut: u64,
    },
    /// The file was damaged and, as asked, moved aside after what could be read.
    MovedAside(RepairedFile),
}

/// A damaged file moved aside by a repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairedFile {
    /// Where the file was.
    pub original: PathBuf,
    /// Where it is now.
    pub moved_to: PathBuf,
    /// Records read from it before the damage (kept).
    pub records_kept: u64,
    /// The byte offset of the damage.
    pub damaged_at: u64,
    /// What was wrong.
    pub reason: String,
}

/// Replays `path` into `restorer`. `is_last`: the newest file, whose torn tail may be cut.
pub fn replay_file(
    path: &Path,
    restorer: &mut Restorer<'_>,
    is_last: bool,
    repair: bool,
) -> Result<Replayed, PersistError> {
    let mut file = File::open(path).map_err(io_at(path))?;
    let length = file.metadata().map_err(io_at(path))?.len();
    if length == 0 {
        return Ok(Replayed::Clean {
            records: 0,
            older_format: false,
        });
    }
    let mut start = Vec::with_capacity(header::LEN);
    (&mut file)
        .take(header::LEN as u64)
        .read_to_end(&mut start)
        .map_err(io_at(path))?;
    let (format, base) = match header::check(&start) {
        Ok(found) => found,
        Err(HeaderError::Truncated) if is_last => return cut(path, 0, 0, length),
        Err(HeaderError::Truncated) => {
            let reason = "the file ends inside its header".to_string();
            return damaged(path, 0, 0, length, reason, repair);
        }
        Err(HeaderError::UnknownVersion(version)) if !repair => {
            return Err(PersistError::UnknownVersion {
                path: path.to_path_buf(),
                version,
                known: header::VERSION,
            });
        }
        Err(HeaderError::UnknownVersion(version)) => {
            let reason = format!(
                "format version {version}, this build reads {}",
                header::VERSION
            );
            return damaged(path, 0, 0, length, reason, true);
        }
    };
    file.seek(SeekFrom::Start(base as u64))
        .map_err(io_at(path))?;
    let layout = match format {
        Format::Current | Format::V1 => Layout::V1,
        Format::Headerless => Layout::V0,
    };
    let mut reader = FrameReader::new(BufReader::with_capacity(1 << 20, file), layout);
    let mut records = 0;
    let region = restorer.default_region().to_string();
    loop {
        let change = match format {
            Format::Current => reader.next_change(),
            Format::V1 | Format::Headerless => reader
                .next_as::<ChangeV1>()
                .map(|change| change.map(|c| c.upgrade(&region))),
        };
        let Some(change) = change.map_err(io_at(path))? else {
            break;
        };
        restorer.apply(change);
        records += 1;
    }
    let good = base as u64 + reader.good_until();
    let Some(damage) = reader.damage().cloned() else {
        return Ok(Replayed::Clean {
            records,
            older_format: format != Format::Current,
        });
    };
    if format == Format::Headerless && records == 0 {
        let reason = format!(
            "not a Slipway SQS data file (no header, and no readable record): {}",
            describe(&damage)
        );
        return damaged(path, 0, 0, length, reason, repair);
    }
    if is_last && is_torn_tail(path, &damage, base as u64, good, length)? {
        return cut(path, records, good, length);
    }
    damaged(path, records, good, length, describe(&damage), repair)
}

/// Whether the damage is a torn last record: cut short, or bad but reaching exactly the end
/// of the file, or followed by nothing but zeros (blocks allocated, never written).
fn is_torn_tail(
    path: &Path,
    damage: &Damage,
    base: u64,
    good: u64,
    length: u64,
) -> Result<bool, PersistError> {
    match damage {
        Damage::Truncated => Ok(true),
        Damage::Corrupt {
            frame_end: Some(end),
            ..
        } if base + end == length => Ok(true),
        Damage::Corrupt { .. } => only_zeros_after(path, good),
    }
}

fn only_zeros_after(path: &Path, offset: u64) -> Result<bool, PersistError> {
    let mut file = File::open(path).map_err(io_at(path))?;
    file.seek(SeekFrom::Start(offset)).map_err(io_at(path))?;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer).map_err(io_at(path))?;
        if n == 0 {
            return Ok(true);
        }
        if buffer[..n].iter().any(|b| *b != 0) {
            return Ok(false);
        }
    }
}

fn describe(damage: &Damage) -> String {
    match damage {
        Damage::Truncated => "a record cut short".to_string(),
        Damage::Corrupt { why, .. } => format!("a damaged record: {why}"),
    }
}

/// Cuts a torn tail off the newest file.
fn cut(path: &Path, records: u64, good: u64, length: u64) -> Result<Replayed, PersistError> {
    tracing::warn!(file = %path.display(), offset = good, "the journal ends with a record cut short by a crash; cutting it off");
    File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(good).and_then(|()| f.sync_all()))
        .map_err(io_at(path))?;
    Ok(Replayed::TornTail {
        records,
        cut: length - good,
    })
}

/// Damage that is not a torn tail: refused, or with `repair` the file is moved aside.
fn damaged(
    path: &Path,
    records: u64,
    offset: u64,
    length: u64,
    reason: String,
    repair: bool,
) -> Result<Replayed, PersistError> {
    if !repair {
        return Err(PersistError::Damaged {
            path: path.to_path_buf(),
            offset,
            length,
            reason,
        });
    }
    let moved_to = aside(path);
    std::fs::rename(path, &moved_to).map_err(io_at(path))?;
    tracing::warn!(file = %path.display(), moved_to = %moved_to.display(), offset, records, "repair: kept the records before the damage and moved the file aside");
    Ok(Replayed::MovedAside(RepairedFile {
        original: path.to_path_buf(),
        moved_to,
        records_kept: records,
        damaged_at: offset,
        reason,
    }))
}

/// `journal-00000003.log` → `journal-00000003.log.damaged-<unix seconds>` (a name the store
/// never reads or deletes), with a counter when that name is taken.
fn aside(path: &Path) -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let base = format!("{}.damaged-{seconds}", path.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    candidate
}
