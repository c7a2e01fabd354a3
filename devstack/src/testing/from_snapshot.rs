//! [`TestStack::from_snapshot`]: a test's own copy of a snapshot (`devstack snapshot save`),
//! as `fresh_database` is a test's own copy of the migrated template.
//!
//! The first call for a snapshot verifies it (every file against its manifest) and restores
//! each of its databases once into a template database (`pg_restore`); every call then
//! clones those templates (`CREATE DATABASE … TEMPLATE`, a file copy), adds copies of the
//! snapshot's queues with their messages under names with a unique suffix
//! (`POST /_slipway/snapshot?suffix=…`), and restores the snapshot's Redis keys (those of its
//! logical database 0) into a logical database of the test's own (a native Redis has
//! [`crate::launch::redis::DATABASES`]). Tests running in parallel never see each other's
//! copies, and none of them changes the snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::{TestDatabase, TestStack, TestStackError};
use crate::snapshot::manifest::Manifest;
use crate::snapshot::{SnapshotError, library::Library, postgres, queues, redis};

/// A test's own copy of a snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotCopy {
    /// Each database of the snapshot, by its name there, as a fresh clone.
    pub databases: BTreeMap<String, TestDatabase>,
    /// Each queue of the snapshot, by its name there: its copy's URL.
    pub queue_urls: BTreeMap<String, String>,
    /// A Redis logical database of the test's own, holding the snapshot's keys.
    pub redis_url: String,
    /// A client for the emulator.
    pub client: aws_sdk_sqs::Client,
    /// The settings a service under test needs: the stack's, with `DATABASE_URL`,
    /// `REDIS_URL`, `SQS_QUEUE_URL` and `SQS_DLQ_URL` pointing at this copy (matched by the
    /// names in the snapshot's own settings).
    pub env: BTreeMap<String, String>,
}

/// A snapshot verified and restored into templates, once per test binary.
#[derive(Debug)]
struct Prepared {
    manifest: Manifest,
    /// The snapshot's database name → the template restored from it.
    templates: BTreeMap<String, String>,
    image: Vec<u8>,
    redis: Vec<redis::Entry>,
}

static PREPARED: tokio::sync::Mutex<BTreeMap<PathBuf, Arc<Prepared>>> =
    tokio::sync::Mutex::const_new(BTreeMap::new());

/// The next Redis logical database to hand out (0 is the shared one).
static NEXT_REDIS_DB: AtomicI64 = AtomicI64::new(1);

impl TestStack {
    /// A copy of snapshot `snapshot` for this test: a name (looked up in the workspace's
    /// `.devstack/snapshots/`) or a path to a snapshot's directory.
    pub async fn from_snapshot(&self, snapshot: &str) -> Result<SnapshotCopy, TestStackError> {
        let dir = snapshot_dir(snapshot)?;
        let prepared = self.prepared(&dir).await?;
        let mut databases = BTreeMap::new();
        for (name, template) in &prepared.templates {
            databases.insert(name.clone(), self.clone_database(template).await?);
        }
        let queue_urls = self
            .copy_queues(&prepared.image, prepared.manifest.sqs.taken_at_ms)
            .await?;
        let redis_url = self.redis_copy(&prepared.redis).await?;
        let env = self.env_of_copy(&prepared.manifest, &databases, &queue_urls, &redis_url);
        Ok(SnapshotCopy {
            databases,
            queue_urls,
            redis_url,
            client: crate::launch::sqs::client(&self.sqs_endpoint),
            env,
        })
    }

    async fn prepared(&self, dir: &Path) -> Result<Arc<Prepared>, TestStackError> {
        let mut prepared = PREPARED.lock().await;
        if let Some(found) = prepared.get(dir) {
            return Ok(found.clone());
        }
        let manifest = Manifest::read(dir)?;
        for part in manifest.files() {
            part.verify(dir, &manifest.name)?;
        }
        let server = postgres::Server::from_url(&self.admin_url)?;
        let mut templates = BTreeMap::new();
        for database in &manifest.postgres.databases {
            let template = format!("snapshot_{}", uuid::Uuid::new_v4().simple());
            let archive = dir.join(&database.file.path);
            postgres::restore_as(&server, &archive, &template).await?;
            templates.insert(database.name.clone(), template);
        }
        let image = queues::check(dir, &manifest.sqs)?;
        let redis = redis::read(dir, &manifest.redis)?;
        let found = Arc::new(Prepared {
            manifest,
            templates,
            image,
            redis,
        });
        prepared.insert(dir.to_path_buf(), found.clone());
        Ok(found)
    }

    /// Copies of the image's queues: their names there → the copies' URLs.
    async fn copy_queues(
        &self,
        image: &[u8],
        taken_at_ms: Option<u64>,
    ) -> Result<BTreeMap<String, String>, TestStackError> {
        let suffix = format!("-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        // The suffix is letters, digits and '-': nothing to escape.
        let mut url = format!(
            "{}/_slipway/snapshot?suffix={suffix}",
            self.sqs_endpoint.trim_end_matches('/')
        );
        if let Some(taken_at) = taken_at_ms {
            url.push_str(&format!("&taken_at_ms={taken_at}"));
        }
        let response = reqwest::Client::new()
            .post(url)
            .body(image.to_vec())
            .send()
            .await
            .map_err(|e| TestStackError::Sqs(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| TestStackError::Sqs(e.to_string()))?;
        if !status.is_success() {
            return Err(TestStackError::Sqs(format!(
                "copying the queues: {status}: {text}"
            )));
        }
        #[derive(serde::Deserialize)]
        struct Copied {
            queues: Vec<Queue>,
        }
        #[derive(serde::Deserialize)]
        struct Queue {
            from: String,
            name: String,
        }
        let copied: Copied =
            serde_json::from_str(&text).map_err(|e| TestStackError::Sqs(e.to_string()))?;
        let client = crate::launch::sqs::client(&self.sqs_endpoint);
        let mut urls = BTreeMap::new();
        for queue in copied.queues {
            let found = client.get_queue_url().queue_name(&queue.name).send().await;
            let found = found.map_err(|e| {
                TestStackError::Sqs(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
            })?;
            urls.insert(
                queue.from,
                found.queue_url().unwrap_or_default().to_string(),
            );
        }
        Ok(urls)
    }

    /// A logical database of the test's own, holding the snapshot's database-0 keys.
    async fn redis_copy(&self, entries: &[redis::Entry]) -> Result<String, TestStackError> {
        let db = NEXT_REDIS_DB.fetch_add(1, Ordering::Relaxed);
        let limit = i64::from(crate::launch::redis::DATABASES);
        if db >= limit {
            return Err(SnapshotError::Redis(format!(
                "more than {} snapshot copies in one test binary: Redis has {limit} logical databases",
                limit - 1
            ))
            .into());
        }
        let keys: Vec<&redis::Entry> = entries.iter().filter(|e| e.db == 0).collect();
        redis::restore_into(&self.redis_url, db, &keys).await?;
        Ok(format!("{}/{db}", self.redis_url.trim_end_matches('/')))
    }

    fn env_of_copy(
        &self,
        manifest: &Manifest,
        databases: &BTreeMap<String, TestDatabase>,
        queue_urls: &BTreeMap<String, String>,
        redis_url: &str,
    ) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        env.insert("REDIS_URL".into(), redis_url.to_string());
        let named = |key: &str| manifest.settings.get(key).and_then(|url| last_segment(url));
        let database = named("DATABASE_URL")
            .and_then(|name| databases.get(&name))
            .or_else(|| {
                (databases.len() == 1)
                    .then(|| databases.values().next())
                    .flatten()
            });
        if let Some(database) = database {
            env.insert("DATABASE_URL".into(), database.url.clone());
        }
        for key in ["SQS_QUEUE_URL", "SQS_DLQ_URL"] {
            if let Some(url) = named(key).and_then(|name| queue_urls.get(&name)) {
                env.insert(key.into(), url.clone());
            }
        }
        env
    }
}

/// A name in the workspace's `.devstack/snapshots/`, or a path.
fn snapshot_dir(snapshot: &str) -> Result<PathBuf, TestStackError> {
    if snapshot.contains('/') {
        return Ok(PathBuf::from(snapshot));
    }
    let start = std::env::current_dir().map_err(|e| SnapshotError::Io {
        path: PathBuf::from("."),
        source: e,
    })?;
    let paths = crate::paths::Paths::discover(&start);
    Ok(Library::new(paths.snapshots_dir()).existing(snapshot)?)
}

/// `slipway` of `postgres://…/slipway?x=y`; `orders` of `http://…/000000000000/orders`.
fn last_segment(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let (_, last) = path.rsplit_once('/')?;
    (!last.is_empty()).then(|| last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_segment_names_the_database_or_the_queue() {
        assert_eq!(
            last_segment("postgres://u:p@h:1/slipway?sslmode=disable").as_deref(),
            Some("slipway")
        );
        assert_eq!(
            last_segment("http://127.0.0.1:9324/000000000000/orders").as_deref(),
            Some("orders")
        );
        assert_eq!(last_segment("redis://h:1/"), None);
    }
}
