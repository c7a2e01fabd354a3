//! The messages on the orders queue, as JSON.
//!
//! - `{"type": "order.created", "order_id": "…"}` — sent by the service when an order is
//!   accepted over HTTP.
//! - `{"type": "order.submitted", "order": {"id": "…", "customer_id": "…", "items": […]}}` —
//!   sent by other producers (and the load test) to create and process an order through the
//!   queue alone; the id makes it idempotent.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::order::OrderId;

/// A decoded queue message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Envelope {
    /// An order accepted over HTTP is ready to process.
    #[serde(rename = "order.created")]
    OrderCreated {
        /// Its id.
        order_id: OrderId,
    },
    /// Create (if new) and process this order.
    #[serde(rename = "order.submitted")]
    OrderSubmitted {
        /// The order: `id`, `customer_id`, `items`.
        order: SubmittedOrder,
    },
}

/// The order of an `order.submitted` message; validated like an HTTP request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmittedOrder {
    /// The order's id, chosen by the producer.
    pub id: Uuid,
    /// The rest of the order (`customer_id`, `items`), parsed by `NewOrder::parse`.
    #[serde(flatten)]
    pub draft: serde_json::Map<String, serde_json::Value>,
}

impl Envelope {
    /// Decodes a message body; the error says why it cannot be.
    pub fn decode(body: &str) -> Result<Self, String> {
        serde_json::from_str(body).map_err(|e| format!("undecodable message body: {e}"))
    }

    /// Encodes for the queue.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let created = Envelope::OrderCreated {
            order_id: OrderId::new(),
        };
        assert_eq!(Envelope::decode(&created.encode()).unwrap(), created);
        let submitted = Envelope::decode(r#"{"type":"order.submitted","order":{"id":"7f1d0a4e-36d8-4c52-9a4f-0a3f1b6f1c11","customer_id":"c","items":[]}}"#).unwrap();
        assert!(
            matches!(submitted, Envelope::OrderSubmitted { order } if order.draft.contains_key("customer_id"))
        );
        assert!(
            Envelope::decode("not json")
                .unwrap_err()
                .contains("undecodable")
        );
        assert!(Envelope::decode(r#"{"type":"order.deleted"}"#).is_err());
    }
}
