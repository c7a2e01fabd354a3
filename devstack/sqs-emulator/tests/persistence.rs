//! Persistence through the real SDK: what a restart keeps (queues, attributes, tags, messages,
//! receive counts, delays, FIFO order and deduplication), compaction while serving, a torn
//! journal end, and the data directory's lock. The crash (`kill -9`) test runs the real binary:
//! `devstack/tests/sqs_crash.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use sqs_emulator::persist::{FsyncPolicy, PersistOptions};
use sqs_emulator::server::Emulator;

use common::{TestSqs, client_for};

async fn start_at(dir: &Path, fsync: FsyncPolicy, compact_after: u64) -> TestSqs {
    let options = PersistOptions {
        dir: dir.to_path_buf(),
        fsync,
        compact_after,
        repair: false,
    };
    let emulator = Emulator::builder()
        .persist(options)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = client_for(&emulator.endpoint());
    TestSqs { emulator, client }
}

async fn url_of(sqs: &TestSqs, name: &str) -> String {
    sqs.client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn receive_all(sqs: &TestSqs, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let got = sqs
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

fn receive_count(message: &aws_sdk_sqs::types::Message) -> u32 {
    message.attributes().unwrap()
        [&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount]
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_queues_messages_and_receive_counts() {
    let dir = tempfile::tempdir().unwrap();
    let sqs = start_at(dir.path(), FsyncPolicy::Always, 64 << 20).await;
    let dlq = sqs.create("orders-dlq").await;
    let dlq_arn = sqs.arn(&dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}"#);
    let orders = sqs
        .client
        .create_queue()
        .queue_name("orders")
        .attributes(QueueAttributeName::RedrivePolicy, &policy)
        .attributes(QueueAttributeName::VisibilityTimeout, "45")
        .tags("team", "payments")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let gone = sqs.create("gone").await;
    sqs.client
        .delete_queue()
        .queue_url(&gone)
        .send()
        .await
        .unwrap();
    for i in 0..30 {
        sqs.client
            .send_message()
            .queue_url(&orders)
            .message_body(format!("order-{i}"))
            .send()
            .await
            .unwrap();
    }
    sqs.client
        .send_message()
        .queue_url(&orders)
        .message_body("later")
        .delay_seconds(900)
        .send()
        .await
        .unwrap();
    // Receive 10 (in flight at the crash), delete 5 of them.
    let received = sqs
        .client
        .receive_message()
        .queue_url(&orders)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    assert_eq!(received.len(), 10);
    for m in &received[..5] {
        sqs.client
            .delete_message()
            .queue_url(&orders)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    let deleted: BTreeSet<String> = received[..5]
        .iter()
        .map(|m| m.body().unwrap().to_string())
        .collect();
    let in_flight: BTreeSet<String> = received[5..]
        .iter()
        .map(|m| m.body().unwrap().to_string())
        .collect();
    let stale_handle = received[5].receipt_handle().unwrap().to_string();
    sqs.emulator.shutdown().await.unwrap();

    let sqs = start_at(dir.path(), FsyncPolicy::Always, 64 << 20).await;
    let recovery = sqs.emulator.recovery().cloned().unwrap();
    assert_eq!(recovery.queues, 2, "{recovery:?}");
    let names: Vec<String> = sqs
        .client
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["orders", "orders-dlq"],
        "the deleted queue stays deleted"
    );
    let orders = url_of(&sqs, "orders").await;
    assert_eq!(sqs.attribute(&orders, "VisibilityTimeout").await, "45");
    assert!(
        sqs.attribute(&orders, "RedrivePolicy")
            .await
            .contains(&dlq_arn)
    );
    let tags = sqs
        .client
        .list_queue_tags()
        .queue_url(&orders)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().unwrap()["team"], "payments");
    // In-flight messages are visible again; the delayed one is still delayed.
    assert_eq!(
        sqs.attribute(&orders, "ApproximateNumberOfMessages").await,
        "25"
    );
    assert_eq!(
        sqs.attribute(&orders, "ApproximateNumberOfMessagesNotVisible")
            .await,
        "0"
    );
    assert_eq!(
        sqs.attribute(&orders, "ApproximateNumberOfMessagesDelayed")
            .await,
        "1"
    );
    // A handle from before the restart deletes nothing.
    sqs.client
        .delete_message()
        .queue_url(&orders)
        .receipt_handle(&stale_handle)
        .send()
        .await
        .unwrap();
    let all = receive_all(&sqs, &orders).await;
    assert_eq!(all.len(), 25);
    for m in &all {
        let body = m.body().unwrap();
        assert!(
            !deleted.contains(body),
            "{body} was deleted before the restart"
        );
        let expected = if in_flight.contains(body) { 2 } else { 1 };
        assert_eq!(receive_count(m), expected, "receive count of {body}");
    }
    sqs.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_order_and_deduplication_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sqs = start_at(dir.path(), FsyncPolicy::Always, 64 << 20).await;
    let url = sqs
        .client
        .create_queue()
        .queue_name("jobs.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let sent = sqs
            .client
            .send_message()
            .queue_url(&url)
            .message_body(format!("step-{i}"))
            .message_group_id("g")
            .send()
            .await
            .unwrap();
        ids.push(sent.message_id.unwrap());
    }
    sqs.emulator.shutdown().await.unwrap();

    let sqs = start_at(dir.path(), FsyncPolicy::Always, 64 << 20).await;
    let again = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("step-0")
        .message_group_id("g")
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.message_id(),
        Some(ids[0].as_str()),
        "deduplicated across the restart"
    );
    let bodies: Vec<String> = receive_fifo_in_order(&sqs, &url).await;
    assert_eq!(bodies, ["step-0", "step-1", "step-2", "step-3", "step-4"]);
    sqs.emulator.shutdown().await.unwrap();
}

async fn receive_fifo_in_order(sqs: &TestSqs, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let got = sqs
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return bodies;
        }
        for m in got {
            bodies.push(m.body().unwrap().to_string());
            sqs.client
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_while_serving_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A tiny threshold: the journal is compacted over and over during the run.
    let sqs = start_at(
        dir.path(),
        FsyncPolicy::Interval(std::time::Duration::from_millis(20)),
        4096,
    )
    .await;
    let url = sqs.create("busy").await;
    let mut expected = BTreeSet::new();
    for batch in 0..100 {
        let entries = (0..10)
            .map(|i| {
                let body = format!("m-{batch}-{i}");
                expected.insert(body.clone());
                SendMessageBatchRequestEntry::builder()
                    .id(format!("e{i}"))
                    .message_body(body)
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        sqs.client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
        if batch % 10 == 9 {
            sqs.emulator.compact().await.unwrap();
            // Delete one message per ten batches, so removals cross generations too.
            let m = sqs
                .client
                .receive_message()
                .queue_url(&url)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap()
                .remove(0);
            expected.remove(m.body().unwrap());
            sqs.client
                .delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        files.iter().filter(|f| f.starts_with("snapshot-")).count() == 1,
        "older generations are deleted: {files:?}"
    );
    sqs.emulator.shutdown().await.unwrap();

    let sqs = start_at(dir.path(), FsyncPolicy::Always, 64 << 20).await;
    let bodies: BTreeSet<String> = receive_all(&sqs, &url)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_string())
        .collect();
    assert_eq!(bodies.len(), expected.len());
    assert_eq!(bodies, expected);
    sqs.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_journal_end_is_cut_and_the_rest_restored() {
    let dir = tempfile::tempdir().unwrap();
    let sqs = start_at(dir.path(), FsyncPolicy::Always, 64 << 20).await;
    let url = sqs.create("q").await;
    for i in 0..3 {
        sqs.client
            .send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    sqs.emulator.shutdown().await.unwrap();
    let journal = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("journal-")
        })
        .unwrap();
    // Half a frame header, as a crash in the middle of a write leaves it.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(&[200, 0, 0])
        .unwrap();

    let sqs = start_at(dir.path(), FsyncPolicy::Always, 64 << 20).await;
    assert_eq!(sqs.emulator.recovery().unwrap().truncated_bytes, 3);
    let url = url_of(&sqs, "q").await;
    assert_eq!(
        sqs.attribute(&url, "ApproximateNumberOfMessages").await,
        "3"
    );
    sqs.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_emulators_cannot_share_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_at(dir.path(), FsyncPolicy::Always, 64 << 20).await;
    let second = Emulator::builder()
        .persist(PersistOptions::new(dir.path()))
        .bind("127.0.0.1:0".parse().unwrap())
        .await;
    let error = second.err().expect("the second emulator is refused");
    assert!(
        error.to_string().contains("in use by another emulator"),
        "{error}"
    );
    first.emulator.shutdown().await.unwrap();
}
