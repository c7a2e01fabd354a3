//! SQS for the stack: the embedded emulator (default, in this process), ElasticMQ through
//! Docker, or an external endpoint; then the declared queues are created through the SQS API,
//! whatever the backend.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use sqs_emulator::faults::RuleSpec;
use sqs_emulator::history::PhaseSink;
use sqs_emulator::persist::{PersistOptions, Recovery};
use sqs_emulator::server::{Emulator, StartError};

use super::LaunchError;
use crate::config::QueueDeclaration;

/// The region devstack's SQS clients use.
pub const REGION: &str = "us-east-1";

/// Starts the embedded emulator on 127.0.0.1:`port`, keeping its queues and messages in
/// `data_dir` when one is given (a persistent stack), in memory otherwise. `repair`: start
/// even over a damaged data file, keeping what can be read (see `persist::replay`). With
/// `phases`, the life of every message that carries a trace context goes there as spans.
pub async fn start_embedded(
    port: u16,
    data_dir: Option<&Path>,
    repair: bool,
    phases: Option<Arc<dyn PhaseSink>>,
) -> Result<Emulator, LaunchError> {
    let mut builder = Emulator::builder();
    if let Some(sink) = phases {
        builder = builder.phases(sink);
    }
    if let Some(dir) = data_dir {
        let mut options = PersistOptions::new(dir);
        options.repair = repair;
        builder = builder.persist(options);
    }
    builder
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|e| match e {
            StartError::Bind { .. } => {
                LaunchError::Io(format!("sqs: cannot start on 127.0.0.1:{port}: {e}"))
            }
            other => LaunchError::Io(format!("sqs: {other}")),
        })
}

/// The embedded emulator, as a component of the stack.
pub struct EmbeddedSqs(pub Emulator);

impl std::fmt::Debug for EmbeddedSqs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EmbeddedSqs")
            .field(&self.0.endpoint())
            .finish()
    }
}

#[async_trait::async_trait]
impl crate::component::Instance for EmbeddedSqs {
    fn backend(&self) -> slipway_contracts::state::Backend {
        slipway_contracts::state::Backend::Embedded
    }

    fn url(&self) -> String {
        self.0.endpoint()
    }

    fn notes(&self) -> Vec<String> {
        self.0.recovery().map(recovery_notes).unwrap_or_default()
    }

    async fn stop(self: Box<Self>) {
        let _ = self.0.shutdown().await;
    }
}

/// What a restart of a persistent emulator did that a person should hear of: a torn journal
/// end cut off, files upgraded from an older format, damaged files moved aside by a repair.
pub fn recovery_notes(recovery: &Recovery) -> Vec<String> {
    let mut notes = Vec::new();
    if recovery.truncated_bytes > 0 {
        notes.push(format!(
            "sqs: the journal ended in a record cut short by a crash ({} bytes), cut off",
            recovery.truncated_bytes
        ));
    }
    if recovery.upgraded_files > 0 {
        notes.push(format!(
            "sqs: {} data file(s) from format 0 were read and rewritten in format {}",
            recovery.upgraded_files,
            sqs_emulator::persist::header::VERSION
        ));
    }
    for file in &recovery.repaired {
        notes.push(format!(
            "sqs: repair kept {} record(s) of {} (damaged at byte {}: {}); the file was moved to {}",
            file.records_kept,
            file.original.display(),
            file.damaged_at,
            file.reason,
            file.moved_to.display()
        ));
    }
    notes
}

/// An SDK client for `endpoint` with static local credentials.
pub fn client(endpoint: &str) -> Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "devstack", "devstack", None, None, "devstack",
        ))
        .build();
    Client::from_conf(config)
}

/// Adds the declared fault rules (`[[faults]]`) to the emulator at `endpoint` through its
/// `/_slipway/faults` API; a backend without that API (ElasticMQ) is an error that says so.
pub async fn declare_faults(endpoint: &str, rules: &[RuleSpec]) -> Result<(), LaunchError> {
    let client = reqwest::Client::new();
    for rule in rules {
        let response = client
            .post(format!("{endpoint}/_slipway/faults"))
            .json(rule)
            .send()
            .await
            .map_err(|e| LaunchError::Io(format!("sqs: cannot declare a fault rule: {e}")))?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            return Err(LaunchError::Io(format!(
                "sqs: the emulator refused a [[faults]] rule ({status}; fault rules need the \
                 embedded emulator): {text}"
            )));
        }
    }
    Ok(())
}

/// Creates the declared queues in order (a DLQ before its users) and returns their URLs.
pub async fn create_queues(
    endpoint: &str,
    queues: &[QueueDeclaration],
) -> Result<HashMap<String, String>, LaunchError> {
    create_queues_with(&client(endpoint), queues, |name| name.to_string()).await
}

/// Creates `queues`, naming each with `rename` (tests add a unique suffix).
pub async fn create_queues_with(
    client: &Client,
    queues: &[QueueDeclaration],
    rename: impl Fn(&str) -> String,
) -> Result<HashMap<String, String>, LaunchError> {
    let mut urls = HashMap::new();
    let mut arns = HashMap::new();
    for queue in queues {
        let name = rename(&queue.name);
        let mut request = client.create_queue().queue_name(&name);
        for (key, value) in &queue.attributes {
            request = request.attributes(QueueAttributeName::from(key.as_str()), value);
        }
        if let Some(dl) = &queue.dead_letter {
            let arn: &String = arns.get(&dl.queue).ok_or_else(|| {
                LaunchError::Io(format!(
                    "queue {}: dead-letter queue {} is not declared before it",
                    queue.name, dl.queue
                ))
            })?;
            let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": dl.max_receive_count});
            request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let url = request
            .send()
            .await
            .map_err(|e| {
                LaunchError::Io(format!(
                    "sqs: cannot create queue {name}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                ))
            })?
            .queue_url
            .unwrap_or_default();
        let arn = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .ok()
            .and_then(|out| out.attributes)
            .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| LaunchError::Io(format!("sqs: queue {name} has no QueueArn")))?;
        arns.insert(queue.name.clone(), arn);
        urls.insert(queue.name.clone(), url);
    }
    Ok(urls)
}
