//! Reading the queues: depths with GetQueueAttributes (any SQS endpoint), the age of the
//! oldest message from the emulator's developer endpoint when there is one, and the dead
//! letters — peeked without side effects where the emulator allows, otherwise received with a
//! short visibility timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde::Deserialize;

use super::{Collector, short_error};
use crate::model::{DeadLetter, DeadLetterSource, QueueRow};
use crate::targets::queue_name;

/// Most dead letters read per refresh.
const DEAD_LETTER_LIMIT: usize = 200;
/// How long a dead letter read with ReceiveMessage stays invisible.
const RECEIVE_VISIBILITY_SECS: i32 = 2;

#[derive(Deserialize)]
struct PeekStats {
    name: String,
    oldest_age_seconds: Option<f64>,
    #[serde(default)]
    faults_fired: Option<u64>,
}

#[derive(Deserialize)]
struct Peeked {
    message_id: String,
    body: String,
    receive_count: u32,
    sent_timestamp: u64,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

impl Collector {
    async fn developer_stats(&mut self) -> Option<Vec<PeekStats>> {
        let endpoint = self.targets.sqs_endpoint.clone()?;
        if self.developer_api == Some(false) {
            return None;
        }
        let url = format!("{}/_slipway/queues", endpoint.trim_end_matches('/'));
        let stats = match self.http.get(&url).send().await {
            Ok(response) if response.status().is_success() => {
                response.json::<Vec<PeekStats>>().await.ok()
            }
            _ => None,
        };
        if self.developer_api.is_none() {
            self.developer_api = Some(stats.is_some());
        }
        stats
    }

    pub(super) async fn queue_rows(&mut self) -> Vec<QueueRow> {
        let Some(client) = self.sqs.clone() else {
            return Vec::new();
        };
        let stats = self.developer_stats().await;
        let mut rows = Vec::new();
        let queues = [
            (self.targets.queue_url.clone(), false),
            (self.targets.dlq_url.clone(), true),
        ];
        for (url, is_dlq) in queues {
            let Some(url) = url else { continue };
            let name = queue_name(&url).to_owned();
            let peeked = stats
                .as_ref()
                .and_then(|all| all.iter().find(|s| s.name == name));
            let oldest_age = peeked
                .and_then(|s| s.oldest_age_seconds)
                .map(Duration::from_secs_f64);
            let faults_fired = peeked.and_then(|s| s.faults_fired);
            let mut row = QueueRow {
                name,
                is_dlq,
                visible: 0,
                in_flight: 0,
                delayed: 0,
                oldest_age,
                faults_fired,
                error: None,
            };
            match client
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
            {
                Ok(output) => {
                    let attributes = output.attributes().cloned().unwrap_or_default();
                    let number = |name: QueueAttributeName| {
                        attributes
                            .get(&name)
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(0)
                    };
                    row.visible = number(QueueAttributeName::ApproximateNumberOfMessages);
                    row.in_flight =
                        number(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
                    row.delayed = number(QueueAttributeName::ApproximateNumberOfMessagesDelayed);
                }
                Err(error) => {
                    row.error = Some(short_error(&aws_sdk_sqs::error::DisplayErrorContext(error)))
                }
            }
            rows.push(row);
        }
        rows
    }

    pub(super) async fn dead_letters(&mut self) -> (Vec<DeadLetter>, DeadLetterSource) {
        let Some(dlq_url) = self.targets.dlq_url.clone() else {
            return (Vec::new(), DeadLetterSource::NotRead);
        };
        if self.developer_api != Some(false)
            && let Some(endpoint) = &self.targets.sqs_endpoint
        {
            let url = format!(
                "{}/_slipway/queues/{}/messages?limit={DEAD_LETTER_LIMIT}",
                endpoint.trim_end_matches('/'),
                queue_name(&dlq_url)
            );
            if let Ok(response) = self.http.get(&url).send().await
                && response.status().is_success()
                && let Ok(peeked) = response.json::<Vec<Peeked>>().await
            {
                let letters = peeked
                    .into_iter()
                    .map(|p| DeadLetter {
                        message_id: p.message_id,
                        body: p.body,
                        sent_at_ms: Some(p.sent_timestamp),
                        receive_count: p.receive_count,
                        attributes: p.attributes,
                    })
                    .collect();
                return (letters, DeadLetterSource::Peek);
            }
        }
        let Some(client) = &self.sqs else {
            return (Vec::new(), DeadLetterSource::NotRead);
        };
        let Ok(output) = client
            .receive_message()
            .queue_url(&dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(RECEIVE_VISIBILITY_SECS)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
        else {
            return (Vec::new(), DeadLetterSource::Receive);
        };
        let letters = output.messages().iter().map(dead_letter_of).collect();
        (letters, DeadLetterSource::Receive)
    }
}

fn dead_letter_of(message: &aws_sdk_sqs::types::Message) -> DeadLetter {
    let system = message.attributes();
    let system_value = |name: MessageSystemAttributeName| {
        system
            .and_then(|attributes| attributes.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
    };
    DeadLetter {
        message_id: message.message_id().unwrap_or_default().to_owned(),
        body: message.body().unwrap_or_default().to_owned(),
        sent_at_ms: system_value(MessageSystemAttributeName::SentTimestamp),
        receive_count: system_value(MessageSystemAttributeName::ApproximateReceiveCount)
            .unwrap_or(0) as u32,
        attributes: message
            .message_attributes()
            .map(|attributes| {
                attributes
                    .iter()
                    .filter_map(|(k, v)| v.string_value().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
    }
}
