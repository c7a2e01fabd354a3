//! What the dashboard watches: the services' metrics URLs, the SQS endpoint and the two
//! queues, and a running `devstack up`'s control socket. From flags and env first, then
//! `.devstack/state.json` (the socket lies beside it).

use std::path::{Path, PathBuf};

use slipway_contracts::control::SOCKET_FILE;
use slipway_contracts::state::{self, StackState};

use crate::cli::Cli;

/// The resolved targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// Every service replica's `/metrics` URL (at least one).
    pub metrics_urls: Vec<String>,
    /// The SQS endpoint; `None` means the SDK's default (Amazon SQS).
    pub sqs_endpoint: Option<String>,
    /// The work queue.
    pub queue_url: Option<String>,
    /// Its dead-letter queue.
    pub dlq_url: Option<String>,
    /// A running `devstack up`'s control socket (components and logs).
    pub control_socket: Option<PathBuf>,
}

/// Why targets could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Nothing to watch.
    #[error(
        "nothing to watch: pass --metrics-url (and --queue-url/--dlq-url), or start a stack with `cargo run -p devstack`"
    )]
    Nothing,
    /// A state file that exists but cannot be read.
    #[error("{0}")]
    State(String),
}

impl Targets {
    /// Resolves flags (with their env), then the state file.
    pub fn resolve(cli: &Cli) -> Result<Self, TargetError> {
        let state_path = cli.state_file.clone().or_else(|| {
            std::env::current_dir()
                .ok()
                .and_then(|dir| state::locate(&dir))
        });
        let stack = match &state_path {
            Some(path) => read_state(path, cli.state_file.is_some())?,
            None => None,
        };
        let from_state = |key: &str| stack.as_ref().and_then(|s| s.env.get(key).cloned());
        let metrics_urls = if cli.metrics_urls.is_empty() {
            from_state("SERVICE_URL")
                .map(|url| vec![format!("{}/metrics", url.trim_end_matches('/'))])
                .unwrap_or_default()
        } else {
            cli.metrics_urls.clone()
        };
        let targets = Self {
            metrics_urls,
            sqs_endpoint: cli
                .sqs_endpoint
                .clone()
                .or_else(|| from_state("AWS_ENDPOINT_URL")),
            queue_url: cli
                .queue_url
                .clone()
                .or_else(|| from_state("SQS_QUEUE_URL")),
            dlq_url: cli.dlq_url.clone().or_else(|| from_state("SQS_DLQ_URL")),
            control_socket: cli.control_socket.clone().or_else(|| {
                let state_path = state_path.as_ref().filter(|_| stack.is_some())?;
                Some(state_path.parent()?.join(SOCKET_FILE))
            }),
        };
        if targets.metrics_urls.is_empty()
            && targets.queue_url.is_none()
            && targets.control_socket.is_none()
        {
            return Err(TargetError::Nothing);
        }
        Ok(targets)
    }
}

fn read_state(path: &Path, explicit: bool) -> Result<Option<StackState>, TargetError> {
    match StackState::read(path) {
        Ok(stack) => Ok(Some(stack)),
        Err(state::StateError::NotFound(_)) if !explicit => Ok(None),
        Err(error) => Err(TargetError::State(error.to_string())),
    }
}

/// The queue's name, the last segment of its URL.
pub fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::collections::BTreeMap;

    #[test]
    fn the_state_file_fills_what_flags_leave_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        StackState {
            schema_version: state::SCHEMA_VERSION,
            devstack_pid: 1,
            ephemeral: true,
            components: Vec::new(),
            env: BTreeMap::from([
                ("SERVICE_URL".to_owned(), "http://127.0.0.1:8080".to_owned()),
                (
                    "AWS_ENDPOINT_URL".to_owned(),
                    "http://127.0.0.1:9324".to_owned(),
                ),
                (
                    "SQS_QUEUE_URL".to_owned(),
                    "http://127.0.0.1:9324/000000000000/orders".to_owned(),
                ),
                (
                    "SQS_DLQ_URL".to_owned(),
                    "http://127.0.0.1:9324/000000000000/orders-dlq".to_owned(),
                ),
            ]),
        }
        .write(&path)
        .unwrap();
        let file = path.to_str().unwrap();
        let cli = Cli::try_parse_from(["tui", "--state-file", file]).unwrap();
        let targets = Targets::resolve(&cli).unwrap();
        assert_eq!(targets.metrics_urls, ["http://127.0.0.1:8080/metrics"]);
        assert_eq!(
            targets.sqs_endpoint.as_deref(),
            Some("http://127.0.0.1:9324")
        );
        assert_eq!(
            queue_name(targets.dlq_url.as_deref().unwrap()),
            "orders-dlq"
        );
        assert_eq!(
            targets.control_socket,
            Some(dir.path().join("control.sock")),
            "the control socket lies beside the state file"
        );

        let cli = Cli::try_parse_from([
            "tui",
            "--state-file",
            file,
            "--metrics-url",
            "http://a/metrics,http://b/metrics",
        ])
        .unwrap();
        assert_eq!(Targets::resolve(&cli).unwrap().metrics_urls.len(), 2);

        let missing = dir.path().join("missing.json");
        let cli = Cli::try_parse_from(["tui", "--state-file", missing.to_str().unwrap()]).unwrap();
        assert!(matches!(Targets::resolve(&cli), Err(TargetError::State(_))));
    }
}
