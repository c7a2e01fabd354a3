//! One message, end to end: measure its queue lag, run it through the domain while a
//! heartbeat keeps it invisible, then delete it (done), back it off (transient failure) or
//! dead-letter it (permanent failure).
//!
//! Each handling is a `process` span (OpenTelemetry's messaging conventions, consumer kind)
//! continuing the trace the message carries — again on every redelivery, so retries show —
//! with its outcome: `ok`, `retry` (with the delay) or `dead_letter` (with the reason).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::Client;
use slipway_contracts::metrics as names;
use tracing::Instrument as _;

use super::deleter::Deleter;
use super::{Received, WorkerSettings, backoff, dead_letter};
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

/// Handles one message.
pub async fn handle(context: &Context, message: Received) {
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
    let span = tracing::debug_span!(
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
        order.id = tracing::field::Empty,
        outcome = tracing::field::Empty,
        retry.delay_ms = tracing::field::Empty,
        dead_letter.reason = tracing::field::Empty,
    );
    crate::trace_context::continue_trace(
        &span,
        crate::trace_context::from_attributes(&message.attributes),
        &log,
    );
    handle_in(context, message, &span)
        .instrument(span.clone())
        .instrument(log)
        .await;
}

async fn handle_in(context: &Context, message: Received, span: &tracing::Span) {
    metrics::gauge!(names::WORKER_BUSY).increment(1.0);
    if let Some(sent) = message.sent_timestamp_ms {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        metrics::histogram!(names::WORKER_QUEUE_LAG_SECONDS)
            .record(now.saturating_sub(sent) as f64 / 1000.0);
    }
    let started = Instant::now();
    let result = tokio::select! {
        result = context.service.process(&message.body) => result,
        () = heartbeat(context, &message.receipt_handle) => unreachable_heartbeat(),
    };
    metrics::histogram!(names::WORKER_PROCESSING_DURATION_SECONDS)
        .record(started.elapsed().as_secs_f64());
    let outcome = match result {
        Ok(processed) => {
            span.record("order.id", processed.order_id().to_string());
            context.deleter.delete(message.receipt_handle).await;
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
            match dead_letter::send(&context.client, &context.settings, &message, &reason).await {
                Ok(()) => {
                    context.deleter.delete(message.receipt_handle).await;
                    "dead_letter"
                }
                Err(error) => {
                    tracing::warn!(%error, "could not dead-letter; retrying later");
                    retry_later(
                        context,
                        &message.receipt_handle,
                        backoff::delay(message.receive_count, fastrand::f64()),
                    )
                    .await;
                    "retry"
                }
            }
        }
    };
    span.record("outcome", outcome);
    metrics::counter!(names::WORKER_MESSAGES_TOTAL, "outcome" => outcome).increment(1);
    metrics::gauge!(names::WORKER_BUSY).decrement(1.0);
}

fn unreachable_heartbeat() -> Result<crate::domain::service::Processed, ProcessError> {
    Err(ProcessError::Permanent(
        "heartbeat ended unexpectedly".into(),
    ))
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

/// Extends the message's visibility every half timeout, for as long as processing runs.
async fn heartbeat(context: &Context, receipt_handle: &str) {
    let timeout = context
        .settings
        .visibility_timeout
        .max(Duration::from_secs(2));
    loop {
        tokio::time::sleep(timeout / 2).await;
        let result = context
            .client
            .change_message_visibility()
            .queue_url(&context.settings.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(timeout.as_secs()).unwrap_or(30))
            .send()
            .await;
        match result {
            Ok(_) => tracing::debug!("visibility extended"),
            Err(error) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "heartbeat failed")
            }
        }
    }
}
