//! The `tui` command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The command line of the `tui` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tui",
    version,
    about = "A live dashboard of Slipway's worker pool, queues, DLQ and latency."
)]
pub struct Cli {
    /// A service's metrics URL; repeat for several replicas. From .devstack/state.json when omitted.
    #[arg(
        long = "metrics-url",
        env = "SLIPWAY_METRICS_URLS",
        value_delimiter = ','
    )]
    pub metrics_urls: Vec<String>,
    /// SQS endpoint; from .devstack/state.json or AWS_ENDPOINT_URL when omitted.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub sqs_endpoint: Option<String>,
    /// URL of the orders queue.
    #[arg(long, env = "SQS_QUEUE_URL")]
    pub queue_url: Option<String>,
    /// URL of the dead-letter queue.
    #[arg(long, env = "SQS_DLQ_URL")]
    pub dlq_url: Option<String>,
    /// Path of a devstack state file.
    #[arg(long, env = "DEVSTACK_STATE")]
    pub state_file: Option<PathBuf>,
    /// A running `devstack up`'s control socket; beside the state file when omitted.
    #[arg(long, env = "DEVSTACK_CONTROL_SOCKET")]
    pub control_socket: Option<PathBuf>,
    /// Refresh interval, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub refresh_ms: u64,
}

impl Cli {
    /// The refresh interval.
    pub fn refresh(&self) -> Duration {
        Duration::from_millis(self.refresh_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        <Cli as CommandFactory>::command().debug_assert();
    }

    #[test]
    fn several_metrics_targets() {
        let cli = Cli::try_parse_from([
            "tui",
            "--metrics-url",
            "http://a/metrics",
            "--metrics-url",
            "http://b/metrics",
        ])
        .unwrap();
        assert_eq!(cli.metrics_urls.len(), 2);
        assert_eq!(cli.refresh(), Duration::from_secs(1));
    }

    #[test]
    fn refresh_is_bounded() {
        assert!(Cli::try_parse_from(["tui", "--refresh-ms", "5"]).is_err());
        let cli = Cli::try_parse_from(["tui", "--refresh-ms", "250"]).unwrap();
        assert_eq!(cli.refresh(), Duration::from_millis(250));
    }
}
