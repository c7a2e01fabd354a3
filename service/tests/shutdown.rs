//! SIGTERM during processing, with the real `service` binary: it stops polling, finishes what
//! it holds, releases what it had not started, flushes deletes and exits; a restarted service
//! finishes the rest. Every message applied exactly once (counted in Postgres), none lost.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

const MESSAGES: usize = 300;

fn start_service(env: &std::collections::BTreeMap<String, String>, log: &std::path::Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_service"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env("WORKER_CONCURRENCY", "4")
        .env("WORKER_WORK_MS", "50")
        .env("SQS_WAIT_TIME_SECONDS", "1")
        .env("SHUTDOWN_GRACE_SECONDS", "20")
        .env("LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

async fn counts(pool: &sqlx::PgPool) -> (i64, i64, i64) {
    sqlx::query_as("SELECT count(*) FILTER (WHERE status = 'completed'), COALESCE(sum(processed_count), 0), COALESCE(max(processed_count), 0)::bigint FROM orders")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn sigterm_during_processing_loses_nothing_and_applies_nothing_twice() {
    let stack = common::stack();
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    let env = stack.env_for(&database, &queues);
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let logs = tempfile::tempdir().unwrap();

    for batch in 0..MESSAGES / 10 {
        let entries: Vec<_> = (0..10)
            .map(|i| {
                let body = json!({"type": "order.submitted", "order": {"id": uuid::Uuid::new_v4(), "customer_id": format!("c-{batch}"), "items": [{"sku": "S", "quantity": 1, "unit_price_cents": i}]}});
                SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(body.to_string()).build().unwrap()
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
    }

    let mut first = start_service(&env, &logs.path().join("first.log"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while counts(&pool).await.0 < 40 {
        assert!(
            Instant::now() < deadline,
            "no progress: {}",
            std::fs::read_to_string(logs.path().join("first.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(Pid::from_raw(first.id() as i32), Signal::SIGTERM).unwrap();
    let status = wait_exit(&mut first, Duration::from_secs(25));
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    let (done_at_stop, applied, max) = counts(&pool).await;
    assert!(
        done_at_stop < MESSAGES as i64,
        "stopped mid-way ({done_at_stop} done)"
    );
    assert_eq!(max, 1, "nothing applied twice");
    assert_eq!(applied, done_at_stop);
    let log = std::fs::read_to_string(logs.path().join("first.log")).unwrap();
    assert!(
        log.contains("worker pool stopped"),
        "the pool drained: {log}"
    );

    let mut second = start_service(&env, &logs.path().join("second.log"));
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (done, applied, max) = counts(&pool).await;
        assert_eq!(max.max(1), 1, "nothing applied twice");
        if done == MESSAGES as i64 {
            assert_eq!(
                applied, MESSAGES as i64,
                "each message applied exactly once"
            );
            break;
        }
        assert!(Instant::now() < deadline, "only {done} of {MESSAGES} done");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kill(Pid::from_raw(second.id() as i32), Signal::SIGTERM).unwrap();
    assert!(wait_exit(&mut second, Duration::from_secs(25)).success());
    let dlq = queues
        .client
        .receive_message()
        .queue_url(&queues.dlq_url)
        .send()
        .await
        .unwrap();
    assert!(dlq.messages().is_empty(), "nothing dead-lettered");
}
