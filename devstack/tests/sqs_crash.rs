//! `devstack sqs --data-dir` survives `kill -9`: the real binary, 10,000 messages queued
//! through the SDK, some in flight, SIGKILL, restart, and every message is there once, visible
//! again, with its receive count. Run under both fsync policies. Also checks that the queues
//! `devstack.toml` declares exist from the start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use common::BIN;
const MESSAGES: usize = 10_000;
const IN_FLIGHT: usize = 100;

/// Starts `devstack sqs` on a free port and returns it with its endpoint and banner.
fn start(root: &Path, fsync: &str) -> (Child, String, String) {
    let mut child = Command::new(BIN)
        .arg("--root")
        .arg(root)
        .args(["sqs", "--port", "0", "--fsync", fsync, "--data-dir"])
        .arg(root.join("sqs-data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // The declared queues are printed last.
    let (endpoint, banner) = common::sqs_banner(&mut child, |line| line.contains("/orders-dlq"));
    (child, endpoint, banner)
}

async fn attribute(client: &Client, url: &str, name: QueueAttributeName) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&name)
        .unwrap()
}

async fn send_all(client: &Client, url: &str) {
    let bodies: Vec<String> = (0..MESSAGES).map(|i| format!("message-{i}")).collect();
    devstack::testing::send_in_batches(client, url, &bodies)
        .await
        .unwrap();
}

/// Receives everything, returning each body with its receive count.
async fn receive_all(client: &Client, url: &str, limit: usize) -> BTreeMap<String, u32> {
    let mut seen = BTreeMap::new();
    while seen.len() < limit {
        let got = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            break;
        }
        for m in got {
            let count = m.attributes().unwrap()
                [&MessageSystemAttributeName::ApproximateReceiveCount]
                .parse()
                .unwrap();
            let body = m.body().unwrap().to_string();
            assert!(
                seen.insert(body.clone(), count).is_none(),
                "{body} delivered twice"
            );
        }
    }
    seen
}

async fn survives_kill_9(fsync: &str) {
    let root = tempfile::tempdir().unwrap();
    let (mut child, endpoint, banner) = start(root.path(), fsync);
    assert!(banner.contains("restored 0 queues"), "{banner}");
    let sqs = devstack::launch::sqs::client(&endpoint);
    // Declared by default (no devstack.toml): orders, with orders-dlq as its DLQ.
    let url = sqs
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    assert!(
        attribute(&sqs, &url, QueueAttributeName::RedrivePolicy)
            .await
            .contains("orders-dlq")
    );

    send_all(&sqs, &url).await;
    let in_flight = receive_all(&sqs, &url, IN_FLIGHT).await;
    assert_eq!(in_flight.len(), IN_FLIGHT);

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let (mut child, endpoint, banner) = start(root.path(), fsync);
    assert!(banner.contains("restored 2 queues"), "{banner}");
    let sqs = devstack::launch::sqs::client(&endpoint);
    let url = sqs
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    assert_eq!(
        attribute(&sqs, &url, QueueAttributeName::ApproximateNumberOfMessages).await,
        MESSAGES.to_string(),
        "every message is back, the in-flight ones visible again"
    );
    let all = receive_all(&sqs, &url, MESSAGES + 1).await;
    assert_eq!(all.len(), MESSAGES);
    for i in 0..MESSAGES {
        let body = format!("message-{i}");
        let expected = if in_flight.contains_key(&body) { 2 } else { 1 };
        assert_eq!(all.get(&body), Some(&expected), "{body}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_survive_kill_9_with_fsync_always() {
    survives_kill_9("always").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_survive_kill_9_with_fsync_every_100ms() {
    survives_kill_9("100ms").await;
}
