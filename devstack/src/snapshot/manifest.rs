//! A snapshot's `manifest.json`: its format version, when and by what it was made, the servers'
//! versions, what each component's files hold (with sizes and SHA-256 checksums), and the
//! stack's settings (passwords redacted, since a snapshot travels).
//!
//! The manifest is the first thing read and the only thing trusted before the checks: a
//! format newer than this build's is refused by its number alone, and every file it names
//! must be there with its size and checksum before anything of the running stack is touched.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Component, Path};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::SnapshotError;

/// The manifest's file name inside a snapshot.
pub const FILE: &str = "manifest.json";

/// The snapshot format this build writes and reads. A change to any file's layout or meaning
/// bumps it; older formats are read only where a conversion is written.
pub const FORMAT_VERSION: u32 = 1;

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The snapshot format ([`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
    /// The name it was saved under.
    pub name: String,
    /// When it was taken.
    pub created_at: DateTime<Utc>,
    /// The devstack that took it (`devstack 0.1.0`).
    pub created_by: String,
    /// Whether the stack was running (its apps paused) or stopped.
    pub stack_was_running: bool,
    /// The stack's settings at the time, passwords redacted.
    pub settings: BTreeMap<String, String>,
    /// Postgres.
    pub postgres: PostgresPart,
    /// Redis.
    pub redis: RedisPart,
    /// The SQS emulator.
    pub sqs: SqsPart,
}

/// Postgres: one `pg_dump` archive (custom format) per database the stack made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostgresPart {
    /// `SHOW server_version`.
    pub server_version: String,
    /// `SHOW server_version_num` (160004 is 16.4).
    pub server_version_num: u32,
    /// How it was captured.
    pub method: String,
    /// Every database, with its archive.
    pub databases: Vec<DatabaseFile>,
}

/// One database's archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseFile {
    /// The database's name.
    pub name: String,
    /// Its archive.
    pub file: FilePart,
}

/// Redis: every key of every logical database, as `DUMP` payloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisPart {
    /// `INFO server`'s `redis_version`.
    pub server_version: String,
    /// How many keys.
    pub keys: u64,
    /// The file.
    pub file: FilePart,
}

/// The SQS emulator: its image (`GET /_slipway/snapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqsPart {
    /// The image's data format.
    pub image_format: u32,
    /// How many queues.
    pub queues: usize,
    /// How many messages (in-flight ones included: they come back visible).
    pub messages: usize,
    /// The emulator's clock when the image was taken (ms since the epoch): a load moves the
    /// messages' times forward by the time since, so they are as old as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at_ms: Option<u64>,
    /// The file.
    pub file: FilePart,
}

/// A file of the snapshot, relative to its directory, with what it must still be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePart {
    /// Its path inside the snapshot (`postgres/slipway.dump`).
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

impl FilePart {
    /// Describes the file at `dir/path` as it is now.
    pub fn describe(dir: &Path, path: &str) -> Result<Self, SnapshotError> {
        let (bytes, sha256) = digest(&dir.join(path))?;
        Ok(Self {
            path: path.to_string(),
            bytes,
            sha256,
        })
    }

    /// Checks that the file is still what the manifest says; `snapshot` names it in errors.
    pub fn verify(&self, dir: &Path, snapshot: &str) -> Result<(), SnapshotError> {
        let damaged = |why: String| {
            SnapshotError::Refused(format!(
                "snapshot {snapshot:?} is damaged: {}: {why}; nothing was changed",
                self.path
            ))
        };
        if !is_plain_relative(&self.path) {
            return Err(damaged("not a path inside the snapshot".into()));
        }
        let (bytes, sha256) = match digest(&dir.join(&self.path)) {
            Ok(found) => found,
            Err(SnapshotError::Io { source, .. }) => return Err(damaged(source.to_string())),
            Err(other) => return Err(other),
        };
        if bytes != self.bytes {
            return Err(damaged(format!(
                "{bytes} bytes, the manifest says {}",
                self.bytes
            )));
        }
        if sha256 != self.sha256 {
            return Err(damaged("its SHA-256 is not the manifest's".into()));
        }
        Ok(())
    }
}

impl Manifest {
    /// Every file the snapshot is made of (the manifest aside).
    pub fn files(&self) -> Vec<&FilePart> {
        let mut files: Vec<&FilePart> = self.postgres.databases.iter().map(|d| &d.file).collect();
        files.push(&self.redis.file);
        files.push(&self.sqs.file);
        files
    }

    /// The snapshot's size on disk, the manifest aside.
    pub fn bytes(&self) -> u64 {
        self.files().iter().map(|f| f.bytes).sum()
    }

    /// Writes `dir/manifest.json`.
    pub fn write(&self, dir: &Path) -> Result<(), SnapshotError> {
        let path = dir.join(FILE);
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| SnapshotError::Refused(format!("cannot encode the manifest: {e}")))?;
        std::fs::write(&path, text).map_err(super::io_at(&path))
    }

    /// Reads `dir/manifest.json`, refusing a format this build does not know.
    pub fn read(dir: &Path) -> Result<Self, SnapshotError> {
        let path = dir.join(FILE);
        let text = std::fs::read(&path).map_err(super::io_at(&path))?;
        Self::parse(&text).map_err(|why| {
            SnapshotError::Refused(format!("{}: {why}; nothing was changed", path.display()))
        })
    }

    /// Parses a manifest: its version first, then the rest.
    pub fn parse(text: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Versioned {
            format_version: u32,
        }
        let versioned: Versioned = serde_json::from_slice(text)
            .map_err(|e| format!("not a devstack snapshot manifest ({e})"))?;
        match versioned.format_version {
            FORMAT_VERSION => serde_json::from_slice(text)
                .map_err(|e| format!("a damaged snapshot manifest ({e})")),
            newer if newer > FORMAT_VERSION => Err(format!(
                "snapshot format {newer} was written by a newer devstack; this build reads format \
                 {FORMAT_VERSION}. Upgrade devstack to load it"
            )),
            older => Err(format!(
                "snapshot format {older} is older than any this build reads (format \
                 {FORMAT_VERSION}); load it with the devstack that wrote it and save it again"
            )),
        }
    }
}

/// A path with only normal components: no root, no `..`, nothing empty.
pub fn is_plain_relative(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

fn digest(path: &Path) -> Result<(u64, String), SnapshotError> {
    let mut file = std::fs::File::open(path).map_err(super::io_at(path))?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(super::io_at(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_older_and_foreign_manifests_are_refused_with_the_reason() {
        let newer = Manifest::parse(br#"{"format_version": 9, "whatever": 1}"#).unwrap_err();
        assert!(newer.contains("newer devstack"), "{newer}");
        let older = Manifest::parse(br#"{"format_version": 0}"#).unwrap_err();
        assert!(older.contains("older"), "{older}");
        let foreign = Manifest::parse(br#"{"apiVersion": "v1"}"#).unwrap_err();
        assert!(foreign.contains("not a devstack snapshot"), "{foreign}");
        let damaged = Manifest::parse(br#"{"format_version": 1}"#).unwrap_err();
        assert!(damaged.contains("damaged"), "{damaged}");
    }

    #[test]
    fn only_plain_relative_paths_are_inside_a_snapshot() {
        assert!(is_plain_relative("postgres/slipway.dump"));
        assert!(is_plain_relative("redis.bin"));
        for bad in ["", "/etc/passwd", "../x", "postgres/../../x", "./a"] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
    }

    #[test]
    fn a_changed_file_fails_its_check() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("redis.bin"), b"abc").unwrap();
        let part = FilePart::describe(dir.path(), "redis.bin").unwrap();
        assert_eq!(part.bytes, 3);
        part.verify(dir.path(), "s").unwrap();
        std::fs::write(dir.path().join("redis.bin"), b"abd").unwrap();
        let error = part.verify(dir.path(), "s").unwrap_err().to_string();
        assert!(error.contains("SHA-256"), "{error}");
        std::fs::remove_file(dir.path().join("redis.bin")).unwrap();
        assert!(part.verify(dir.path(), "s").is_err());
    }
}
