//! Snapshots of the whole stack (`devstack snapshot save|load|list|rm|export|import`): the
//! rows of every database, every Redis key, every queue with its messages, taken together and
//! put back together.
//!
//! - [`manifest`]: `manifest.json` — format version, servers' versions, files and checksums.
//! - [`postgres`], [`redis`], [`queues`]: one capture method per component (why each: their
//!   module docs and ARCHITECTURE.md, "Snapshots").
//! - [`library`]: `.devstack/snapshots/NAME/`, written through a staging directory.
//! - [`archive`]: export to and import from one `.tar.gz`.
//! - here: a stack's [`Endpoints`], [`capture`] (all three at once), and a load in two steps —
//!   [`check`] reads and verifies everything and asks each server whether it can take it,
//!   changing nothing; only then [`Checked::restore`] replaces the state.
//!
//! This module knows nothing of running apps: `commands::snapshot` pauses them around a save
//! and stops them around a load, and starts a stopped stack's infrastructure when needed.

pub mod archive;
pub mod library;
pub mod manifest;
pub mod postgres;
pub mod queues;
pub mod redis;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use manifest::Manifest;

/// Why a snapshot could not be taken, read or loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Postgres or its tools failed.
    #[error("postgres: {0}")]
    Postgres(String),
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(String),
    /// The SQS emulator failed.
    #[error("sqs: {0}")]
    Sqs(String),
    /// The snapshot cannot be loaded here (damaged, foreign, or of a newer format or server);
    /// the message says why.
    #[error("{0}")]
    Refused(String),
    /// No snapshot of that name.
    #[error("no snapshot named {0:?} (see `devstack snapshot list`)")]
    NotFound(String),
    /// The name is taken.
    #[error("a snapshot named {0:?} exists; pass --force to replace it")]
    Exists(String),
    /// Not a name a snapshot may have.
    #[error(
        "{0:?} is not a snapshot name: use 1-64 letters, digits, '.', '-' or '_', starting with \
         a letter or a digit"
    )]
    BadName(String),
}

pub(crate) fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where a stack's stateful components answer (their own URLs, not the proxies').
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Postgres (`postgres://user:password@host:port/db`).
    pub postgres: String,
    /// Redis (`redis://:password@host:port`).
    pub redis: String,
    /// The SQS emulator (`http://host:port`).
    pub sqs: String,
}

impl Endpoints {
    /// The endpoints among a stack's components (`name`, `url`).
    pub fn from_components<'a>(
        components: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, SnapshotError> {
        let urls: BTreeMap<&str, &str> = components.into_iter().collect();
        let url = |name: &str| {
            urls.get(name).map(|u| u.to_string()).ok_or_else(|| {
                SnapshotError::Refused(format!("the stack has no {name}, which a snapshot holds"))
            })
        };
        Ok(Self {
            postgres: url("postgres")?,
            redis: url("redis")?,
            sqs: url("sqs")?,
        })
    }
}

/// What a snapshot is taken with besides the endpoints.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Its name.
    pub name: String,
    /// Whether the stack was running.
    pub stack_was_running: bool,
    /// The stack's settings (redacted here before they are written).
    pub settings: BTreeMap<String, String>,
}

/// Captures Postgres, Redis and the emulator concurrently into `dir`, then writes the
/// manifest. The caller makes sure nothing writes meanwhile.
pub async fn capture(
    endpoints: &Endpoints,
    dir: &Path,
    meta: Meta,
) -> Result<Manifest, SnapshotError> {
    let postgres = postgres::Server::from_url(&endpoints.postgres)?;
    let http = reqwest::Client::new();
    let (postgres, redis, sqs) = tokio::try_join!(
        postgres::dump(&postgres, dir),
        redis::dump(&endpoints.redis, dir),
        queues::dump(&http, &endpoints.sqs, dir),
    )?;
    let manifest = Manifest {
        format_version: manifest::FORMAT_VERSION,
        name: meta.name,
        created_at: chrono::Utc::now(),
        created_by: format!("devstack {}", env!("CARGO_PKG_VERSION")),
        stack_was_running: meta.stack_was_running,
        settings: meta
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), crate::launch::external::redact(v)))
            .collect(),
        postgres,
        redis,
        sqs,
    };
    manifest.write(dir)?;
    Ok(manifest)
}

/// A snapshot read, verified and accepted by the servers, ready to load.
#[derive(Debug)]
pub struct Checked {
    dir: PathBuf,
    manifest: Manifest,
    postgres: postgres::Server,
    redis_entries: Vec<redis::Entry>,
    sqs_image: Vec<u8>,
}

/// Reads snapshot `dir`, verifies every file against its manifest, and asks each server
/// whether it can load its part. Changes nothing.
pub async fn check(endpoints: &Endpoints, dir: &Path) -> Result<Checked, SnapshotError> {
    let manifest = Manifest::read(dir)?;
    for part in manifest.files() {
        part.verify(dir, &manifest.name)?;
    }
    let postgres = postgres::Server::from_url(&endpoints.postgres)?;
    postgres::check(&postgres, &manifest.postgres, dir).await?;
    let redis_entries = redis::check(&endpoints.redis, dir, &manifest.redis).await?;
    let sqs_image = queues::check(dir, &manifest.sqs)?;
    queues::probe(&reqwest::Client::new(), &endpoints.sqs).await?;
    Ok(Checked {
        dir: dir.to_path_buf(),
        manifest,
        postgres,
        redis_entries,
        sqs_image,
    })
}

impl Checked {
    /// The snapshot's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Replaces the stack's state with the snapshot's, all three components at once. The
    /// caller makes sure nothing writes meanwhile (the apps are stopped).
    pub async fn restore(self, endpoints: &Endpoints) -> Result<Manifest, SnapshotError> {
        let http = reqwest::Client::new();
        tokio::try_join!(
            postgres::restore(&self.postgres, &self.manifest.postgres, &self.dir),
            redis::restore(&endpoints.redis, &self.redis_entries),
            queues::restore(
                &http,
                &endpoints.sqs,
                self.sqs_image,
                self.manifest.sqs.taken_at_ms
            ),
        )?;
        Ok(self.manifest)
    }
}
