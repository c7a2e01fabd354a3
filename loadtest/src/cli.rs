//! The `loadtest` command line. `loadtest` alone means `loadtest run`.
//!
//! `run` takes every goose option (`--users`, `--run-time`, `--scenarios`, `--report-file`,
//! `--test-plan`…, flattened from goose's own `GooseConfiguration`, so goose's documentation
//! applies as is) plus Slipway's: the SQS targets, SLOs, scenario weights and the summary.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use goose::config::GooseConfiguration;

/// The command line of the `loadtest` binary.
#[derive(Debug, Parser)]
#[command(
    name = "loadtest",
    about = "Load-test the Slipway service over HTTP and SQS, with SLO thresholds.",
    after_help = "Exit status: 0 when every SLO and check passed, 99 when one failed, 1 on error.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `run`'s options, for `loadtest` without a subcommand.
    #[command(flatten)]
    pub run: Box<RunArgs>,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run scenarios against a target (the default).
    Run(Box<RunArgs>),
    /// Merge the JSON summaries of several load generators and judge SLOs on the whole.
    Merge(MergeArgs),
}

/// Options of `loadtest run`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Goose's own options. `--host` is the service's base URL (else `$SERVICE_URL`, else
    /// `.devstack/state.json`).
    #[command(flatten)]
    pub goose: GooseConfiguration,
    /// SQS endpoint (else `$AWS_ENDPOINT_URL_SQS`, `$AWS_ENDPOINT_URL`, the state file, or
    /// the SDK's default, Amazon SQS).
    #[arg(long, help_heading = "Slipway targets")]
    pub sqs_endpoint: Option<String>,
    /// URL of the orders queue (else `$SQS_QUEUE_URL` or the state file).
    #[arg(long, env = "SQS_QUEUE_URL", help_heading = "Slipway targets")]
    pub queue_url: Option<String>,
    /// URL of the dead-letter queue, searched by the poison check (else `$SQS_DLQ_URL`, the
    /// state file, or the queue's RedrivePolicy).
    #[arg(long, env = "SQS_DLQ_URL", help_heading = "Slipway targets")]
    pub dlq_url: Option<String>,
    /// The service's Prometheus endpoint (else `<host>/metrics`).
    #[arg(long, help_heading = "Slipway targets")]
    pub metrics_url: Option<String>,
    /// Path of a devstack state file (else `$DEVSTACK_STATE` or the nearest
    /// `.devstack/state.json`).
    #[arg(long, help_heading = "Slipway targets")]
    pub state_file: Option<PathBuf>,
    /// Allow scenarios that write (create orders, send messages) against a host or queue
    /// that is not loopback.
    #[arg(long, help_heading = "Slipway targets")]
    pub allow_remote_writes: bool,

    /// An SLO such as `p99<50ms`, `error_rate<0.1%`, `queue_lag_p99<2s`, `rps>500`, or
    /// `p95<20ms for GET /v1/orders/{id}`; repeatable. A failed SLO exits with status 99.
    #[arg(
        long = "slo",
        value_name = "RULE",
        help_heading = "Slipway SLOs and reports"
    )]
    pub slos: Vec<String>,
    /// Write the JSON summary (requests, queue figures, SLO verdicts) here; `-` for stdout,
    /// in which case the human report goes to stderr.
    #[arg(long, value_name = "FILE", help_heading = "Slipway SLOs and reports")]
    pub summary_file: Option<PathBuf>,

    /// A scenario's weight, as `NAME=N`; repeatable. Every scenario weighs 1 by default.
    #[arg(
        long = "weight",
        value_name = "NAME=N",
        value_parser = parse_weight,
        help_heading = "Slipway scenarios"
    )]
    pub weights: Vec<(String, usize)>,
    /// Orders the browse scenario creates at the start to read back.
    #[arg(
        long,
        default_value_t = 50,
        value_parser = clap::value_parser!(u32).range(1..=10_000),
        help_heading = "Slipway scenarios"
    )]
    pub seed_orders: u32,
    /// Browse this customer's existing orders instead of creating any: browse then never
    /// writes, and may run against a remote host.
    #[arg(long, value_name = "CUSTOMER_ID", help_heading = "Slipway scenarios")]
    pub browse_customer: Option<String>,
    /// Messages per SendMessageBatch in the queue scenario (1–10).
    #[arg(
        long,
        default_value_t = 10,
        value_parser = clap::value_parser!(u8).range(1..=10),
        help_heading = "Slipway scenarios"
    )]
    pub queue_batch: u8,
    /// Messages per second that each queue user sends; 0 sends as fast as SQS accepts (a
    /// flood, to measure how fast the service drains a backlog).
    #[arg(
        long,
        default_value_t = 200.0,
        value_parser = parse_rate_or_unlimited,
        help_heading = "Slipway scenarios"
    )]
    pub queue_rate: f64,
    /// Malformed messages per second that each poison user sends.
    #[arg(
        long,
        default_value_t = 5.0,
        value_parser = parse_rate,
        help_heading = "Slipway scenarios"
    )]
    pub poison_rate: f64,
    /// How long, after the load, to wait for queued orders to finish and poison messages to
    /// reach the DLQ, in seconds.
    #[arg(
        long,
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        help_heading = "Slipway scenarios"
    )]
    pub drain_timeout: u64,
    /// The path the ping scenario requests (a baseline for the generator itself).
    #[arg(long, default_value = "/livez", help_heading = "Slipway scenarios")]
    pub ping_path: String,
    /// Leave the poison messages in the DLQ after checking them (they are deleted by
    /// default, so that a load test leaves the DLQ as it found it).
    #[arg(long, help_heading = "Slipway scenarios")]
    pub keep_dead_letters: bool,

    /// A chaos plan: a TOML timeline of faults (kill, restart, pause, latency, sqs-error,
    /// sqs-duplicate, clock) applied during the load through the running devstack; what it
    /// leaves in force is undone when the load ends. See the README's "Chaos runs".
    #[arg(long, value_name = "PLAN.toml", help_heading = "Slipway chaos")]
    pub chaos: Option<PathBuf>,
    /// The orders database, read by the reconciliation (how often each order was applied)
    /// (else `$DATABASE_URL` or the state file). Without one, a run reconciles nothing; a
    /// chaos run refuses to start.
    #[arg(long, value_name = "URL", help_heading = "Slipway chaos")]
    pub database_url: Option<String>,
}

/// Options of `loadtest merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The summaries to merge (written by `run --summary-file`).
    #[arg(required = true)]
    pub summaries: Vec<PathBuf>,
    /// An SLO judged on the merged summary; repeatable.
    #[arg(long = "slo", value_name = "RULE")]
    pub slos: Vec<String>,
    /// Write the merged summary here (else stdout).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

fn parse_weight(text: &str) -> Result<(String, usize), String> {
    let (name, weight) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=N, found `{text}`"))?;
    let weight: usize = weight
        .trim()
        .parse()
        .map_err(|_| format!("`{weight}` is not a whole number"))?;
    if weight == 0 {
        return Err("a weight is at least 1; leave a scenario out with --scenarios".into());
    }
    Ok((name.trim().to_ascii_lowercase(), weight))
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if rate.is_finite() && rate > 0.0 && rate <= 10_000.0 {
        Ok(rate)
    } else {
        Err("a rate is more than 0 and at most 10000 per second".into())
    }
}

fn parse_rate_or_unlimited(text: &str) -> Result<f64, String> {
    if text.trim() == "0" {
        Ok(0.0)
    } else {
        parse_rate(text)
    }
}

impl Cli {
    /// The subcommand to run, `run` with default options when omitted.
    pub fn command(self) -> Command {
        self.command.unwrap_or(Command::Run(self.run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn run(args: &[&str]) -> RunArgs {
        let argv = ["loadtest", "run"].into_iter().chain(args.iter().copied());
        match Cli::try_parse_from(argv).unwrap().command() {
            Command::Run(run) => *run,
            Command::Merge(_) => panic!("not run"),
        }
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        <Cli as CommandFactory>::command().debug_assert();
    }

    #[test]
    fn slos_repeat_and_goose_options_pass_through() {
        let args = run(&[
            "--slo",
            "p99<50ms",
            "--slo",
            "rps>500",
            "--users",
            "7",
            "--run-time",
            "3s",
            "--scenarios",
            "browse,queue",
            "--host",
            "http://127.0.0.1:8080",
            "--report-file",
            "r.html",
        ]);
        assert_eq!(args.slos, ["p99<50ms", "rps>500"]);
        assert_eq!(args.goose.users, Some(7));
        assert_eq!(args.goose.run_time.as_deref(), Some("3s"));
        assert_eq!(
            args.goose.scenarios.map(|s| s.active),
            Some(vec!["browse".to_owned(), "queue".to_owned()])
        );
        assert_eq!(args.goose.host.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(args.goose.report_file, ["r.html"]);
    }

    #[test]
    fn weights_and_rates_are_checked() {
        let args = run(&["--weight", "Browse=4", "--weight", "queue=1"]);
        assert_eq!(
            args.weights,
            [("browse".to_owned(), 4), ("queue".to_owned(), 1)]
        );
        let bad = |args: &[&str]| {
            let argv = ["loadtest", "run"].into_iter().chain(args.iter().copied());
            Cli::try_parse_from(argv).unwrap_err().to_string()
        };
        assert!(bad(&["--weight", "browse"]).contains("NAME=N"));
        assert!(bad(&["--weight", "browse=0"]).contains("at least 1"));
        assert!(bad(&["--poison-rate", "0"]).contains("more than 0"));
        assert_eq!(run(&["--queue-rate", "0"]).queue_rate, 0.0);
        assert!(bad(&["--queue-rate=-1"]).contains("more than 0"));
        assert!(bad(&["--queue-batch", "11"]).contains("11"));
    }

    #[test]
    fn run_options_work_without_the_subcommand() {
        let Command::Run(args) =
            Cli::try_parse_from(["loadtest", "--run-time", "5s", "--slo", "rps>1"])
                .unwrap()
                .command()
        else {
            panic!("not run")
        };
        assert_eq!(args.goose.run_time.as_deref(), Some("5s"));
        assert_eq!(args.slos, ["rps>1"]);
    }

    #[test]
    fn no_subcommand_is_run_with_defaults() {
        let Command::Run(args) = Cli::try_parse_from(["loadtest"]).unwrap().command() else {
            panic!("not run")
        };
        assert_eq!(args.seed_orders, 50);
        assert_eq!(args.queue_batch, 10);
        assert_eq!(args.drain_timeout, 60);
        assert_eq!(args.ping_path, "/livez");
    }

    #[test]
    fn merge_needs_files_and_takes_slos() {
        assert!(Cli::try_parse_from(["loadtest", "merge"]).is_err());
        let cli = Cli::try_parse_from([
            "loadtest", "merge", "a.json", "b.json", "--slo", "p99<1s", "-o", "all.json",
        ])
        .unwrap();
        let Command::Merge(merge) = cli.command() else {
            panic!("not merge")
        };
        assert_eq!(merge.summaries.len(), 2);
        assert_eq!(merge.slos, ["p99<1s"]);
        assert_eq!(merge.output, Some(PathBuf::from("all.json")));
    }
}
