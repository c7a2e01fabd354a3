//! The queue scenarios: `queue` sends `order.submitted` messages straight to SQS (the
//! service creates and processes each order), `poison` sends malformed ones that must end in
//! the dead-letter queue. Both are timed and recorded with goose's `record_custom_request`.

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use goose::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::http::order_body;
use super::{Shared, TransactionFuture, names};

/// The text every poison body starts with; the marker after it finds the message in the DLQ.
pub const POISON_PREFIX: &str = "slipway-loadtest poison ";

/// An `order.submitted` message for a new order `id`.
pub fn submitted_order(id: Uuid, customer: &str) -> String {
    let mut order = order_body(customer);
    order["id"] = json!(id);
    json!({ "type": "order.submitted", "order": order }).to_string()
}

/// A poison body: not JSON, so the service dead-letters it at once as undecodable.
pub fn poison_body(marker: &str) -> String {
    format!("{POISON_PREFIX}{marker}")
}

/// The marker of a poison body of this run, if `body` is one.
pub fn poison_marker(body: &str) -> Option<&str> {
    body.strip_prefix(POISON_PREFIX)
}

fn missing_queue() -> Box<TransactionError> {
    Box::new(TransactionError::Custom(
        "no SQS queue configured for this scenario".into(),
    ))
}

/// Sends one batch of orders; the batch counts as one request, failed if any entry failed.
pub fn send_orders(shared: Arc<Shared>, user: &mut GooseUser) -> TransactionFuture<'_> {
    Box::pin(async move {
        let (client, queue_url) = shared.sqs.as_ref().ok_or_else(missing_queue)?;
        let customer = format!(
            "loadtest-{}-queue-{}",
            shared.settings.run_id,
            fastrand::u32(..1_000)
        );
        let ids: Vec<Uuid> = (0..shared.settings.queue_batch)
            .map(|_| Uuid::new_v4())
            .collect();
        let entries = ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(submitted_order(*id, &customer))
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        let started = Instant::now();
        let result = client
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        let elapsed = started.elapsed();
        let (success, error) = match &result {
            Ok(output) => {
                let mut failed = std::collections::HashSet::new();
                for entry in output.failed() {
                    failed.insert(entry.id().to_owned());
                }
                let mut queued = shared.queued.lock();
                for (i, id) in ids.iter().enumerate() {
                    if !failed.contains(&i.to_string()) {
                        queued.push(*id);
                    }
                }
                if failed.is_empty() {
                    (true, None)
                } else {
                    (false, Some(format!("{} entries failed", failed.len())))
                }
            }
            Err(e) => (
                false,
                Some(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()),
            ),
        };
        user.record_custom_request_duration(
            names::SQS,
            names::SEND_BATCH,
            elapsed,
            success,
            None,
            error.as_deref(),
        )
        .await
    })
}

/// Sends one malformed message with a unique marker.
pub fn send_poison(shared: Arc<Shared>, user: &mut GooseUser) -> TransactionFuture<'_> {
    Box::pin(async move {
        let (client, queue_url) = shared.sqs.as_ref().ok_or_else(missing_queue)?;
        let marker = format!("{}-{}", shared.settings.run_id, Uuid::new_v4());
        let started = Instant::now();
        let result = client
            .send_message()
            .queue_url(queue_url)
            .message_body(poison_body(&marker))
            .send()
            .await;
        let elapsed = started.elapsed();
        let error = match &result {
            Ok(_) => {
                shared.poisoned.lock().push(marker);
                None
            }
            Err(e) => Some(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()),
        };
        user.record_custom_request_duration(
            names::SQS,
            names::SEND_POISON,
            elapsed,
            error.is_none(),
            None,
            error.as_deref(),
        )
        .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submitted_orders_carry_their_id_and_a_valid_order() {
        let id = Uuid::new_v4();
        let body: serde_json::Value = serde_json::from_str(&submitted_order(id, "c-9")).unwrap();
        assert_eq!(body["type"], "order.submitted");
        assert_eq!(body["order"]["id"], id.to_string());
        assert_eq!(body["order"]["customer_id"], "c-9");
        assert!(!body["order"]["items"].as_array().unwrap().is_empty());
    }

    #[test]
    fn poison_is_not_json_and_its_marker_reads_back() {
        let body = poison_body("run-1-abc");
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
        assert_eq!(poison_marker(&body), Some("run-1-abc"));
        assert_eq!(poison_marker("{\"type\":\"order.created\"}"), None);
    }
}
