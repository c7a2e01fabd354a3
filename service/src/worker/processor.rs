//! One message, end to end: measure its queue lag, run it through the domain while a
//! heartbeat keeps it invisible, then delete it (done), back it off (transient failure) or
//! dead-letter it (permanent failure).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::Client;
use slipway_contracts::metrics as names;

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
        Ok(_) => {
            context.deleter.delete(message.receipt_handle).await;
            "ok"
        }
        Err(ProcessError::Transient(error)) => {
            let delay = backoff::delay(message.receive_count, fastrand::f64());
            tracing::warn!(%error, message_id = %message.message_id, receive_count = message.receive_count, ?delay, "transient failure; retrying later");
            retry_later(context, &message.receipt_handle, delay).await;
            "retry"
        }
        Err(ProcessError::Permanent(reason)) => {
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
    let result = context
        .client
        .change_message_visibility()
        .queue_url(&context.settings.queue_url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(i32::try_from(delay.as_secs().max(1)).unwrap_or(300))
        .send()
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
