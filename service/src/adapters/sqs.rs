//! Order events on SQS: the `order.created` message the worker pool consumes.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;

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
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("order.created")
            .build()
            .map_err(|e| PortError::unavailable("sqs", e))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(Envelope::OrderCreated { order_id: order.id }.encode())
            .message_attributes("type", kind)
            .send()
            .await
            .map_err(|e| {
                PortError::unavailable("sqs", aws_sdk_sqs::error::DisplayErrorContext(e))
            })?;
        Ok(())
    }
}
