//! The worker pool against real infrastructure: poison messages go to the DLQ at once with
//! their reason; a dependency outage is retried with backoff and succeeds once it is back, or
//! ends in the DLQ after maxReceiveCount; `/health` follows the outage.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageSystemAttributeName;
use common::{spawn_app, spawn_app_with, stack};
use devstack::launch::postgres::{NativePostgres, PostgresBinaries, PostgresOptions};
use serde_json::{Value, json};
use sqlx::Connection as _;

async fn wait_until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn submitted(id: uuid::Uuid) -> String {
    json!({"type": "order.submitted", "order": {"id": id, "customer_id": "c-queue", "items": [{"sku": "Q", "quantity": 1, "unit_price_cents": 10}]}}).to_string()
}

#[tokio::test]
async fn a_poison_message_reaches_the_dlq_at_once_with_its_reason() {
    let app = spawn_app(&[]).await;
    let sent = app
        .queues
        .client
        .send_message()
        .queue_url(&app.queues.queue_url)
        .message_body("this is not json")
        .send()
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        "the poison message in the DLQ",
        || async { app.depth(&app.queues.dlq_url).await.0 == 1 },
    )
    .await;
    let dead = app
        .queues
        .client
        .receive_message()
        .queue_url(&app.queues.dlq_url)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    let message = &dead.messages()[0];
    assert_eq!(message.body(), Some("this is not json"));
    let attributes = message.message_attributes().unwrap();
    let reason = attributes["slipway.dead_letter.reason"]
        .string_value()
        .unwrap();
    assert!(reason.contains("undecodable"), "{reason}");
    assert_eq!(
        attributes["slipway.dead_letter.source_queue"].string_value(),
        Some(app.queues.queue_url.as_str())
    );
    assert_eq!(
        attributes["slipway.dead_letter.source_message_id"].string_value(),
        sent.message_id()
    );
    assert!(attributes.contains_key("slipway.dead_letter.failed_at"));
    assert_eq!(
        attributes["slipway.dead_letter.receive_count"].string_value(),
        Some("1"),
        "moved at once, not after retries"
    );
    wait_until(
        Duration::from_secs(5),
        "the source queue to be empty",
        || async { app.depth(&app.queues.queue_url).await == (0, 0) },
    )
    .await;

    // An order.created for an order nobody knows is permanent too.
    let unknown = json!({"type": "order.created", "order_id": uuid::Uuid::new_v4()}).to_string();
    app.queues
        .client
        .send_message()
        .queue_url(&app.queues.queue_url)
        .message_body(unknown)
        .send()
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        "the unknown order in the DLQ",
        || async { app.depth(&app.queues.dlq_url).await.0 == 1 },
    )
    .await;
    app.shutdown().await;
}

/// A Postgres of this test's own, to stop and start.
struct OwnPostgres {
    binaries: PostgresBinaries,
    options: PostgresOptions,
    _dir: tempfile::TempDir,
}

impl OwnPostgres {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let options = PostgresOptions {
            data_dir: dir.path().join("pg"),
            port: devstack::ports::free_port().unwrap(),
            ephemeral: true,
            log: dir.path().join("pg.log"),
            cleanup_on_crash: None,
            password: devstack::secret::generate(),
        };
        Self {
            binaries: PostgresBinaries::find().unwrap(),
            options,
            _dir: dir,
        }
    }

    async fn start(&self) -> NativePostgres {
        NativePostgres::start(&self.binaries, &self.options)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn an_outage_is_retried_with_backoff_and_health_follows_it() {
    let own = OwnPostgres::new();
    let postgres = own.start().await;
    let url = postgres.url();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    service::MIGRATOR.run(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let stack = stack();
    let database = devstack::testing::TestDatabase {
        name: "slipway".into(),
        url: url.clone(),
    };
    let queues = stack.fresh_queues_with(5).await.unwrap();
    let app = spawn_app_with(
        stack,
        database,
        queues,
        &["--database-acquire-timeout-ms", "300"],
    )
    .await;

    postgres.stop().await;
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    let report: Value = health.json().await.unwrap();
    assert_eq!(report["checks"]["postgres"]["status"], "down");
    assert_eq!(report["checks"]["redis"]["status"], "up");
    let create = app.post_order(&common::order_body("c-outage"), None).await;
    assert_eq!(create.status(), 503, "a dependency down is 503, not 500");
    assert_eq!(create.headers()["content-type"], "application/problem+json");

    let id = uuid::Uuid::new_v4();
    app.queues
        .client
        .send_message()
        .queue_url(&app.queues.queue_url)
        .message_body(submitted(id))
        .send()
        .await
        .unwrap();
    // The worker fails, sets a backoff, and the message waits in flight (not deleted, not dead).
    wait_until(Duration::from_secs(10), "a retry with backoff", || async {
        app.depth(&app.queues.queue_url).await == (0, 1)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.depth(&app.queues.dlq_url).await, (0, 0));

    let postgres = own.start().await;
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    wait_until(
        Duration::from_secs(20),
        "the order to complete after the outage",
        || async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let done: Option<(String, i32)> =
                sqlx::query_as("SELECT status, processed_count FROM orders WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut conn)
                    .await
                    .unwrap();
            done == Some(("completed".into(), 1))
        },
    )
    .await;
    app.shutdown().await;
    postgres.stop().await;
}

#[tokio::test]
async fn retries_exhausted_end_in_the_dlq_through_the_redrive_policy() {
    let own = OwnPostgres::new();
    let postgres = own.start().await;
    let url = postgres.url();
    postgres.stop().await;
    let stack = stack();
    let database = devstack::testing::TestDatabase {
        name: "slipway".into(),
        url,
    };
    let queues = stack.fresh_queues_with(1).await.unwrap();
    let app = spawn_app_with(
        stack,
        database,
        queues,
        &["--database-acquire-timeout-ms", "300"],
    )
    .await;
    app.queues
        .client
        .send_message()
        .queue_url(&app.queues.queue_url)
        .message_body(submitted(uuid::Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    // Received once (maxReceiveCount 1), backed off ~1 s; the next receive moves it to the DLQ.
    wait_until(
        Duration::from_secs(15),
        "SQS to move it to the DLQ",
        || async { app.depth(&app.queues.dlq_url).await.0 == 1 },
    )
    .await;
    assert_eq!(app.depth(&app.queues.queue_url).await, (0, 0));
    app.shutdown().await;
}

#[tokio::test]
async fn a_heartbeat_keeps_long_work_invisible() {
    let stack = stack();
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    queues
        .client
        .set_queue_attributes()
        .queue_url(&queues.queue_url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "2",
        )
        .send()
        .await
        .unwrap();
    let app = spawn_app_with(stack, database, queues, &["--worker-work-ms", "3500"]).await;
    let id = uuid::Uuid::new_v4();
    app.queues
        .client
        .send_message()
        .queue_url(&app.queues.queue_url)
        .message_body(submitted(id))
        .send()
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        "the worker to take the message",
        || async { app.depth(&app.queues.queue_url).await == (0, 1) },
    )
    .await;
    // Past the 2 s timeout, the message must stay invisible while the work goes on. A receive
    // with visibility 0 would see it (and leave it visible) if it had come back.
    let watch_until = Instant::now() + Duration::from_millis(3000);
    while Instant::now() < watch_until {
        let seen = app
            .queues
            .client
            .receive_message()
            .queue_url(&app.queues.queue_url)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        assert!(
            seen.messages().is_empty(),
            "the message came back while still being processed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.wait_for_status(&id.to_string(), "completed", Duration::from_secs(10))
        .await;
    let processed: i32 = sqlx::query_scalar("SELECT processed_count FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(processed, 1);
    app.shutdown().await;
}

/// One receive batch holds a poison message, an order whose row refuses writes for now (a
/// trigger raising `lock_not_available`, as a row lock held elsewhere would) and healthy
/// orders. The batch's one statement fails whole, so its messages go one by one: the poison
/// reaches the DLQ at once, the refused order backs off, the healthy ones complete. Once the
/// row accepts writes again the refused order completes too; each order applies once.
#[tokio::test]
async fn in_a_batch_a_poison_message_and_a_transient_failure_stay_with_their_own_messages() {
    let stack = stack();
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    let db = sqlx::PgPool::connect(&database.url).await.unwrap();
    let refused = uuid::Uuid::new_v4();
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
             IF NEW.id = '{refused}' THEN
                 RAISE EXCEPTION 'order % is locked', NEW.id USING ERRCODE = 'lock_not_available';
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_one BEFORE INSERT OR UPDATE ON orders
             FOR EACH ROW EXECUTE FUNCTION refuse_one();"
    ))
    .execute(&db)
    .await
    .unwrap();
    let healthy: Vec<uuid::Uuid> = (0..8).map(|_| uuid::Uuid::new_v4()).collect();
    let mut bodies = vec!["{not json".to_string(), submitted(refused)];
    bodies.extend(healthy.iter().map(|id| submitted(*id)));
    let entries: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .build()
                .unwrap()
        })
        .collect();
    queues
        .client
        .send_message_batch()
        .queue_url(&queues.queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    // Ten messages queued before the pool starts: one receive takes them all.
    let app = spawn_app_with(stack, database, queues, &["--worker-concurrency", "10"]).await;
    let completed = |ids: Vec<uuid::Uuid>| {
        let db = db.clone();
        async move {
            let counts: Vec<i32> = sqlx::query_scalar(
                "SELECT processed_count FROM orders WHERE id = ANY($1) AND status = 'completed'",
            )
            .bind(ids)
            .fetch_all(&db)
            .await
            .unwrap();
            counts
        }
    };
    wait_until(Duration::from_secs(10), "the healthy orders", || async {
        completed(healthy.clone()).await.len() == healthy.len()
    })
    .await;
    wait_until(Duration::from_secs(10), "the poison in the DLQ", || async {
        app.depth(&app.queues.dlq_url).await.0 == 1
    })
    .await;
    // The others deleted (batched, within 50 ms): only the refused one is left, backing off.
    wait_until(
        Duration::from_secs(5),
        "only the refused message left",
        || async { app.depth(&app.queues.queue_url).await == (0, 1) },
    )
    .await;
    assert!(completed(vec![refused]).await.is_empty());

    sqlx::raw_sql("DROP TRIGGER refuse_one ON orders")
        .execute(&db)
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(15),
        "the refused order, retried",
        || async { completed(vec![refused]).await == vec![1] },
    )
    .await;
    let mut all = healthy.clone();
    all.push(refused);
    assert!(
        completed(all).await.iter().all(|n| *n == 1),
        "each order applied once"
    );
    assert_eq!(app.depth(&app.queues.dlq_url).await.0, 1, "only the poison");
    app.shutdown().await;
}
