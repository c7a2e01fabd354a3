//! The service's configuration: every setting an env var (12-factor) and a CLI flag, parsed by
//! clap. Secrets (URLs with passwords) are never printed: `--help` hides their values.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The command line of the `service` binary.
#[derive(Debug, Parser)]
#[command(
    name = "service",
    version,
    about = "The Slipway orders service: HTTP API and SQS worker pool."
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
}

/// The subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the HTTP API and run the worker pool (the default).
    Serve,
    /// Apply the embedded database migrations and exit (for a Kubernetes Job).
    Migrate,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable, for terminals.
    Pretty,
}

/// Settings, each from a flag or its environment variable.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Postgres connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Redis connection URL.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<String>,
    /// URL of the orders queue.
    #[arg(long, env = "SQS_QUEUE_URL", global = true)]
    pub sqs_queue_url: Option<String>,
    /// URL of the dead-letter queue; found through the queue's RedrivePolicy when omitted.
    #[arg(long, env = "SQS_DLQ_URL", global = true)]
    pub sqs_dlq_url: Option<String>,
    /// Address the HTTP server listens on.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080", global = true)]
    pub http_addr: SocketAddr,
    /// Number of workers processing messages concurrently.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024), global = true)]
    pub worker_concurrency: u16,
    /// Log format.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "json",
        global = true
    )]
    pub log_format: LogFormat,
}

impl Cli {
    /// The subcommand to run, `serve` by default.
    pub fn command(&self) -> Command {
        self.command.clone().unwrap_or(Command::Serve)
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
    fn serve_is_the_default_with_documented_defaults() {
        let cli = Cli::try_parse_from(["service"]).unwrap();
        assert_eq!(cli.command(), Command::Serve);
        assert_eq!(cli.settings.http_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(cli.settings.worker_concurrency, 8);
    }

    #[test]
    fn migrate_takes_flags_after_the_subcommand() {
        let cli = Cli::try_parse_from(["service", "migrate", "--database-url", "postgres://x/y"])
            .unwrap();
        assert_eq!(cli.command(), Command::Migrate);
        assert_eq!(cli.settings.database_url.as_deref(), Some("postgres://x/y"));
    }

    #[test]
    fn bad_values_are_rejected_with_the_flag_named() {
        let err = Cli::try_parse_from(["service", "--worker-concurrency", "0"]).unwrap_err();
        assert!(err.to_string().contains("--worker-concurrency"), "{err}");
        let err = Cli::try_parse_from(["service", "--http-addr", "nope"]).unwrap_err();
        assert!(err.to_string().contains("--http-addr"), "{err}");
        assert!(Cli::try_parse_from(["service", "--log-format", "xml"]).is_err());
    }
}
