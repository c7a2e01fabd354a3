//! Test support: one stack per test binary, a fresh database and fresh queues per test, no
//! Docker.
//!
//! ```no_run
//! # async fn example() {
//! static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations");
//! let stack = devstack::testing::TestStack::shared(&MIGRATOR);
//! let db = stack.fresh_database().await.unwrap();     // cloned from the migrated template
//! let queues = stack.fresh_queues().await.unwrap();   // a queue and its DLQ, unique names
//! # let _ = (db.url, queues.queue_url);
//! # }
//! ```
//!
//! The stack (ephemeral Postgres, Redis and the embedded SQS emulator on free ports) starts on
//! first use and runs on its own thread and tokio runtime, so it outlives each test's runtime.
//! It is never dropped: when the test binary exits, the watchdogs of [`crate::process`] stop the
//! servers and remove the data. Tests run in parallel without interfering: each database is a
//! `CREATE DATABASE … TEMPLATE` clone of a template migrated once with the caller's
//! migrations (devstack knows nothing of the schema), and queue names carry a unique suffix.
//! Redis is shared: tests that use it should prefix their keys.
//!
//! A test can also start from a snapshot (`devstack snapshot save`):
//! [`TestStack::from_snapshot`] gives it its own copy — databases cloned from templates
//! restored once per snapshot, copies of the snapshot's queues with their messages, a Redis
//! logical database holding its keys (see `from_snapshot.rs`).

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::mpsc;

use sqlx::migrate::Migrator;
use sqlx::{Connection as _, Executor as _, PgConnection};

use crate::config::{DeadLetter, QueueDeclaration};
use crate::launch::sqs;
use crate::stack::{Silent, Stack, StackOptions};

mod from_snapshot;
pub use from_snapshot::SnapshotCopy;

/// The template database every fresh database is cloned from.
pub const TEMPLATE_DATABASE: &str = "slipway_template";

/// Why the test stack could not give what was asked.
#[derive(Debug, thiserror::Error)]
pub enum TestStackError {
    /// Postgres refused.
    #[error("postgres: {0}")]
    Postgres(#[from] sqlx::Error),
    /// SQS refused.
    #[error("sqs: {0}")]
    Sqs(String),
    /// The snapshot could not be read or loaded.
    #[error("snapshot: {0}")]
    Snapshot(#[from] crate::snapshot::SnapshotError),
}

/// The shared stack of a test binary.
#[derive(Debug, Clone)]
pub struct TestStack {
    admin_url: String,
    database_base: String,
    redis_url: String,
    sqs_endpoint: String,
    env: BTreeMap<String, String>,
}

/// A database of one's own.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

/// A queue and its dead-letter queue of one's own.
#[derive(Debug, Clone)]
pub struct TestQueues {
    /// The queue's URL.
    pub queue_url: String,
    /// The DLQ's URL.
    pub dlq_url: String,
    /// A client for the emulator.
    pub client: aws_sdk_sqs::Client,
}

static SHARED: OnceLock<Result<TestStack, String>> = OnceLock::new();

impl TestStack {
    /// The stack of this test binary, started on first call with `migrator` applied to the
    /// template database. Panics with the reason when it cannot start (a test cannot go on).
    pub fn shared(migrator: &'static Migrator) -> &'static TestStack {
        match Self::try_shared(migrator) {
            Ok(stack) => stack,
            Err(reason) => panic!("devstack test stack could not start: {reason}"),
        }
    }

    /// As [`shared`](Self::shared), returning the reason instead of panicking.
    pub fn try_shared(migrator: &'static Migrator) -> Result<&'static TestStack, String> {
        SHARED
            .get_or_init(|| start_in_background(migrator))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A new database, a clone of the migrated template.
    pub async fn fresh_database(&self) -> Result<TestDatabase, TestStackError> {
        self.clone_database(TEMPLATE_DATABASE).await
    }

    /// A new database, a `CREATE DATABASE … TEMPLATE` clone of `template`.
    async fn clone_database(&self, template: &str) -> Result<TestDatabase, TestStackError> {
        // CREATE DATABASE … TEMPLATE fails while another session uses the template, which
        // includes a concurrent CREATE DATABASE from it: one at a time.
        static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let _one_at_a_time = CREATING.lock().await;
        let mut conn = PgConnection::connect(&self.admin_url).await?;
        let fast = format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY"#);
        if conn.execute(fast.as_str()).await.is_err() {
            // Postgres before 15 has no STRATEGY.
            conn.execute(format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#).as_str())
                .await?;
        }
        let _ = conn.close().await;
        Ok(TestDatabase {
            url: format!("{}/{name}", self.database_base),
            name,
        })
    }

    /// A new queue with a DLQ after 5 receives.
    pub async fn fresh_queues(&self) -> Result<TestQueues, TestStackError> {
        self.fresh_queues_with(5).await
    }

    /// A new queue with a DLQ after `max_receive_count` receives.
    pub async fn fresh_queues_with(
        &self,
        max_receive_count: u32,
    ) -> Result<TestQueues, TestStackError> {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let suffix = &suffix[..12];
        let declarations = [
            QueueDeclaration {
                name: "dlq".into(),
                attributes: BTreeMap::new(),
                dead_letter: None,
            },
            QueueDeclaration {
                name: "queue".into(),
                attributes: BTreeMap::new(),
                dead_letter: Some(DeadLetter {
                    queue: "dlq".into(),
                    max_receive_count,
                }),
            },
        ];
        let client = sqs::client(&self.sqs_endpoint);
        let urls = sqs::create_queues_with(&client, &declarations, |name| {
            format!("test-{name}-{suffix}")
        })
        .await
        .map_err(|e| TestStackError::Sqs(e.to_string()))?;
        let url = |name: &str| urls.get(name).cloned().unwrap_or_default();
        Ok(TestQueues {
            queue_url: url("queue"),
            dlq_url: url("dlq"),
            client,
        })
    }

    /// `redis://…` of the shared Redis.
    pub fn redis_url(&self) -> &str {
        &self.redis_url
    }

    /// The SQS emulator's endpoint.
    pub fn sqs_endpoint(&self) -> &str {
        &self.sqs_endpoint
    }

    /// The URL of the `postgres` maintenance database.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The environment a service under test needs for `database` and `queues`.
    pub fn env_for(
        &self,
        database: &TestDatabase,
        queues: &TestQueues,
    ) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        env.insert("DATABASE_URL".into(), database.url.clone());
        env.insert("SQS_QUEUE_URL".into(), queues.queue_url.clone());
        env.insert("SQS_DLQ_URL".into(), queues.dlq_url.clone());
        env
    }
}

fn start_in_background(migrator: &'static Migrator) -> Result<TestStack, String> {
    let (ready, started) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("devstack-test-stack".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(format!("cannot build a tokio runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                match start(migrator).await {
                    Ok((stack, test_stack)) => {
                        let _ = ready.send(Ok(test_stack));
                        // Keep the stack (and the emulator's server task) alive for the whole binary.
                        std::future::pending::<()>().await;
                        drop(stack);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            });
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start the stack thread: {e}"));
    }
    started
        .recv()
        .map_err(|_| "the stack thread ended before the stack was ready".to_string())?
}

async fn start(migrator: &'static Migrator) -> Result<(Stack, TestStack), String> {
    let stack = Stack::start(&StackOptions::ephemeral_on_free_ports(), &Silent)
        .await
        .map_err(|e| e.to_string())?;
    let env = stack.env().clone();
    let database_url = env.get("DATABASE_URL").cloned().unwrap_or_default();
    let database_base = database_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .unwrap_or_default();
    let admin_url = format!("{database_base}/postgres");
    let template_url = format!("{database_base}/{TEMPLATE_DATABASE}");
    crate::launch::postgres::create_database_if_missing(&admin_url, TEMPLATE_DATABASE)
        .await
        .map_err(|e| e.to_string())?;
    let mut conn = PgConnection::connect(&template_url)
        .await
        .map_err(|e| format!("template database: {e}"))?;
    migrator
        .run(&mut conn)
        .await
        .map_err(|e| format!("migrating the template database: {e}"))?;
    let _ = conn.close().await;
    let test_stack = TestStack {
        admin_url,
        database_base,
        redis_url: env.get("REDIS_URL").cloned().unwrap_or_default(),
        sqs_endpoint: env.get("AWS_ENDPOINT_URL").cloned().unwrap_or_default(),
        env,
    };
    Ok((stack, test_stack))
}

/// Whether this run is CI's (`CI` set to anything but `false`/`0`, as CI systems set it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A test cannot run here for want of `reason` (a tool, a user). On a developer's machine
/// it says so and the test returns; under CI it fails, because there a missing tool is a
/// broken install, not an excuse. Call it and `return` when it returns.
///
/// # Panics
/// Under CI, always.
pub fn missing_tool(reason: &str) {
    assert!(
        !in_ci(),
        "{reason} — CI is set, so this is a failure, not a skip (install it; .ci/run does)"
    );
    eprintln!("SKIPPED: {reason}");
}

/// Sends `bodies` to `queue_url` in batches of 10, at most 16 batches at a time: how tests fill
/// a queue quickly. Fails on the first refused batch or entry.
pub async fn send_in_batches(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    bodies: &[String],
) -> Result<(), TestStackError> {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    let mut pending = tokio::task::JoinSet::new();
    let mut outcome = Ok(());
    for chunk in bodies.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("e{i}"))
                    .message_body(body)
                    .build()
                    .map_err(|e| TestStackError::Sqs(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (client, url) = (client.clone(), queue_url.to_string());
        pending.spawn(async move {
            let sent = client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    TestStackError::Sqs(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
                })?;
            match sent.failed().first() {
                Some(failed) => Err(TestStackError::Sqs(format!(
                    "batch entry refused: {failed:?}"
                ))),
                None => Ok(()),
            }
        });
        while pending.len() >= 16 {
            if let Some(done) = pending.join_next().await {
                outcome = outcome.and(done.map_err(|e| TestStackError::Sqs(e.to_string()))?);
            }
        }
    }
    while let Some(done) = pending.join_next().await {
        outcome = outcome.and(done.map_err(|e| TestStackError::Sqs(e.to_string()))?);
    }
    outcome
}
