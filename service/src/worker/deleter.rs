//! Batched deletes: receipt handles collected from every worker, deleted ten at a time or
//! every 50 ms, whichever comes first, up to eight batches in flight at once. The task ends
//! after a final flush once every sender is gone (the drain).

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use slipway_contracts::metrics as names;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a handle may wait for its batch to fill.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Hands receipt handles to the deleter.
#[derive(Debug, Clone)]
pub struct Deleter(mpsc::Sender<String>);

impl Deleter {
    /// Queues a delete.
    pub async fn delete(&self, receipt_handle: String) {
        if self.0.send(receipt_handle).await.is_err() {
            tracing::warn!(
                "deleter gone; the message will be redelivered and skipped as already done"
            );
        }
    }
}

/// Most batch deletes in flight at once.
pub const MAX_CONCURRENT_FLUSHES: usize = 8;

/// Starts the deleter for `queue_url`.
pub fn spawn(client: Client, queue_url: String) -> (Deleter, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<String>(1024);
    let task = tokio::spawn(async move {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_FLUSHES));
        let mut flushes = tokio::task::JoinSet::new();
        let mut batch: Vec<String> = Vec::with_capacity(10);
        // Full batches go out concurrently (bounded); every flush is awaited before the end.
        let send = |batch: &mut Vec<String>, flushes: &mut tokio::task::JoinSet<()>| {
            if batch.is_empty() {
                return;
            }
            let (client, queue_url, permits) = (client.clone(), queue_url.clone(), permits.clone());
            let mut full = std::mem::replace(batch, Vec::with_capacity(10));
            flushes.spawn(async move {
                let _permit = permits.acquire_owned().await;
                flush(&client, &queue_url, &mut full).await;
            });
        };
        loop {
            while flushes.try_join_next().is_some() {}
            let next = if batch.is_empty() {
                rx.recv().await
            } else {
                match tokio::time::timeout(FLUSH_EVERY, rx.recv()).await {
                    Ok(next) => next,
                    Err(_) => {
                        send(&mut batch, &mut flushes);
                        continue;
                    }
                }
            };
            match next {
                Some(handle) => {
                    batch.push(handle);
                    if batch.len() == 10 {
                        send(&mut batch, &mut flushes);
                    }
                }
                None => {
                    send(&mut batch, &mut flushes);
                    while flushes.join_next().await.is_some() {}
                    return;
                }
            }
        }
    });
    (Deleter(tx), task)
}

async fn flush(client: &Client, queue_url: &str, batch: &mut Vec<String>) {
    if batch.is_empty() {
        return;
    }
    let entries: Vec<_> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, handle)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(handle)
                .build()
                .ok()
        })
        .collect();
    let count = batch.len();
    match client
        .delete_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
    {
        Ok(out) => {
            for failed in out.failed() {
                tracing::warn!(
                    code = failed.code(),
                    message = failed.message(),
                    "delete failed; the message will be redelivered"
                );
            }
        }
        Err(error) => {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), count, "batch delete failed; the messages will be redelivered");
        }
    }
    metrics::gauge!(names::WORKER_MESSAGES_IN_FLIGHT).decrement(count as f64);
    batch.clear();
}
