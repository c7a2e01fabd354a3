//! The service's configuration: every setting an environment variable (12-factor) and a CLI
//! flag, parsed by clap and checked at start. Secrets (URLs with passwords, AWS keys) are
//! never printed: `--help` hides their values and [`Settings::redacted`] masks them for logs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

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
    /// Ask the service listening on HTTP_ADDR whether it is ready; exit 0 if so, 1 if not
    /// (a container healthcheck for images without curl).
    Healthcheck {
        /// The path to ask: `/health` (ready: dependencies up) or `/livez` (alive).
        #[arg(long, default_value = "/health")]
        path: String,
    },
}

/// What a `serve` process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Role {
    /// The HTTP API and the worker pool (the default; one process does everything).
    #[default]
    All,
    /// The HTTP API only: polls no queue. Scale it on CPU.
    Api,
    /// The worker pool only; HTTP serves `/health`, `/livez` and `/metrics`. Scale it on
    /// queue depth.
    Worker,
}

impl Role {
    /// Whether this process serves the orders API.
    pub fn serves_api(self) -> bool {
        matches!(self, Self::All | Self::Api)
    }

    /// Whether this process runs the worker pool.
    pub fn runs_workers(self) -> bool {
        matches!(self, Self::All | Self::Worker)
    }
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
    /// Most Postgres connections in the pool.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub database_pool_size: u32,
    /// How long a query waits for a pooled connection, in milliseconds.
    #[arg(
        long,
        env = "DATABASE_ACQUIRE_TIMEOUT_MS",
        default_value_t = 2000,
        global = true
    )]
    pub database_acquire_timeout_ms: u64,
    /// Redis connection URL.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<String>,
    /// What `serve` runs: `all` (API and workers), `api` (no queue polling) or `worker`
    /// (HTTP serves only /health, /livez and /metrics).
    #[arg(long, env = "SERVICE_ROLE", value_enum, default_value_t = Role::All, global = true)]
    pub role: Role,
    /// A CA certificate (PEM) to trust for `rediss://` instead of the Web PKI roots (a
    /// private CA; ElastiCache needs none).
    #[arg(long, env = "REDIS_CA_CERT", global = true)]
    pub redis_ca_cert: Option<std::path::PathBuf>,
    /// URL of the orders queue.
    #[arg(long, env = "SQS_QUEUE_URL", global = true)]
    pub sqs_queue_url: Option<String>,
    /// URL of the dead-letter queue; found through the queue's RedrivePolicy when omitted.
    #[arg(long, env = "SQS_DLQ_URL", global = true)]
    pub sqs_dlq_url: Option<String>,
    /// SQS endpoint (the AWS SDK's variable; for an emulator or ElasticMQ).
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    pub aws_endpoint_url: Option<String>,
    /// AWS region.
    #[arg(long, env = "AWS_REGION", global = true)]
    pub aws_region: Option<String>,
    /// AWS access key id; the SDK's default credential chain is used when omitted.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true, global = true)]
    pub aws_access_key_id: Option<String>,
    /// AWS secret access key.
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true,
        global = true
    )]
    pub aws_secret_access_key: Option<String>,
    /// Address the HTTP server listens on.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080", global = true)]
    pub http_addr: SocketAddr,
    /// Bind with SO_REUSEPORT, so that a new process can listen on the same address before
    /// this one drains (devstack's start-first reload). Off by default: a second service on
    /// the same port should fail, not share it.
    #[arg(long, env = "HTTP_REUSE_PORT", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub http_reuse_port: bool,
    /// Number of workers processing messages concurrently.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024), global = true)]
    pub worker_concurrency: u16,
    /// Simulated work per order, in milliseconds (0: none).
    #[arg(long, env = "WORKER_WORK_MS", default_value_t = 0, global = true)]
    pub worker_work_ms: u64,
    /// Long-poll wait of the pollers, in seconds (0–20).
    #[arg(long, env = "SQS_WAIT_TIME_SECONDS", default_value_t = 20, value_parser = clap::value_parser!(i32).range(0..=20), global = true)]
    pub sqs_wait_time_seconds: i32,
    /// Creates allowed per customer per minute.
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 6000, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub rate_limit_per_minute: u32,
    /// How long an order stays in the read cache, in seconds.
    #[arg(long, env = "CACHE_TTL_SECONDS", default_value_t = 300, global = true)]
    pub cache_ttl_seconds: u64,
    /// Most orders kept in the process's own cache tier in front of Redis (terminal orders
    /// only, which cannot change); 0 turns the tier off.
    #[arg(
        long,
        env = "CACHE_LOCAL_ENTRIES",
        default_value_t = 10_000,
        global = true
    )]
    pub cache_local_entries: usize,
    /// Per-request timeout, in milliseconds.
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub request_timeout_ms: u64,
    /// Largest request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 65_536, global = true)]
    pub max_body_bytes: usize,
    /// Most requests served at once; more get 503 at once.
    #[arg(
        long,
        env = "MAX_CONCURRENT_REQUESTS",
        default_value_t = 1024,
        global = true
    )]
    pub max_concurrent_requests: usize,
    /// How long shutdown may take, in seconds.
    #[arg(
        long,
        env = "SHUTDOWN_GRACE_SECONDS",
        default_value_t = 25,
        global = true
    )]
    pub shutdown_grace_seconds: u64,
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

/// A setting that is missing or wrong, said so that the operator knows what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    /// The variable (and flag).
    pub setting: &'static str,
    /// What is wrong.
    pub problem: String,
}

impl Cli {
    /// Parses `args` (after the program name) with `env` standing in for the process's
    /// environment: every setting whose variable `env` holds is passed as its flag. For tests
    /// and tools that run the service in-process next to others, without touching the
    /// process's environment.
    pub fn try_parse_with_env(
        env: &BTreeMap<String, String>,
        args: &[&str],
    ) -> Result<Self, clap::Error> {
        let mut argv = vec!["service".to_owned()];
        for arg in <Self as CommandFactory>::command().get_arguments() {
            let (Some(var), Some(long)) = (arg.get_env(), arg.get_long()) else {
                continue;
            };
            if let Some(value) = var.to_str().and_then(|name| env.get(name))
                && arg.get_action().takes_values()
            {
                argv.push(format!("--{long}={value}"));
            }
        }
        argv.extend(args.iter().map(|arg| (*arg).to_owned()));
        Self::try_parse_from(argv)
    }

    /// The subcommand to run, `serve` by default.
    pub fn command(&self) -> Command {
        self.command.clone().unwrap_or(Command::Serve)
    }
}

impl Settings {
    /// The database URL, required.
    pub fn require_database_url(&self) -> Result<&str, ConfigError> {
        require(
            "DATABASE_URL (--database-url)",
            self.database_url.as_deref(),
            &["postgres://", "postgresql://"],
        )
    }

    /// The Redis URL, required.
    pub fn require_redis_url(&self) -> Result<&str, ConfigError> {
        require(
            "REDIS_URL (--redis-url)",
            self.redis_url.as_deref(),
            &["redis://", "rediss://"],
        )
    }

    /// The queue URL, required.
    pub fn require_queue_url(&self) -> Result<&str, ConfigError> {
        require(
            "SQS_QUEUE_URL (--sqs-queue-url)",
            self.sqs_queue_url.as_deref(),
            &["http://", "https://"],
        )
    }

    /// Checks everything `serve` needs, reporting every problem at once.
    pub fn check_for_serve(&self) -> Result<(), Vec<ConfigError>> {
        let mut problems = Vec::new();
        for result in [
            self.require_database_url().err(),
            self.require_redis_url().err(),
            self.require_queue_url().err(),
        ] {
            problems.extend(result);
        }
        if self.aws_access_key_id.is_some() != self.aws_secret_access_key.is_some() {
            problems.push(ConfigError {
                setting: "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
                problem: "set both or neither".into(),
            });
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The settings as loggable text, passwords and keys masked.
    pub fn redacted(&self) -> String {
        format!(
            "database={} redis={} queue={} dlq={} endpoint={} http={} workers={} log={:?}",
            self.database_url
                .as_deref()
                .map_or_else(|| "-".into(), redact_url),
            self.redis_url
                .as_deref()
                .map_or_else(|| "-".into(), redact_url),
            self.sqs_queue_url.as_deref().unwrap_or("-"),
            self.sqs_dlq_url
                .as_deref()
                .unwrap_or("(from RedrivePolicy)"),
            self.aws_endpoint_url.as_deref().unwrap_or("(AWS)"),
            self.http_addr,
            self.worker_concurrency,
            self.log_format,
        )
    }
}

fn require<'a>(
    setting: &'static str,
    value: Option<&'a str>,
    schemes: &[&str],
) -> Result<&'a str, ConfigError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Err(ConfigError {
            setting,
            problem: "is required (see README: `eval \"$(cargo run -q -p devstack -- env)\"`)"
                .into(),
        }),
        Some(v) if schemes.iter().any(|s| v.starts_with(s)) => Ok(v),
        Some(v) => Err(ConfigError {
            setting,
            problem: format!(
                "`{}` should start with {}",
                redact_url(v),
                schemes.join(" or ")
            ),
        }),
    }
}

/// A URL with its password replaced by `***` (the shared rule of `slipway_contracts`).
pub use slipway_contracts::redact::url as redact_url;

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

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
    fn the_role_is_a_flag_or_its_variable() {
        assert_eq!(
            Cli::try_parse_from(["service"]).unwrap().settings.role,
            Role::All
        );
        let cli = Cli::try_parse_from(["service", "serve", "--role", "worker"]).unwrap();
        assert_eq!(cli.settings.role, Role::Worker);
        assert!(!Role::Worker.serves_api() && Role::Worker.runs_workers());
        assert!(Role::Api.serves_api() && !Role::Api.runs_workers());
        let env = BTreeMap::from([("SERVICE_ROLE".to_owned(), "api".to_owned())]);
        assert_eq!(
            Cli::try_parse_with_env(&env, &[]).unwrap().settings.role,
            Role::Api
        );
        let err = Cli::try_parse_from(["service", "--role", "both"]).unwrap_err();
        assert!(err.to_string().contains("--role"), "{err}");
    }

    #[test]
    fn migrate_takes_flags_after_the_subcommand() {
        let cli = Cli::try_parse_from(["service", "migrate", "--database-url", "postgres://x/y"])
            .unwrap();
        assert_eq!(cli.command(), Command::Migrate);
        assert_eq!(
            cli.settings.require_database_url().unwrap(),
            "postgres://x/y"
        );
    }

    #[test]
    fn bad_values_are_rejected_with_the_flag_named() {
        let err = Cli::try_parse_from(["service", "--worker-concurrency", "0"]).unwrap_err();
        assert!(err.to_string().contains("--worker-concurrency"), "{err}");
        let err = Cli::try_parse_from(["service", "--http-addr", "nope"]).unwrap_err();
        assert!(err.to_string().contains("--http-addr"), "{err}");
        assert!(Cli::try_parse_from(["service", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn serve_lists_every_missing_setting() {
        let cli = Cli::try_parse_from([
            "service",
            "--database-url",
            "mysql://x",
            "--aws-access-key-id",
            "k",
        ])
        .unwrap();
        let problems = cli.settings.check_for_serve().unwrap_err();
        let settings: Vec<&str> = problems.iter().map(|p| p.setting).collect();
        assert!(
            settings.iter().any(|s| s.starts_with("DATABASE_URL")),
            "{settings:?}"
        );
        assert!(settings.iter().any(|s| s.starts_with("REDIS_URL")));
        assert!(settings.iter().any(|s| s.starts_with("SQS_QUEUE_URL")));
        assert!(settings.iter().any(|s| s.starts_with("AWS_ACCESS_KEY_ID")));
    }

    #[test]
    fn secrets_are_redacted() {
        let cli = Cli::try_parse_from([
            "service",
            "--database-url",
            "postgres://u:hunter2@h/d",
            "--redis-url",
            "redis://:pw@r:6379",
        ])
        .unwrap();
        let text = cli.settings.redacted();
        assert!(
            !text.contains("hunter2") && !text.contains(":pw@"),
            "{text}"
        );
    }

    #[test]
    fn an_environment_map_stands_in_for_the_process_environment() {
        let env = BTreeMap::from([
            ("DATABASE_URL".to_owned(), "postgres://u@h/db".to_owned()),
            ("WORKER_CONCURRENCY".to_owned(), "3".to_owned()),
            ("NOT_A_SETTING".to_owned(), "x".to_owned()),
        ]);
        let cli =
            Cli::try_parse_with_env(&env, &["migrate", "--http-addr", "127.0.0.1:0"]).unwrap();
        assert_eq!(cli.command(), Command::Migrate);
        assert_eq!(
            cli.settings.database_url.as_deref(),
            Some("postgres://u@h/db")
        );
        assert_eq!(cli.settings.worker_concurrency, 3);
        assert_eq!(cli.settings.http_addr.to_string(), "127.0.0.1:0");
    }
}
