//! What is checked after the load: that the queue scenario's orders were all processed,
//! and that every poison message reached the dead-letter queue.
//!
//! Both read the system only through its public interfaces: the orders over HTTP, the DLQ
//! through the SQS API (so the check works against the emulator, ElasticMQ or Amazon SQS).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, QueueAttributeName};
use futures::StreamExt;
use serde::Deserialize;
use uuid::Uuid;

use crate::scenarios::queue::poison_marker;
use crate::summary::{PoisonFigures, QueueFigures};

/// Orders read at once while waiting for the queue to drain.
const CONCURRENT_READS: usize = 32;
/// Pause between two rounds of reads or receives.
const ROUND_PAUSE: Duration = Duration::from_millis(200);

#[derive(Deserialize)]
struct OrderStatus {
    status: String,
}

/// The state of one queued order as the service reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    Completed,
    Failed,
    NotYet,
}

async fn order_state(http: &reqwest::Client, service: &str, id: Uuid) -> Finish {
    let Ok(response) = http
        .get(format!("{service}/v1/orders/{id}"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
    else {
        return Finish::NotYet;
    };
    match response.json::<OrderStatus>().await {
        Ok(order) if order.status == "completed" => Finish::Completed,
        Ok(order) if order.status == "failed" => Finish::Failed,
        _ => Finish::NotYet,
    }
}

/// Waits until every order in `sent` is completed or failed, or `timeout` after
/// `load_ended`.
pub async fn wait_for_orders(
    http: &reqwest::Client,
    service: &str,
    sent: Vec<Uuid>,
    load_started: Instant,
    load_ended: Instant,
    timeout: Duration,
) -> QueueFigures {
    let total = sent.len() as u64;
    let mut pending = sent;
    let (mut completed, mut failed) = (0u64, 0u64);
    let mut last_finish = load_ended;
    let deadline = load_ended + timeout;
    loop {
        let states: Vec<(Uuid, Finish)> = futures::stream::iter(pending.iter().copied())
            .map(|id| async move { (id, order_state(http, service, id).await) })
            .buffer_unordered(CONCURRENT_READS)
            .collect()
            .await;
        let before = pending.len();
        pending.clear();
        for (id, state) in states {
            match state {
                Finish::Completed => completed += 1,
                Finish::Failed => failed += 1,
                Finish::NotYet => pending.push(id),
            }
        }
        if pending.len() < before {
            last_finish = Instant::now();
        }
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(ROUND_PAUSE).await;
    }
    let finished = completed + failed;
    let span = last_finish
        .saturating_duration_since(load_started)
        .as_secs_f64();
    QueueFigures {
        sent: total,
        completed,
        failed,
        unfinished: pending.len() as u64,
        drain_secs: last_finish
            .saturating_duration_since(load_ended)
            .as_secs_f64(),
        finished_per_sec: if span > 0.0 {
            finished as f64 / span
        } else {
            0.0
        },
    }
}

/// The DLQ of `queue_url`, from its RedrivePolicy.
pub async fn dead_letter_queue_of(client: &Client, queue_url: &str) -> Option<String> {
    let attributes = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .ok()?;
    let policy = attributes
        .attributes()?
        .get(&QueueAttributeName::RedrivePolicy)?;
    let policy: serde_json::Value = serde_json::from_str(policy).ok()?;
    let arn = policy.get("deadLetterTargetArn")?.as_str()?;
    let mut parts = arn.rsplitn(2, ':');
    let name = parts.next()?;
    let account = parts.next()?.rsplit(':').next()?;
    client
        .get_queue_url()
        .queue_name(name)
        .queue_owner_aws_account_id(account)
        .send()
        .await
        .ok()?
        .queue_url()
        .map(str::to_owned)
}

/// Searches the DLQ until every marker is found or `timeout` passes. Found poison
/// messages are deleted unless `keep`; every other message is made visible again at once,
/// so the search leaves the DLQ as it found it.
pub async fn find_poison(
    client: &Client,
    dlq_url: &str,
    markers: Vec<String>,
    timeout: Duration,
    keep: bool,
) -> PoisonFigures {
    let sent = markers.len() as u64;
    let missing = search_dlq(
        client,
        dlq_url,
        markers.into_iter().collect(),
        |body| poison_marker(body).map(str::to_owned),
        timeout,
        keep,
    )
    .await;
    PoisonFigures {
        sent,
        dead_lettered: sent - missing.len() as u64,
        checked: true,
    }
}

/// Searches the DLQ for the messages whose `key` (of the body) is in `missing`, until all
/// are found or `timeout` passes; returns those not found. Found ones are deleted unless
/// `keep`. Every other message stays hidden until the search ends and is then made visible
/// again: released at once, the same first ten would come back every round, and a queue
/// that hands out its oldest messages first (the emulator, ElasticMQ) would never show the
/// rest.
pub async fn search_dlq(
    client: &Client,
    dlq_url: &str,
    mut missing: HashSet<String>,
    key: impl Fn(&str) -> Option<String>,
    timeout: Duration,
    keep: bool,
) -> HashSet<String> {
    let deadline = Instant::now() + timeout;
    // Hidden for the whole search; one seen again after that is only seen twice.
    let hidden = i32::try_from(timeout.as_secs().saturating_add(30)).unwrap_or(43_200);
    let mut kept_receipts = Vec::new();
    let mut others = Vec::new();
    while !missing.is_empty() && Instant::now() < deadline {
        let Ok(output) = client
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(hidden.min(43_200))
            .wait_time_seconds(1)
            .send()
            .await
        else {
            tokio::time::sleep(ROUND_PAUSE).await;
            continue;
        };
        for message in output.messages() {
            let Some(receipt) = message.receipt_handle() else {
                continue;
            };
            let ours = message
                .body()
                .and_then(&key)
                .is_some_and(|found| missing.remove(&found));
            if ours && !keep {
                let _ = client
                    .delete_message()
                    .queue_url(dlq_url)
                    .receipt_handle(receipt)
                    .send()
                    .await;
            } else if ours {
                kept_receipts.push(receipt.to_owned());
            } else {
                others.push(receipt.to_owned());
            }
        }
    }
    release(client, dlq_url, &others).await;
    release(client, dlq_url, &kept_receipts).await;
    missing
}

/// Messages in a queue not yet deleted: visible, in flight and delayed (SQS's approximate
/// counts); `None` when they cannot be read.
pub async fn messages_left(client: &Client, queue_url: &str) -> Option<u64> {
    let output = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .ok()?;
    let attributes = output.attributes()?;
    Some(
        attributes
            .values()
            .filter_map(|v| v.parse::<u64>().ok())
            .sum(),
    )
}

/// Makes received messages visible again at once.
async fn release(client: &Client, queue_url: &str, receipts: &[String]) {
    for chunk in receipts.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, receipt)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        let _ = client
            .change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
    }
}
