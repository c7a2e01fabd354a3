//! Following a log file as it grows (`devstack logs -f`, the service's echo in `up`). Reads
//! what was appended since the last look; a file that became shorter was rotated (copied
//! aside and truncated, see [`super::files::rotate_if_larger`]), so reading starts again at
//! its beginning. Polling a handful of files every few hundred milliseconds is what `tail -f`
//! does; a change notification would buy nothing here.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

/// A file being followed.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    position: u64,
    pending: String,
}

impl Tail {
    /// Follows `path` from its current end (`from_start`: from its beginning).
    pub fn new(path: &Path, from_start: bool) -> Self {
        let position = if from_start {
            0
        } else {
            std::fs::metadata(path).map_or(0, |m| m.len())
        };
        Self {
            path: path.to_path_buf(),
            position,
            pending: String::new(),
        }
    }

    /// The whole lines appended since the last call (a partial last line waits for its end).
    pub fn new_lines(&mut self) -> Vec<String> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let length = file.metadata().map_or(0, |m| m.len());
        if length < self.position {
            self.position = 0;
            self.pending.clear();
        }
        let mut chunk = Vec::new();
        if file.seek(SeekFrom::Start(self.position)).is_err()
            || file.read_to_end(&mut chunk).is_err()
        {
            return Vec::new();
        }
        self.position += chunk.len() as u64;
        self.pending.push_str(&String::from_utf8_lossy(&chunk));
        let mut lines = Vec::new();
        while let Some(end) = self.pending.find('\n') {
            lines.push(self.pending[..end].to_string());
            self.pending.drain(..=end);
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn appended_lines_are_read_once_and_a_rotation_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        std::fs::write(&path, "old\n").unwrap();
        let mut tail = Tail::new(&path, false);
        assert!(tail.new_lines().is_empty());
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"one\ntw").unwrap();
        assert_eq!(tail.new_lines(), ["one"]);
        file.write_all(b"o\n").unwrap();
        assert_eq!(tail.new_lines(), ["two"]);
        file.set_len(0).unwrap();
        file.write_all(b"after\n").unwrap();
        assert_eq!(tail.new_lines(), ["after"]);
        assert_eq!(Tail::new(&path, true).new_lines(), ["after"]);
    }
}
