//! The background task that reads the system and carries out actions; the drawing loop
//! never waits on the network.
//!
//! Each refresh it scrapes every service target (a target that is down is reported with its
//! error and tried again next time), reads queue depths with GetQueueAttributes (so it works
//! against the emulator, ElasticMQ or Amazon SQS), and, while the DLQ view is open, reads the
//! dead letters: through the emulator's side-effect-free peek endpoint when the endpoint has
//! one, otherwise with ReceiveMessage and a short visibility timeout.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName,
};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use crate::metrics::Snapshot;
use crate::model::{
    Action, ActionOutcome, Control, DeadLetter, DeadLetterSource, QueueRow, TargetStatus, Update,
};
use crate::targets::{Targets, queue_name};

/// Most dead letters read per refresh.
const DEAD_LETTER_LIMIT: usize = 200;
/// How long a dead letter read with ReceiveMessage stays invisible.
const RECEIVE_VISIBILITY_SECS: i32 = 2;
/// Receives tried while looking for one message to redrive or delete.
const SEARCH_ROUNDS: usize = 20;

/// Reads the system and acts on it.
pub struct Collector {
    targets: Targets,
    http: reqwest::Client,
    sqs: Option<Client>,
    started: Instant,
    /// Whether the SQS endpoint has the emulator's developer endpoints (probed once).
    developer_api: Option<bool>,
}

#[derive(Deserialize)]
struct PeekStats {
    name: String,
    oldest_age_seconds: Option<f64>,
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
    /// A collector for `targets`.
    pub async fn new(targets: Targets) -> Self {
        let sqs = if targets.queue_url.is_some() || targets.dlq_url.is_some() {
            Some(sqs_client(targets.sqs_endpoint.as_deref()).await)
        } else {
            None
        };
        Self {
            targets,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
            sqs,
            started: Instant::now(),
            developer_api: None,
        }
    }

    /// Collects every `control.refresh` and carries out actions, until the dashboard hangs
    /// up.
    pub async fn run(
        mut self,
        updates: mpsc::Sender<Update>,
        outcomes: mpsc::Sender<ActionOutcome>,
        mut actions: mpsc::Receiver<Action>,
        mut control: watch::Receiver<Control>,
    ) {
        loop {
            let settings = *control.borrow_and_update();
            let update = self.collect(settings.read_dead_letters).await;
            if updates.send(update).await.is_err() {
                return;
            }
            // Sleep until the next refresh; a change of settings or an action collects at
            // once, so that its effect shows without waiting a whole interval.
            tokio::select! {
                () = tokio::time::sleep(settings.refresh) => {}
                changed = control.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                action = actions.recv() => {
                    let Some(action) = action else { return };
                    let outcome = self.act(&action).await;
                    if outcomes.send(outcome).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// One refresh.
    pub async fn collect(&mut self, read_dead_letters: bool) -> Update {
        let (targets, snapshot) = self.scrape().await;
        let queues = self.queue_rows().await;
        let (dead_letters, dead_letter_source) = if read_dead_letters {
            self.dead_letters().await
        } else {
            (Vec::new(), DeadLetterSource::NotRead)
        };
        Update {
            at_secs: self.started.elapsed().as_secs_f64(),
            targets,
            snapshot,
            queues,
            dead_letters,
            dead_letter_source,
        }
    }

    async fn scrape(&self) -> (Vec<TargetStatus>, Option<Snapshot>) {
        let results = futures::future::join_all(
            self.targets
                .metrics_urls
                .iter()
                .map(|url| fetch_text(&self.http, url)),
        )
        .await;
        let mut snapshot = Snapshot::default();
        let mut any = false;
        let mut statuses = Vec::new();
        for (url, result) in self.targets.metrics_urls.iter().zip(results) {
            let error = match result {
                Ok(text) => snapshot.add_text(&text).err(),
                Err(error) => Some(error),
            };
            any |= error.is_none();
            statuses.push(TargetStatus {
                url: url.clone(),
                up: error.is_none(),
                last_error: error,
            });
        }
        (statuses, any.then_some(snapshot))
    }

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

    async fn queue_rows(&mut self) -> Vec<QueueRow> {
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
            let oldest_age = stats
                .as_ref()
                .and_then(|all| all.iter().find(|s| s.name == name))
                .and_then(|s| s.oldest_age_seconds)
                .map(Duration::from_secs_f64);
            let mut row = QueueRow {
                name,
                is_dlq,
                visible: 0,
                in_flight: 0,
                delayed: 0,
                oldest_age,
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

    async fn dead_letters(&mut self) -> (Vec<DeadLetter>, DeadLetterSource) {
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

    /// Carries out one action.
    pub async fn act(&mut self, action: &Action) -> ActionOutcome {
        let result = match (&self.sqs, &self.targets.queue_url, &self.targets.dlq_url) {
            (Some(client), Some(queue), Some(dlq)) => match action {
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
            },
            _ => Err("no queue and dead-letter queue to act on".to_owned()),
        };
        match result {
            Ok(message) => ActionOutcome { message, ok: true },
            Err(message) => ActionOutcome { message, ok: false },
        }
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

async fn fetch_text(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = http.get(url).send().await.map_err(|e| root_cause(&e))?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    response.text().await.map_err(|e| short_error(&e))
}

/// The innermost cause of an error ("Connection refused (os error 111)"), which says more
/// on one screen line than reqwest's outer "error sending request for url (…)".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    short_error(&cause)
}

/// The first line of an error, for one screen line.
fn short_error(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    let mut source = text.lines().next().unwrap_or_default().to_owned();
    if source.len() > 160 {
        source.truncate(source.floor_char_boundary(160));
    }
    source
}

/// The first 8 characters of a message id.
pub fn short_id(id: &str) -> &str {
    &id[..id.floor_char_boundary(8)]
}

async fn sqs_client(endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    if endpoint.is_some() && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        // An emulator ignores credentials; the SDK still wants some.
        loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "slipway", "slipway", None, None, "tui",
        ));
    }
    loader = loader.timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(Duration::from_secs(5))
            .build(),
    );
    Client::new(&loader.load().await)
}
