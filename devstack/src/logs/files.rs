//! The log files of a stack: `<component>.log` under `.devstack/logs/`, and the one older
//! `<component>.log.1` a rotation keeps. Reading them merges every component's lines in time
//! order; [`rotate_if_larger`] keeps each under a size bound while the stack runs.
//!
//! Rotation copies the file aside and truncates it in place ("copytruncate"): the children
//! write with `O_APPEND` through descriptors devstack cannot reopen for them, so the file must
//! stay the same file. A line written between the copy and the truncation can be lost — the
//! price logrotate's `copytruncate` pays too, for a development log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::line::timestamp_of;

/// Past this size a log is rotated: at most twice this per component on disk.
pub const ROTATE_AT_BYTES: u64 = 16 * 1024 * 1024;

/// One component's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// The component (`postgres`, `redis`, `service`, `build`, …).
    pub component: String,
    /// `<component>.log`.
    pub path: PathBuf,
}

impl LogFile {
    /// The rotated older part, `<component>.log.1`.
    pub fn rotated(&self) -> PathBuf {
        self.path.with_extension("log.1")
    }
}

/// The logs in `dir`, by component name.
pub fn discover(dir: &Path) -> Vec<LogFile> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<LogFile> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let component = name.strip_suffix(".log")?.to_string();
            Some(LogFile {
                component,
                path: e.path(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.component.cmp(&b.component));
    files
}

/// A line of one component, with the time it was written (or the time of the line before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When.
    pub at: DateTime<Utc>,
    /// Whose.
    pub component: String,
    /// The line as written.
    pub text: String,
}

/// Every line of `file` (its rotated part first). Lines before the first with a time take
/// the file's modification time.
pub fn read(file: &LogFile) -> Vec<Entry> {
    let mut entries = Vec::new();
    for path in [file.rotated(), file.path.clone()] {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut at = modified(&path);
        let first_stamp = text.lines().find_map(timestamp_of);
        if let Some(first) = first_stamp {
            at = first;
        }
        for line in text.lines() {
            if let Some(stamp) = timestamp_of(line) {
                at = stamp;
            }
            entries.push(Entry {
                at,
                component: file.component.clone(),
                text: line.to_string(),
            });
        }
    }
    entries
}

fn modified(path: &Path) -> DateTime<Utc> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_or_else(|_| Utc::now(), DateTime::<Utc>::from)
}

/// The lines of `files` merged in time order (lines of one file keep their order).
pub fn merged(files: &[LogFile]) -> Vec<Entry> {
    let mut all: Vec<Entry> = files.iter().flat_map(read).collect();
    all.sort_by_key(|e| e.at);
    all
}

/// Copies `path` to `<path>.1` and truncates it when it is larger than `limit` bytes.
/// Returns whether it rotated.
pub fn rotate_if_larger(path: &Path, limit: u64) -> std::io::Result<bool> {
    let length = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if length <= limit {
        return Ok(false);
    }
    std::fs::copy(path, path.with_extension("log.1"))?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(0)?;
    Ok(true)
}

/// Rotates every log in `dir` past `limit` bytes, every `every`, until the task is dropped.
pub async fn keep_bounded(dir: PathBuf, limit: u64, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        for file in discover(&dir) {
            if let Err(error) = rotate_if_larger(&file.path, limit) {
                tracing::warn!(file = %file.path.display(), %error, "cannot rotate a log");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn components_are_merged_in_time_order_and_continuations_follow_their_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("postgres.log"),
            "2026-12-02 03:00:01.000 UTC [1] LOG:  ready\n2026-12-02 03:00:04.000 UTC [1] LOG:  later\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("service.log"),
            "{\"timestamp\":\"2026-12-02T03:00:02Z\",\"level\":\"ERROR\",\"message\":\"boom\"}\n  a continuation\n{\"timestamp\":\"2026-12-02T03:00:03Z\",\"level\":\"INFO\",\"message\":\"ok\"}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a log").unwrap();
        let files = discover(dir.path());
        assert_eq!(
            files
                .iter()
                .map(|f| f.component.as_str())
                .collect::<Vec<_>>(),
            ["postgres", "service"]
        );
        let order: Vec<(String, String)> = merged(&files)
            .into_iter()
            .map(|e| (e.component, e.text.chars().take(12).collect()))
            .collect();
        assert_eq!(
            order,
            [
                ("postgres".into(), "2026-12-02 0".into()),
                ("service".into(), "{\"timestamp\"".into()),
                ("service".into(), "  a continua".into()),
                ("service".into(), "{\"timestamp\"".into()),
                ("postgres".into(), "2026-12-02 0".into()),
            ]
        );
    }

    #[test]
    fn a_large_log_is_rotated_and_the_writer_carries_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redis.log");
        let mut writer = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        writer.write_all(&[b'x'; 100]).unwrap();
        assert!(!rotate_if_larger(&path, 200).unwrap());
        writer.write_all(&[b'y'; 150]).unwrap();
        assert!(rotate_if_larger(&path, 200).unwrap());
        assert_eq!(
            std::fs::metadata(path.with_extension("log.1"))
                .unwrap()
                .len(),
            250
        );
        writer.write_all(b"after\n").unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"after\n",
            "appends land at the new start"
        );
        let file = LogFile {
            component: "redis".into(),
            path,
        };
        assert_eq!(read(&file).len(), 2, "the rotated part is read too");
    }
}
