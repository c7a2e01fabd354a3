//! Many senders and receivers at once over HTTP with the real SDK: 100,000 messages, each
//! received and deleted, none lost, no duplicate (no visibility timeout expires in this test:
//! the timeout is far longer than the run).

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, SendMessageBatchRequestEntry};

const MESSAGES: usize = 100_000;
const SENDERS: usize = 8;
const RECEIVERS: usize = 8;

/// Bodies seen by receivers, and those seen twice.
#[derive(Default)]
struct Seen {
    bodies: Mutex<HashSet<String>>,
    duplicates: Mutex<Vec<String>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hundred_thousand_messages_none_lost_none_duplicated() {
    let sqs = common::start().await;
    let url = sqs
        .client
        .create_queue()
        .queue_name("load")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "600",
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let seen = Arc::new(Seen::default());
    let deleted = Arc::new(AtomicUsize::new(0));

    let mut tasks = Vec::new();
    for sender in 0..SENDERS {
        let (client, url) = (sqs.client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let per_sender = MESSAGES / SENDERS;
            for batch in 0..per_sender / 10 {
                let entries: Vec<_> = (0..10)
                    .map(|i| {
                        let n = sender * per_sender + batch * 10 + i;
                        SendMessageBatchRequestEntry::builder()
                            .id(format!("e{i}"))
                            .message_body(format!("m-{n}"))
                            .build()
                            .unwrap()
                    })
                    .collect();
                let out = client
                    .send_message_batch()
                    .queue_url(&url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .unwrap();
                assert!(out.failed().is_empty(), "{:?}", out.failed());
            }
        }));
    }
    for _ in 0..RECEIVERS {
        let (client, url, seen, deleted) = (
            sqs.client.clone(),
            url.clone(),
            seen.clone(),
            deleted.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while deleted.load(Ordering::SeqCst) < MESSAGES {
                let out = client
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .send()
                    .await
                    .unwrap();
                let messages = out.messages();
                if messages.is_empty() {
                    continue;
                }
                {
                    let mut bodies = seen.bodies.lock().unwrap();
                    for m in messages {
                        let body = m.body().unwrap().to_string();
                        if !bodies.insert(body.clone()) {
                            seen.duplicates.lock().unwrap().push(body);
                        }
                    }
                }
                let entries: Vec<_> = messages
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        DeleteMessageBatchRequestEntry::builder()
                            .id(format!("d{i}"))
                            .receipt_handle(m.receipt_handle().unwrap())
                            .build()
                            .unwrap()
                    })
                    .collect();
                let out = client
                    .delete_message_batch()
                    .queue_url(&url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .unwrap();
                assert!(out.failed().is_empty());
                deleted.fetch_add(out.successful().len(), Ordering::SeqCst);
            }
        }));
    }
    let all = async {
        for task in tasks {
            task.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(240), all)
        .await
        .expect("finished in time");

    let bodies = std::mem::take(&mut *seen.bodies.lock().unwrap());
    assert_eq!(bodies.len(), MESSAGES, "every message received");
    let expected: HashSet<String> = (0..MESSAGES).map(|n| format!("m-{n}")).collect();
    assert_eq!(bodies, expected);
    assert!(
        seen.duplicates.lock().unwrap().is_empty(),
        "no duplicates without a visibility expiry"
    );
    assert_eq!(deleted.load(Ordering::SeqCst), MESSAGES);
    assert_eq!(
        sqs.attribute(&url, "ApproximateNumberOfMessages").await,
        "0"
    );
    assert_eq!(
        sqs.attribute(&url, "ApproximateNumberOfMessagesNotVisible")
            .await,
        "0"
    );
}
