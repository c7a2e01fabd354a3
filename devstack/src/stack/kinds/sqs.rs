//! SQS: the embedded emulator (default, in this process) or ElasticMQ in a container. Once up,
//! the declared queues are created through the SQS API, whatever the backend, and apps get
//! `AWS_ENDPOINT_URL`, the region and credentials, and `SQS_QUEUE_URL`/`SQS_DLQ_URL`. The
//! embedded emulator reports each traced message's life (waiting, in flight, dead letter…) as
//! spans into the stack's traces ([`crate::otlp::queue_spans`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::{Kind, Plan, StackOptions, container};
use crate::cli::BackendChoice;
use crate::component::{Instance, Recipe};
use crate::config::DevstackConfig;
use crate::launch::LaunchError;
use crate::launch::sqs::{self, EmbeddedSqs};
use crate::otlp::queue_spans::QueueSpans;
use crate::otlp::receiver::Sink;

/// The kind.
#[derive(Debug)]
pub struct Sqs;

/// The embedded emulator on a fixed port, with its data directory (in memory when `None`: a
/// restart starts it empty), its message phases going to the stack's traces when it keeps
/// them.
#[derive(Debug)]
pub struct EmbeddedRecipe {
    port: u16,
    data_dir: Option<PathBuf>,
    repair: bool,
    telemetry: Option<Sink>,
}

#[async_trait::async_trait]
impl Recipe for EmbeddedRecipe {
    async fn start(&self) -> Result<Box<dyn Instance>, LaunchError> {
        let phases = self
            .telemetry
            .clone()
            .map(|sink| Arc::new(QueueSpans(sink)) as Arc<dyn sqs_emulator::history::PhaseSink>);
        let emulator =
            sqs::start_embedded(self.port, self.data_dir.as_deref(), self.repair, phases).await?;
        Ok(Box::new(EmbeddedSqs(emulator)))
    }
}

#[async_trait::async_trait]
impl Kind for Sqs {
    fn name(&self) -> &'static str {
        "sqs"
    }

    fn port(&self, config: &DevstackConfig) -> u16 {
        config.ports.sqs
    }

    fn given_url<'o>(&self, options: &'o StackOptions) -> Option<&'o str> {
        options.sqs_url.as_deref()
    }

    async fn plan(&self, plan: &Plan<'_>) -> Result<Box<dyn Recipe>, LaunchError> {
        match plan.options.config.backends.sqs {
            BackendChoice::Embedded | BackendChoice::Auto => Ok(Box::new(EmbeddedRecipe {
                port: plan.port,
                data_dir: (!plan.options.ephemeral).then(|| plan.data.join("sqs")),
                repair: plan.options.repair,
                telemetry: plan.options.telemetry.clone(),
            })),
            BackendChoice::Docker => container("sqs"),
            BackendChoice::Native => Err(LaunchError::Unsupported(
                "sqs: use `embedded` (the built-in emulator) or `docker` (ElasticMQ)".into(),
            )),
        }
    }

    async fn settings(
        &self,
        url: &str,
        config: &DevstackConfig,
    ) -> Result<Vec<(String, String)>, LaunchError> {
        let queues = sqs::create_queues(url, &config.queues).await?;
        sqs::declare_faults(url, &config.faults).await?;
        let mut settings = vec![
            ("AWS_ENDPOINT_URL".to_string(), url.to_string()),
            ("AWS_REGION".to_string(), sqs::REGION.to_string()),
            ("AWS_ACCESS_KEY_ID".to_string(), "devstack".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "devstack".to_string()),
        ];
        if let Some(url) = queues.get(&config.main_queue) {
            settings.push(("SQS_QUEUE_URL".to_string(), url.clone()));
        }
        if let Some(url) = config
            .main_dead_letter_queue()
            .and_then(|dlq| queues.get(dlq))
        {
            settings.push(("SQS_DLQ_URL".to_string(), url.clone()));
        }
        Ok(settings)
    }
}
