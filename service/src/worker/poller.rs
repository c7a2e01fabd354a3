//! A poller: long-polls the queue for batches (up to 10 messages) and hands each batch whole
//! to the bounded channel, waiting when the workers are all busy. Stops polling at shutdown.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use slipway_contracts::metrics as names;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Received, WorkerSettings};

/// Polls until `shutdown`.
pub async fn run(
    client: Client,
    settings: Arc<WorkerSettings>,
    work: mpsc::Sender<Vec<Received>>,
    shutdown: CancellationToken,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        let receive = client
            .receive_message()
            .queue_url(&settings.queue_url)
            .max_number_of_messages(settings.batch_size())
            .wait_time_seconds(settings.wait_time_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send();
        let output = tokio::select! {
            () = shutdown.cancelled() => return,
            output = receive => output,
        };
        let messages = match output {
            Ok(output) => {
                pause = Duration::from_millis(100);
                output.messages.unwrap_or_default()
            }
            Err(error) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "receive failed; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        metrics::gauge!(names::WORKER_MESSAGES_IN_FLIGHT).increment(messages.len() as f64);
        let batch: Vec<Received> = messages.into_iter().map(received).collect();
        // A full channel means every worker is busy: wait (backpressure). At shutdown, the
        // batch this poller holds is released at once, not left invisible.
        let sent = tokio::select! {
            biased;
            () = shutdown.cancelled() => Err(batch),
            slot = work.reserve() => match slot {
                Ok(slot) => {
                    slot.send(batch);
                    Ok(())
                }
                Err(_) => Err(batch),
            },
        };
        if let Err(unsent) = sent {
            super::release(&client, &settings.queue_url, &unsent).await;
            return;
        }
    }
}

fn received(message: aws_sdk_sqs::types::Message) -> Received {
    let system = message.attributes.unwrap_or_default();
    let number =
        |name: MessageSystemAttributeName| system.get(&name).and_then(|v| v.parse::<u64>().ok());
    Received {
        message_id: message.message_id.unwrap_or_default(),
        receipt_handle: message.receipt_handle.unwrap_or_default(),
        body: message.body.unwrap_or_default(),
        receive_count: number(MessageSystemAttributeName::ApproximateReceiveCount)
            .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        sent_timestamp_ms: number(MessageSystemAttributeName::SentTimestamp),
        attributes: message.message_attributes.unwrap_or_default(),
    }
}
