//! Order events on SQS: the `order.created` message the worker pool consumes. Each send is a
//! producer span (OpenTelemetry's messaging conventions, `aws_sqs`) whose context travels on
//! the message as a `traceparent` attribute (see [`crate::trace_context`]).

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use tracing::Instrument as _;

use crate::domain::messages::Envelope;
use crate::domain::order::Order;
use crate::ports::{OrderEvents, PortError};

/// Publishes to the orders queue.
#[derive(Debug, Clone)]
pub struct SqsEvents {
    client: Client,
    queue_url: String,
}

impl SqsEvents {
    /// A publisher to `queue_url`.
    pub fn new(client: Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }
}

#[async_trait]
impl OrderEvents for SqsEvents {
    async fn order_created(&self, order: &Order) -> Result<(), PortError> {
        let queue = self.queue_url.rsplit('/').next().unwrap_or_default();
        let span = tracing::debug_span!(
            "send",
            otel.name = %format_args!("send {queue}"),
            otel.kind = "producer",
            otel.status_code = tracing::field::Empty,
            messaging.system = "aws_sqs",
            messaging.operation.type = "send",
            messaging.operation.name = "SendMessage",
            messaging.destination.name = %queue,
            messaging.message.id = tracing::field::Empty,
            order.id = %order.id,
        );
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("order.created")
            .build()
            .map_err(|e| PortError::unavailable("sqs", e))?;
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(Envelope::OrderCreated { order_id: order.id }.encode())
            .message_attributes("type", kind);
        for (name, value) in crate::trace_context::attributes_for(&span) {
            send = send.message_attributes(name, value);
        }
        let sent = send.send().instrument(span.clone()).await.map_err(|e| {
            span.record("otel.status_code", "error");
            PortError::unavailable("sqs", aws_sdk_sqs::error::DisplayErrorContext(e))
        })?;
        span.record(
            "messaging.message.id",
            sent.message_id().unwrap_or_default(),
        );
        Ok(())
    }
}
