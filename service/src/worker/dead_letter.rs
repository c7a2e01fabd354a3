//! Permanent failures go to the dead-letter queue at once, with attributes saying why, when
//! and from where; the original attributes are kept (SQS allows 10 in all) — the producer's
//! `traceparent` among them, so a redriven message continues its first trace. The send is a
//! producer span inside the message's `process` span.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use tracing::Instrument as _;

use super::{Received, WorkerSettings};

/// Attribute: why the message failed.
pub const REASON: &str = "slipway.dead_letter.reason";
/// Attribute: when (RFC 3339).
pub const FAILED_AT: &str = "slipway.dead_letter.failed_at";
/// Attribute: the source queue's URL.
pub const SOURCE_QUEUE: &str = "slipway.dead_letter.source_queue";
/// Attribute: the message id in the source queue.
pub const SOURCE_MESSAGE_ID: &str = "slipway.dead_letter.source_message_id";
/// Attribute: how many times it had been received.
pub const RECEIVE_COUNT: &str = "slipway.dead_letter.receive_count";

fn string(value: &str) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .ok()
}

/// Sends `message` to the DLQ with the reason attributes.
pub async fn send(
    client: &Client,
    settings: &WorkerSettings,
    message: &Received,
    reason: &str,
) -> Result<(), String> {
    let reason: String = reason.chars().take(1024).collect();
    let ours = [
        (REASON, string(&reason)),
        (FAILED_AT, string(&chrono::Utc::now().to_rfc3339())),
        (SOURCE_QUEUE, string(&settings.queue_url)),
        (SOURCE_MESSAGE_ID, string(&message.message_id)),
        (
            RECEIVE_COUNT,
            MessageAttributeValue::builder()
                .data_type("Number")
                .string_value(message.receive_count.to_string())
                .build()
                .ok(),
        ),
    ];
    let mut request = client
        .send_message()
        .queue_url(&settings.dlq_url)
        .message_body(&message.body);
    let mut kept = 0;
    for (name, value) in &message.attributes {
        if kept == 10 - ours.len() || name.starts_with("slipway.dead_letter.") {
            continue;
        }
        request = request.message_attributes(name, value.clone());
        kept += 1;
    }
    for (name, value) in ours {
        if let Some(value) = value {
            request = request.message_attributes(name, value);
        }
    }
    let dlq = settings.dlq_url.rsplit('/').next().unwrap_or_default();
    let span = tracing::debug_span!(
        "send",
        otel.name = %format_args!("send {dlq}"),
        otel.kind = "producer",
        messaging.system = "aws_sqs",
        messaging.operation.type = "send",
        messaging.operation.name = "SendMessage",
        messaging.destination.name = %dlq,
        messaging.message.id = tracing::field::Empty,
        dead_letter.reason = %reason,
    );
    let sent = request
        .send()
        .instrument(span.clone())
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    span.record(
        "messaging.message.id",
        sent.message_id().unwrap_or_default(),
    );
    Ok(())
}
