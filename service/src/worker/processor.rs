//! One receive batch, end to end: measure each message's queue lag, run the batch through the
//! domain as a batch while a heartbeat keeps all of it invisible, then settle each message on
//! its own: delete it (done), back it off (transient failure) or dead-letter it (permanent).
//!
//! When the batch's one statement fails, nothing of it was applied: the messages are then
//! processed one by one, so that a fault of one order (a row lock, a constraint) stays with
//! its message and the rest complete. When the dependency is down for all, each one fails
//! alike and backs off.
//!
//! Each message has its `process` span (OpenTelemetry's messaging conventions, consumer kind)
//! continuing the trace it carries — again on every redelivery, so retries show — with its
//! outcome: `ok`, `retry` (with the delay) or `dead_letter` (with the reason). The batch's
//! statement runs under the first message's span, with the batch's size on it; every other
//! message's span links to that one, so each order's trace leads to its statement.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use futures::future::join_all;
use slipway_contracts::metrics as names;
use tracing::Instrument as _;

use super::deleter::Deleter;
use super::{Received, WorkerSettings, backoff, dead_letter};
use crate::domain::processing::Outcome;
use crate::domain::service::{OrderService, ProcessError};

/// What a worker needs.
#[derive(Clone)]
pub struct Context {
    /// SQS.
    pub client: Client,
    /// The domain.
    pub service: OrderService,
    /// Queue settings.
    pub settings: Arc<WorkerSettings>,
    /// Batched deletes.
    pub deleter: Deleter,
}

/// A message with its spans: `log` (what log lines carry) and `process` (the trace's).
struct Traced {
    message: Received,
    log: tracing::Span,
    process: tracing::Span,
}

impl Traced {
    fn new(context: &Context, message: Received, batch: usize) -> Self {
        let queue = context
            .settings
            .queue_url
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let log = tracing::info_span!(
            target: crate::otel::LOG_TARGET,
            "message",
            message_id = %message.message_id,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
        );
        let process = tracing::debug_span!(
            parent: &log,
            "process",
            otel.name = %format_args!("process {queue}"),
            otel.kind = "consumer",
            otel.status_code = tracing::field::Empty,
            messaging.system = "aws_sqs",
            messaging.operation.type = "process",
            messaging.destination.name = %queue,
            messaging.message.id = %message.message_id,
            messaging.message.delivery_count = message.receive_count,
            messaging.batch.message_count = i64::try_from(batch).unwrap_or(i64::MAX),
            order.id = tracing::field::Empty,
            outcome = tracing::field::Empty,
            retry.delay_ms = tracing::field::Empty,
            dead_letter.reason = tracing::field::Empty,
        );
        crate::trace_context::continue_trace(
            &process,
            crate::trace_context::from_attributes(&message.attributes),
            &log,
        );
        Self {
            message,
            log,
            process,
        }
    }

    /// Runs `work` inside this message's spans.
    fn within<F: std::future::Future>(
        &self,
        work: F,
    ) -> impl std::future::Future<Output = F::Output> {
        work.instrument(self.process.clone())
            .instrument(self.log.clone())
    }
}

/// Handles one receive batch.
pub async fn handle_batch(context: &Context, batch: Vec<Received>) {
    if batch.is_empty() {
        return;
    }
    let size = batch.len();
    metrics::gauge!(names::WORKER_BUSY).increment(size as f64);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    for message in &batch {
        if let Some(sent) = message.sent_timestamp_ms {
            metrics::histogram!(names::WORKER_QUEUE_LAG_SECONDS)
                .record(now.saturating_sub(sent) as f64 / 1000.0);
        }
    }
    let traced: Vec<Traced> = batch
        .into_iter()
        .map(|message| Traced::new(context, message, size))
        .collect();
    if let Some((first, rest)) = traced.split_first() {
        for other in rest {
            crate::trace_context::link(&other.process, &first.process);
        }
    }
    let started = Instant::now();
    let outcomes = tokio::select! {
        outcomes = process(context, &traced) => outcomes,
        () = heartbeat(context, &traced) => unreachable_heartbeat(size),
    };
    let elapsed = started.elapsed().as_secs_f64();
    for _ in 0..size {
        metrics::histogram!(names::WORKER_PROCESSING_DURATION_SECONDS).record(elapsed);
    }
    join_all(
        traced
            .into_iter()
            .zip(outcomes)
            .map(|(traced, outcome)| async move {
                let settled = traced.within(settle(context, &traced, outcome)).await;
                traced.process.record("outcome", settled);
                metrics::counter!(names::WORKER_MESSAGES_TOTAL, "outcome" => settled).increment(1);
            }),
    )
    .await;
    metrics::gauge!(names::WORKER_BUSY).decrement(size as f64);
}

/// The batch as a batch; if its statement fails, message by message, each in its own span.
async fn process(context: &Context, traced: &[Traced]) -> Vec<Outcome> {
    let bodies: Vec<&str> = traced.iter().map(|t| t.message.body.as_str()).collect();
    let Some(first) = traced.first() else {
        return Vec::new();
    };
    match first.within(context.service.process_batch(&bodies)).await {
        Ok(outcomes) => outcomes,
        Err(error) if traced.len() == 1 => vec![Err(ProcessError::Transient(error))],
        Err(error) => {
            tracing::info!(%error, size = traced.len(), "batch failed whole; processing its messages one by one");
            join_all(
                traced
                    .iter()
                    .map(|t| t.within(context.service.process(&t.message.body))),
            )
            .await
        }
    }
}

/// Deletes, backs off or dead-letters one message; returns the outcome's name.
async fn settle(context: &Context, traced: &Traced, outcome: Outcome) -> &'static str {
    let (message, span) = (&traced.message, &traced.process);
    match outcome {
        Ok(processed) => {
            span.record("order.id", processed.order_id().to_string());
            context.deleter.delete(message.receipt_handle.clone()).await;
            "ok"
        }
        Err(ProcessError::Transient(error)) => {
            let delay = backoff::delay(message.receive_count, fastrand::f64());
            span.record("retry.delay_ms", delay.as_millis() as u64);
            tracing::warn!(%error, message_id = %message.message_id, receive_count = message.receive_count, ?delay, "transient failure; retrying later");
            retry_later(context, &message.receipt_handle, delay).await;
            "retry"
        }
        Err(ProcessError::Permanent(reason)) => {
            span.record("dead_letter.reason", reason.as_str());
            span.record("otel.status_code", "error");
            tracing::warn!(%reason, message_id = %message.message_id, "permanent failure; dead-lettering");
            match dead_letter::send(&context.client, &context.settings, message, &reason).await {
                Ok(()) => {
                    context.deleter.delete(message.receipt_handle.clone()).await;
                    "dead_letter"
                }
                Err(error) => {
                    tracing::warn!(%error, "could not dead-letter; retrying later");
                    let delay = backoff::delay(message.receive_count, fastrand::f64());
                    retry_later(context, &message.receipt_handle, delay).await;
                    "retry"
                }
            }
        }
    }
}

fn unreachable_heartbeat(size: usize) -> Vec<Outcome> {
    (0..size)
        .map(|_| {
            Err(ProcessError::Permanent(
                "heartbeat ended unexpectedly".into(),
            ))
        })
        .collect()
}

/// Sets the message's visibility to `delay`: it comes back then (and SQS moves it to the DLQ
/// once its receive count passes maxReceiveCount).
async fn retry_later(context: &Context, receipt_handle: &str, delay: Duration) {
    let span = tracing::debug_span!(
        "ChangeMessageVisibility",
        otel.kind = "client",
        messaging.system = "aws_sqs",
        messaging.operation.name = "ChangeMessageVisibility",
        messaging.aws_sqs.visibility_timeout_seconds = delay.as_secs().max(1),
    );
    let result = context
        .client
        .change_message_visibility()
        .queue_url(&context.settings.queue_url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(i32::try_from(delay.as_secs().max(1)).unwrap_or(300))
        .send()
        .instrument(span)
        .await;
    if let Err(error) = result {
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "could not set the backoff; the message returns after its visibility timeout");
    }
    metrics::gauge!(names::WORKER_MESSAGES_IN_FLIGHT).decrement(1.0);
}

/// Extends the whole batch's visibility every half timeout, for as long as processing runs
/// (one `ChangeMessageVisibilityBatch` per beat).
async fn heartbeat(context: &Context, traced: &[Traced]) {
    let timeout = context
        .settings
        .visibility_timeout
        .max(Duration::from_secs(2));
    loop {
        tokio::time::sleep(timeout / 2).await;
        let entries: Vec<_> = traced
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(&t.message.receipt_handle)
                    .visibility_timeout(i32::try_from(timeout.as_secs()).unwrap_or(30))
                    .build()
                    .ok()
            })
            .collect();
        let result = context
            .client
            .change_message_visibility_batch()
            .queue_url(&context.settings.queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        match result {
            Ok(output) if output.failed().is_empty() => {
                tracing::debug!(count = traced.len(), "visibility extended");
            }
            Ok(output) => {
                for failed in output.failed() {
                    tracing::warn!(
                        code = failed.code(),
                        message = failed.message(),
                        "heartbeat failed for a message"
                    );
                }
            }
            Err(error) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "heartbeat failed")
            }
        }
    }
}
