//! The worker pool: pollers long-poll SQS (20 s, batches of up to 10) into a bounded
//! channel; a fixed number of workers take one receive batch at a time and run it through
//! the domain as a batch (one statement completes its orders); deletes are batched.
//! Backpressure: when every worker is busy and the channel is full, pollers wait.
//!
//! `concurrency` is the most messages processed at once: ⌈concurrency / 10⌉ workers (and as
//! many pollers), each receive at most ⌊concurrency / workers⌋ messages (10 at most).
//!
//! - [`poller`]: receive loop. [`processor`]: one batch, end to end (lag, heartbeat, each
//!   message's outcome). [`deleter`]: batched deletes. [`backoff`]: retry delays.
//!   [`dead_letter`]: permanent failures to the DLQ with reason attributes.
//! - Shutdown ([`WorkerPool::run`] until its token is cancelled): stop polling, let workers
//!   finish what they hold, release unstarted messages (visibility 0), flush deletes.
//!   Nothing is lost: whatever is not deleted is redelivered by SQS.

pub mod backoff;
pub mod dead_letter;
pub mod deleter;
pub mod poller;
pub mod processor;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use slipway_contracts::metrics as names;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use crate::domain::service::OrderService;

/// A message received from SQS, with what the worker needs of it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its SQS message id.
    pub message_id: String,
    /// The receipt handle of this receive.
    pub receipt_handle: String,
    /// The body.
    pub body: String,
    /// `ApproximateReceiveCount`.
    pub receive_count: u32,
    /// `SentTimestamp`, ms since epoch.
    pub sent_timestamp_ms: Option<u64>,
    /// The user attributes, kept when dead-lettering.
    pub attributes: std::collections::HashMap<String, aws_sdk_sqs::types::MessageAttributeValue>,
}

/// Settings of the pool.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// The orders queue.
    pub queue_url: String,
    /// Its dead-letter queue.
    pub dlq_url: String,
    /// Most messages processed at once.
    pub concurrency: usize,
    /// The queue's visibility timeout (heartbeats extend it while work goes on).
    pub visibility_timeout: Duration,
    /// How long shutdown may take before giving up on in-flight work (it is redelivered).
    pub shutdown_grace: Duration,
    /// Long-poll wait (20 s in production; tests may shorten it).
    pub wait_time_seconds: i32,
}

impl WorkerSettings {
    /// Messages per receive: `concurrency` shared among the workers, rounded down so that
    /// no more than `concurrency` are processed at once (10 is SQS's most).
    pub fn batch_size(&self) -> i32 {
        let per_worker = (self.concurrency.max(1) / self.workers()).clamp(1, 10);
        i32::try_from(per_worker).unwrap_or(10)
    }

    /// Batch workers (and pollers): enough for `concurrency` messages at once.
    pub fn workers(&self) -> usize {
        self.concurrency.max(1).div_ceil(10)
    }
}

/// The pool.
pub struct WorkerPool {
    client: Client,
    service: OrderService,
    settings: WorkerSettings,
}

impl WorkerPool {
    /// A pool consuming `settings.queue_url` into `service`.
    pub fn new(client: Client, service: OrderService, settings: WorkerSettings) -> Self {
        Self {
            client,
            service,
            settings,
        }
    }

    /// The SQS client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The settings.
    pub fn settings(&self) -> &WorkerSettings {
        &self.settings
    }

    /// The settings, to complete them before running.
    pub fn settings_mut(&mut self) -> &mut WorkerSettings {
        &mut self.settings
    }

    /// Runs until `shutdown` is cancelled, then drains. Returns when everything is settled.
    pub async fn run(self, shutdown: CancellationToken) {
        let settings = Arc::new(self.settings);
        let workers = settings.workers();
        metrics::gauge!(names::WORKER_POOL_SIZE).set(settings.concurrency.max(1) as f64);
        metrics::gauge!(names::WORKER_BUSY).set(0.0);
        metrics::gauge!(names::WORKER_MESSAGES_IN_FLIGHT).set(0.0);

        let (work_tx, work_rx) = mpsc::channel::<Vec<Received>>(workers);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (deleter, deleter_task) =
            deleter::spawn(self.client.clone(), settings.queue_url.clone());

        let pollers: Vec<_> = (0..workers)
            .map(|_| {
                tokio::spawn(poller::run(
                    self.client.clone(),
                    settings.clone(),
                    work_tx.clone(),
                    shutdown.clone(),
                ))
            })
            .collect();
        drop(work_tx);

        let workers: Vec<_> = (0..workers)
            .map(|_| {
                let context = processor::Context {
                    client: self.client.clone(),
                    service: self.service.clone(),
                    settings: settings.clone(),
                    deleter: deleter.clone(),
                };
                let (rx, token) = (work_rx.clone(), shutdown.clone());
                tokio::spawn(async move {
                    loop {
                        let next = {
                            let mut rx = rx.lock().await;
                            tokio::select! {
                                biased;
                                () = token.cancelled() => None,
                                message = rx.recv() => message,
                            }
                        };
                        match next {
                            Some(batch) => processor::handle_batch(&context, batch).await,
                            None => break,
                        }
                    }
                })
            })
            .collect();
        drop(deleter);

        shutdown.cancelled().await;
        tracing::info!("worker pool draining");
        let drain = async {
            for poller in pollers {
                crate::telemetry::report_task_end("poller", poller.await);
            }
            for worker in workers {
                crate::telemetry::report_task_end("worker", worker.await);
            }
            release_unstarted(&self.client, &settings.queue_url, &work_rx).await;
            crate::telemetry::report_task_end("deleter", deleter_task.await);
        };
        if tokio::time::timeout(settings.shutdown_grace, drain)
            .await
            .is_err()
        {
            tracing::warn!(grace = ?settings.shutdown_grace, "worker pool did not drain in time; unfinished messages will be redelivered");
        }
        tracing::info!("worker pool stopped");
    }
}

/// Makes every received-but-unstarted message visible again at once, in batches of 10.
async fn release_unstarted(
    client: &Client,
    queue_url: &str,
    work_rx: &Mutex<mpsc::Receiver<Vec<Received>>>,
) {
    let mut pending = Vec::new();
    {
        let mut rx = work_rx.lock().await;
        rx.close();
        while let Ok(batch) = rx.try_recv() {
            pending.extend(batch);
        }
    }
    release(client, queue_url, &pending).await;
}

/// Makes `messages` visible again at once (visibility 0), in batches of 10.
pub async fn release(client: &Client, queue_url: &str, messages: &[Received]) {
    if messages.is_empty() {
        return;
    }
    tracing::info!(count = messages.len(), "releasing unstarted messages");
    for chunk in messages.chunks(10) {
        let entries: Vec<_> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(&m.receipt_handle)
                    .visibility_timeout(0)
                    .build()
                    .ok()
            })
            .collect();
        if let Err(error) = client
            .change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "release failed; the messages return after their visibility timeout");
        }
        metrics::gauge!(names::WORKER_MESSAGES_IN_FLIGHT).decrement(chunk.len() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(concurrency: usize) -> WorkerSettings {
        WorkerSettings {
            queue_url: String::new(),
            dlq_url: String::new(),
            concurrency,
            visibility_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            wait_time_seconds: 20,
        }
    }

    #[test]
    fn concurrency_bounds_the_messages_processed_at_once() {
        for (concurrency, workers, batch) in [
            (1, 1, 1),
            (4, 1, 4),
            (8, 1, 8),
            (10, 1, 10),
            (16, 2, 8),
            (64, 7, 9),
            (1024, 103, 9),
        ] {
            let s = settings(concurrency);
            assert_eq!(
                (s.workers(), s.batch_size()),
                (workers, batch),
                "{concurrency}"
            );
            assert!(s.workers() * s.batch_size() as usize <= concurrency);
        }
    }
}
