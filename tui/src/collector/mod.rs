//! The background task that reads the system and carries out actions; the drawing loop
//! never waits on the network.
//!
//! Each refresh it scrapes every service target (a target that is down is reported with its
//! error and tried again next time), reads queue depths with GetQueueAttributes (so it works
//! against the emulator, ElasticMQ or Amazon SQS), and, while the DLQ view is open, reads the
//! dead letters: through the emulator's side-effect-free peek endpoint when the endpoint has
//! one, otherwise with ReceiveMessage and a short visibility timeout. When a `devstack up`
//! runs, it also asks its control socket for the components and the new log lines.
//!
//! - [`queues`]: queue depths and dead letters (read).
//! - [`dead_letter_actions`]: redrive, delete and purge (write).
//! - [`stack`]: a running `devstack up`'s components and merged logs, and restart, stop and
//!   start, over its control socket.

mod dead_letter_actions;
mod queues;
mod stack;

use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use tokio::sync::{mpsc, watch};

use crate::metrics::Snapshot;
use crate::model::{Action, ActionOutcome, Control, DeadLetterSource, TargetStatus, Update};
use crate::targets::Targets;

/// Reads the system and acts on it.
pub struct Collector {
    targets: Targets,
    http: reqwest::Client,
    sqs: Option<Client>,
    started: Instant,
    /// Whether the SQS endpoint has the emulator's developer endpoints (probed once).
    developer_api: Option<bool>,
    stack: stack::StackReader,
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
            stack: stack::StackReader::new(targets.control_socket.clone()),
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
            let settings = control.borrow_and_update().clone();
            let update = self.collect(&settings).await;
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
    pub async fn collect(&mut self, control: &Control) -> Update {
        let read_dead_letters = control.read_dead_letters;
        let (targets, snapshot) = self.scrape().await;
        let queues = self.queue_rows().await;
        let stack = self.stack.components().await;
        let logs = self.stack.new_logs().await;
        let traces = self.stack.traces(&control.traces).await;
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
            stack,
            logs,
            traces,
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

    /// Carries out one action.
    pub async fn act(&mut self, action: &Action) -> ActionOutcome {
        let result = match action {
            Action::Component { verb, name } => self.stack.act(*verb, name).await,
            _ => match (&self.sqs, &self.targets.queue_url, &self.targets.dlq_url) {
                (Some(client), Some(queue), Some(dlq)) => {
                    dead_letter_actions::act(client, queue, dlq, action).await
                }
                _ => Err("no queue and dead-letter queue to act on".to_owned()),
            },
        };
        match result {
            Ok(message) => ActionOutcome { message, ok: true },
            Err(message) => ActionOutcome { message, ok: false },
        }
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
