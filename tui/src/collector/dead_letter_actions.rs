//! Acting on the dead-letter queue: redrive every message (StartMessageMoveTask), redrive or
//! delete one (found by receiving, the others released at once), purge.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, MessageAttributeValue, QueueAttributeName,
};

use super::{short_error, short_id};
use crate::model::Action;
use crate::targets::queue_name;

/// Receives tried while looking for one message to redrive or delete.
const SEARCH_ROUNDS: usize = 20;

/// Carries out a dead-letter action between the work queue `queue` and its DLQ `dlq`.
pub(super) async fn act(
    client: &Client,
    queue: &str,
    dlq: &str,
    action: &Action,
) -> Result<String, String> {
    match action {
        Action::RedriveAll => redrive_all(client, queue, dlq).await,
        Action::Purge => client
            .purge_queue()
            .queue_url(dlq)
            .send()
            .await
            .map(|_| format!("purged {}", queue_name(dlq)))
            .map_err(|e| short_error(&aws_sdk_sqs::error::DisplayErrorContext(e))),
        Action::Redrive(id) => move_one(client, dlq, Some(queue), id).await,
        Action::Delete(id) => move_one(client, dlq, None, id).await,
        Action::Component { .. } => Err("not a dead-letter action".to_owned()),
    }
}

async fn queue_arn(client: &Client, url: &str) -> Result<String, String> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| short_error(&aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| format!("{url} has no QueueArn"))
}

/// StartMessageMoveTask from the DLQ to the work queue.
async fn redrive_all(client: &Client, queue: &str, dlq: &str) -> Result<String, String> {
    let source = queue_arn(client, dlq).await?;
    let destination = queue_arn(client, queue).await?;
    client
        .start_message_move_task()
        .source_arn(source)
        .destination_arn(destination)
        .send()
        .await
        .map_err(|e| short_error(&aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    Ok(format!(
        "redriving every message from {} to {}",
        queue_name(dlq),
        queue_name(queue)
    ))
}

/// Finds message `id` in the DLQ by receiving; sends it to `to` (a redrive) unless `None` (a
/// delete); deletes it from the DLQ. Every other message received is released at once.
async fn move_one(
    client: &Client,
    dlq: &str,
    to: Option<&str>,
    id: &str,
) -> Result<String, String> {
    for _ in 0..SEARCH_ROUNDS {
        let output = client
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| short_error(&aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        let mut others = Vec::new();
        let mut found = None;
        for message in output.messages() {
            if message.message_id() == Some(id) {
                found = Some(message.clone());
            } else if let Some(receipt) = message.receipt_handle() {
                others.push(receipt.to_owned());
            }
        }
        release(client, dlq, &others).await;
        let Some(message) = found else { continue };
        let receipt = message.receipt_handle().unwrap_or_default();
        if let Some(queue) = to {
            let attributes: std::collections::HashMap<String, MessageAttributeValue> = message
                .message_attributes()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|(name, _)| !name.starts_with("slipway.dead_letter."))
                .collect();
            client
                .send_message()
                .queue_url(queue)
                .message_body(message.body().unwrap_or_default())
                .set_message_attributes((!attributes.is_empty()).then_some(attributes))
                .send()
                .await
                .map_err(|e| short_error(&aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        }
        client
            .delete_message()
            .queue_url(dlq)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| short_error(&aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        return Ok(match to {
            Some(queue) => format!("redrove {} to {}", short_id(id), queue_name(queue)),
            None => format!("deleted {}", short_id(id)),
        });
    }
    Err(format!(
        "{} is not receivable (already gone, or in flight elsewhere)",
        short_id(id)
    ))
}

async fn release(client: &Client, queue: &str, receipts: &[String]) {
    for chunk in receipts.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, receipt)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        let _ = client
            .change_message_visibility_batch()
            .queue_url(queue)
            .set_entries(Some(entries))
            .send()
            .await;
    }
}
