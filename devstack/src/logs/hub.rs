//! The merged log stream a running `up` keeps in memory for its control channel (`logs`
//! requests: the TUI's Logs view). A background task follows every `<component>.log` under
//! the log directory — the ones there at start from their end, later ones from their
//! beginning — reads each new line's time and level (the text keeps neither prefix: the
//! reader shows `at_unix_ms` in one format for all), and appends the lines of one look, in
//! time order, to a bounded ring: the oldest lines go first, and each line keeps a sequence
//! number so that a client asks for "everything after the last one I have".

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use slipway_contracts::control::{LogLevel, LogLine};

use super::files::discover;
use super::level::level_of;
use super::line::{render, strip_time, timestamp_of};
use super::tail::Tail;

/// Lines kept in memory.
pub const CAPACITY: usize = 10_000;
/// A longer line is cut to this many bytes (at a character boundary) and marked `…`.
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// Most lines in one answer.
pub const DEFAULT_LIMIT: usize = 2_000;

/// The stream: a ring of the latest lines.
#[derive(Debug)]
pub struct LogHub {
    ring: Mutex<Ring>,
}

#[derive(Debug)]
struct Ring {
    lines: VecDeque<LogLine>,
    next_seq: u64,
    capacity: usize,
}

impl LogHub {
    /// An empty stream keeping at most `capacity` lines.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            ring: Mutex::new(Ring {
                lines: VecDeque::new(),
                next_seq: 1,
                capacity: capacity.max(1),
            }),
        })
    }

    /// Appends lines (their `seq` is assigned here), dropping the oldest past the bound.
    pub fn push(&self, lines: impl IntoIterator<Item = LogLine>) {
        let mut ring = self
            .ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for mut line in lines {
            line.seq = ring.next_seq;
            ring.next_seq += 1;
            if ring.lines.len() == ring.capacity {
                ring.lines.pop_front();
            }
            ring.lines.push_back(line);
        }
    }

    /// The lines after `after`, oldest first, at most `limit`.
    pub fn since(&self, after: u64, limit: usize) -> Vec<LogLine> {
        let ring = self
            .ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = ring.lines.partition_point(|line| line.seq <= after);
        ring.lines.range(start..).take(limit).cloned().collect()
    }
}

/// One followed file: where it is, and the time and level its last line had.
struct Followed {
    tail: Tail,
    at: DateTime<Utc>,
    level: LogLevel,
}

/// Follows the logs in `dir` into `hub`, looking every `every`, until the task is dropped.
pub async fn follow(hub: Arc<LogHub>, dir: PathBuf, every: Duration) {
    let mut followed: BTreeMap<String, Followed> = BTreeMap::new();
    for file in discover(&dir) {
        followed.insert(file.component, new_followed(&file.path, false));
    }
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        hub.push(look(&dir, &mut followed));
    }
}

fn new_followed(path: &Path, from_start: bool) -> Followed {
    Followed {
        tail: Tail::new(path, from_start),
        at: Utc::now(),
        level: LogLevel::Info,
    }
}

/// Reads what every file gained since the last look, merged in time order.
fn look(dir: &Path, followed: &mut BTreeMap<String, Followed>) -> Vec<LogLine> {
    let mut lines = Vec::new();
    for file in discover(dir) {
        let state = followed
            .entry(file.component.clone())
            .or_insert_with(|| new_followed(&file.path, true));
        for text in state.tail.new_lines() {
            if let Some(at) = timestamp_of(&text) {
                state.at = at;
            }
            // A line that states no level continues the one before (Postgres's `DETAIL:` and
            // `STATEMENT:`, a stack trace, the lines under a compiler error).
            if let Some(level) = level_of(&text) {
                state.level = level;
            }
            lines.push(LogLine {
                seq: 0,
                at_unix_ms: state.at.timestamp_millis(),
                component: file.component.clone(),
                level: state.level,
                text: cut(strip_time(&render(&text)).to_string()),
            });
        }
    }
    lines.sort_by_key(|line| line.at_unix_ms);
    lines
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_LINE_BYTES {
        let mut end = MAX_LINE_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn append(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn new_lines_are_merged_in_time_order_with_levels_and_old_ones_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let pg = dir.path().join("postgres.log");
        append(
            &pg,
            "2026-12-02 03:00:00.000 UTC [1] LOG:  from an earlier run\n",
        );
        let mut followed = BTreeMap::new();
        for file in discover(dir.path()) {
            followed.insert(file.component, new_followed(&file.path, false));
        }
        append(
            &pg,
            "2026-12-02 03:00:03.000 UTC [1] ERROR:  relation \"x\" does not exist\n\
             2026-12-02 03:00:03.000 UTC [1] STATEMENT:  select * from x\n",
        );
        append(
            &dir.path().join("service.log"),
            "{\"timestamp\":\"2026-12-02T03:00:02Z\",\"level\":\"WARN\",\"message\":\"slow\"}\n",
        );
        let lines = look(dir.path(), &mut followed);
        let seen: Vec<(&str, LogLevel, &str)> = lines
            .iter()
            .map(|l| (l.component.as_str(), l.level, &l.text[..7]))
            .collect();
        assert_eq!(
            seen,
            [
                ("service", LogLevel::Warn, "WARN  s"),
                ("postgres", LogLevel::Error, "[1] ERR"),
                ("postgres", LogLevel::Error, "[1] STA"),
            ]
        );
        assert!(look(dir.path(), &mut followed).is_empty());
    }

    #[test]
    fn the_ring_is_bounded_and_answers_after_a_sequence_number() {
        let hub = LogHub::new(3);
        let line = |text: &str| LogLine {
            seq: 0,
            at_unix_ms: 0,
            component: "x".into(),
            level: LogLevel::Info,
            text: text.into(),
        };
        hub.push(["a", "b", "c", "d"].map(line));
        let all = hub.since(0, 10);
        assert_eq!(
            all.iter()
                .map(|l| (l.seq, l.text.as_str()))
                .collect::<Vec<_>>(),
            [(2, "b"), (3, "c"), (4, "d")]
        );
        assert_eq!(hub.since(3, 10).len(), 1);
        assert_eq!(hub.since(0, 1)[0].text, "b");
        assert!(hub.since(4, 10).is_empty());
        assert_eq!(
            cut("é".repeat(MAX_LINE_BYTES)).len(),
            MAX_LINE_BYTES + '…'.len_utf8()
        );
    }
}
