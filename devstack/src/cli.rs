//! The `devstack` command line. `devstack` alone means `devstack up`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sqs_emulator::persist::FsyncPolicy;
use sqs_emulator::protocol::context::QueueUrlStyle;

/// The command line of the `devstack` binary.
#[derive(Debug, Parser)]
#[command(
    name = "devstack",
    version,
    about = "Slipway's local platform: Postgres, Redis, an SQS emulator and the service, in one command.",
    long_about = "Slipway's local platform: Postgres, Redis, an SQS emulator and the service, in one command.\n\n\
                  With no subcommand, runs `up`. Settings are written to .devstack/env and .devstack/state.json."
)]
pub struct Cli {
    /// What to do; `up` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Directory holding `.devstack/` and `devstack.toml` (default: the workspace root).
    #[arg(long, global = true, env = "DEVSTACK_ROOT")]
    pub root: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Start the stack and run until Ctrl-C (the default).
    Up(UpArgs),
    /// Show whether a running stack's components are alive.
    Status,
    /// Print the running stack's settings as `export` lines.
    Env,
    /// Stop a running stack.
    Down,
    /// Delete the persistent data under .devstack/data.
    Reset {
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Run the SQS emulator alone, like elasticmq-native.
    Sqs(SqsArgs),
    /// Every component's log, merged in time order (works after the stack stopped).
    Logs(LogsArgs),
    /// Stop a component of the running stack and start it again (same port, same data).
    Restart {
        /// `postgres`, `redis`, `sqs`, `service`.
        component: String,
    },
    /// Stop a component of the running stack (it stays stopped until `start`).
    Stop {
        /// `postgres`, `redis`, `sqs`, `service`.
        component: String,
    },
    /// Start a stopped component of the running stack again.
    Start {
        /// `postgres`, `redis`, `sqs`, `service`.
        component: String,
    },
    /// One journey from the running stack's trace collector: every span of the traces that
    /// hold the order, the trace or the message, as a waterfall (or JSON).
    Trace(TraceArgs),
    /// Faults on purpose on the running stack: kill, restart, pause (SIGSTOP: a hung
    /// dependency) or resume a component, or list the faults in force (with the SQS
    /// emulator's fault rules).
    Chaos(ChaosArgs),
    /// Snapshots of the whole stack — every database, every Redis key, every queue and
    /// message — saved and loaded in a second, listed, removed, exported to one file and
    /// imported on another machine. Works on a running stack (its apps paused while saving,
    /// restarted after a load) and on a stopped one.
    Snapshot(SnapshotArgs),
}

/// Options of `devstack snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SnapshotArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: SnapshotAction,
}

/// What `devstack snapshot` does.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum SnapshotAction {
    /// Save the stack's state as NAME (under .devstack/snapshots/).
    Save {
        /// 1-64 letters, digits, '.', '-' or '_'.
        name: String,
        /// Replace a snapshot of that name.
        #[arg(long)]
        force: bool,
    },
    /// Put the stack's state back as snapshot NAME has it; the apps are restarted.
    Load {
        /// The snapshot.
        name: String,
    },
    /// The snapshots, with when they were taken, what they hold and their size.
    List,
    /// Delete snapshot NAME.
    Rm {
        /// The snapshot.
        name: String,
    },
    /// Write snapshot NAME to FILE, one .tar.gz to hand to a colleague.
    Export {
        /// The snapshot.
        name: String,
        /// Where to write it (`bug-123.tar.gz`).
        file: PathBuf,
    },
    /// Add the snapshot in FILE (made by `export`), as NAME or the name it was saved under.
    Import {
        /// The file.
        file: PathBuf,
        /// The name to give it here.
        name: Option<String>,
        /// Replace a snapshot of that name.
        #[arg(long)]
        force: bool,
    },
}

/// Options of `devstack chaos`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ChaosArgs {
    /// What to do.
    pub action: ChaosAction,
    /// To which component (`postgres`, `redis`, `service`, …); none for `list` and `reset`.
    pub component: Option<String>,
    /// The fault's size: `latency`'s delay (`200ms`), `bandwidth`'s rate (`64KB/s`, `1MB/s`,
    /// a bare number is KB/s), the delay before `reset-peer` cuts or `timeout` closes
    /// connections (default 0: at once, or never for `timeout`).
    pub value: Option<String>,
    /// With `latency`: up to this much more or less, at random, per chunk (`50ms`).
    #[arg(long, value_name = "DURATION")]
    pub jitter: Option<humantime::Duration>,
    /// Undo it after DURATION (`30s`, `2m`): a killed component is started again, a paused
    /// one resumed, a network fault removed.
    #[arg(long = "for", value_name = "DURATION")]
    pub for_duration: Option<humantime::Duration>,
}

/// What `devstack chaos` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChaosAction {
    /// SIGKILL: a crash; it stays down (or `--for` a while).
    Kill,
    /// Stop it and start it again.
    Restart,
    /// SIGSTOP: it holds its connections and answers nothing.
    Pause,
    /// SIGCONT: a paused component runs again.
    Resume,
    /// Delay what Postgres or Redis sends back, through its proxy (`latency postgres 200ms`).
    Latency,
    /// Limit how fast Postgres or Redis sends back (`bandwidth redis 64KB/s`).
    Bandwidth,
    /// Cut its connections with a TCP reset, now or after a delay; new ones too.
    ResetPeer,
    /// A black hole: nothing gets through; connections close after the delay, if one.
    Timeout,
    /// Undo every fault: toxics removed, paused components resumed, killed ones started.
    Reset,
    /// The faults in force.
    List,
}

/// Options of `devstack trace`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["order_id", "trace_id", "message_id"])))]
pub struct TraceArgs {
    /// The traces that touch this order (the spans' `order.id` attribute).
    #[arg(long, value_name = "ID")]
    pub order_id: Option<String>,
    /// One trace, by its id (32 hex digits).
    #[arg(long, value_name = "ID")]
    pub trace_id: Option<String>,
    /// The traces that carry this SQS message (the spans' `messaging.message.id`).
    #[arg(long, value_name = "ID")]
    pub message_id: Option<String>,
    /// Print one JSON array of spans (`trace_id`, `span_id`, `parent_span_id`, `name`,
    /// `service`, `start_unix_nano`, `end_unix_nano`, `status`, `attributes`, …).
    #[arg(long)]
    pub json: bool,
}

/// Options of `devstack logs`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LogsArgs {
    /// Only these components (`postgres`, `redis`, `service`, `build`, …); all when omitted.
    pub components: Vec<String>,
    /// Keep printing lines as they are written, until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
    /// Only lines written in the last DURATION (`30s`, `5m`, `2h`, `1d`).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<humantime::Duration>,
    /// Only lines containing TEXT (as shown, after JSON lines are rendered).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
}

/// How a component is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// Native if its binary is installed, else Docker if an engine answers.
    Auto,
    /// A local binary run as a child process.
    Native,
    /// A container, through a Docker engine.
    Docker,
    /// In-process (the SQS emulator only).
    Embedded,
}

/// Options of `devstack up`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Args)]
pub struct UpArgs {
    /// Keep data in a temporary directory removed at exit.
    #[arg(long)]
    pub ephemeral: bool,
    /// Run the infrastructure only, not the service.
    #[arg(long)]
    pub no_service: bool,
    /// Backend for Postgres and Redis.
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// Use this Postgres instead of starting one.
    #[arg(long, env = "DEVSTACK_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// Use this Redis instead of starting one.
    #[arg(long, env = "DEVSTACK_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Use this SQS endpoint instead of the embedded emulator.
    #[arg(long, env = "DEVSTACK_SQS_URL")]
    pub sqs_url: Option<String>,
    /// Postgres port (a free one is picked when taken).
    #[arg(long)]
    pub postgres_port: Option<u16>,
    /// Redis port (a free one is picked when taken).
    #[arg(long)]
    pub redis_port: Option<u16>,
    /// SQS emulator port (a free one is picked when taken).
    #[arg(long)]
    pub sqs_port: Option<u16>,
    /// The trace collector's OTLP/HTTP port (4318; a free one is picked when taken).
    #[arg(long)]
    pub otlp_port: Option<u16>,
    /// The trace collector's OTLP/gRPC port (4317; a free one is picked when taken).
    #[arg(long)]
    pub otlp_grpc_port: Option<u16>,
    /// Service HTTP port (a free one is picked when taken).
    #[arg(long)]
    pub service_port: Option<u16>,
    /// Start even when an emulator data file is damaged: keep every record that can be read
    /// and move the damaged file aside (never deleted). Without it, damage stops `up`.
    #[arg(long)]
    pub repair: bool,
    /// Hand apps Postgres's and Redis's own URLs rather than devstack's TCP proxies in front
    /// of them (then `devstack chaos latency|bandwidth|reset-peer|timeout` cannot act).
    #[arg(long)]
    pub no_proxy: bool,
    /// Reload on save: rebuild an app when its sources change and replace the running
    /// process (a failed build keeps the old one serving). Also `watch = true` in
    /// devstack.toml.
    #[arg(long)]
    pub watch: bool,
    /// Also forward every span received to this OTLP/HTTP collector (Jaeger, Tempo, an
    /// OpenTelemetry Collector), e.g. `http://localhost:14318`.
    #[arg(long, value_name = "URL")]
    pub otlp_forward: Option<String>,
}

/// Options of `devstack sqs`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SqsArgs {
    /// Address to bind; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (ElasticMQ's default).
    #[arg(long, default_value_t = 9324)]
    pub port: u16,
    /// Region of requests that name none: a request signed for a region (SigV4), or sent
    /// to a `sqs.<region>.` host, acts in that region; the same name in two regions is two
    /// queues.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION", value_parser = parse_region)]
    pub region: String,
    /// Account id used in queue URLs and ARNs.
    #[arg(long, default_value = "000000000000")]
    pub account_id: String,
    /// How queue URLs are written: `path` (`http://HOST/ACCOUNT/NAME`, with the host the
    /// client used) or `host` (`http://sqs.REGION.HOST/ACCOUNT/NAME`, as AWS writes them).
    #[arg(long, default_value = "path", value_name = "STYLE")]
    pub queue_url_style: QueueUrlStyle,
    /// Keep queues and messages in this directory, restored at the next start (in memory
    /// when omitted).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// With --data-dir: when to sync the journal to disk — `always` (a request answers once
    /// its change is on disk) or an interval such as `100ms` (a power cut may lose that
    /// window; a killed emulator loses nothing either way).
    #[arg(long, default_value = "100ms", requires = "data_dir")]
    pub fsync: FsyncPolicy,
    /// Do not create the queues `devstack.toml` declares (by default `orders` and
    /// `orders-dlq`).
    #[arg(long)]
    pub no_declared_queues: bool,
    /// With --data-dir: start even when a data file is damaged, keeping every record that
    /// can be read and moving the damaged file aside (never deleted). Without it, damage
    /// stops the start and changes nothing.
    #[arg(long, requires = "data_dir")]
    pub repair: bool,
    /// How many messages' histories to keep for `GET /_slipway/messages/{id}/history`, the
    /// oldest forgotten first; 0 records none.
    #[arg(long, default_value_t = sqs_emulator::history::DEFAULT_CAPACITY)]
    pub message_history: usize,
}

impl Cli {
    /// The subcommand to run, `up` with default options when omitted.
    pub fn command(&self) -> Command {
        self.command
            .clone()
            .unwrap_or_else(|| Command::Up(UpArgs::default()))
    }
}

/// A region name as AWS forms them (`us-east-1`).
fn parse_region(text: &str) -> Result<String, String> {
    if sqs_emulator::core::scope::is_region(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a region name (lowercase letters, digits and hyphens, like us-east-1)"
        ))
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
    fn no_subcommand_means_up() {
        let cli = Cli::try_parse_from(["devstack"]).unwrap();
        assert_eq!(cli.command(), Command::Up(UpArgs::default()));
    }

    #[test]
    fn up_takes_its_flags() {
        let cli = Cli::try_parse_from([
            "devstack",
            "up",
            "--ephemeral",
            "--no-service",
            "--backend",
            "native",
            "--redis-port",
            "7000",
        ])
        .unwrap();
        let Command::Up(args) = cli.command() else {
            panic!("not up")
        };
        assert!(args.ephemeral && args.no_service);
        assert_eq!(args.backend, Some(BackendChoice::Native));
        assert_eq!(args.redis_port, Some(7000));
    }

    #[test]
    fn sqs_defaults_to_loopback_on_elasticmq_port() {
        let cli = Cli::try_parse_from(["devstack", "sqs"]).unwrap();
        let Command::Sqs(args) = cli.command() else {
            panic!("not sqs")
        };
        assert_eq!(args.port, 9324);
        assert!(args.host.is_loopback());
        assert_eq!(args.queue_url_style, QueueUrlStyle::Path);
    }

    #[test]
    fn sqs_takes_a_region_and_a_url_style() {
        let cli = Cli::try_parse_from([
            "devstack",
            "sqs",
            "--region",
            "eu-west-1",
            "--queue-url-style",
            "host",
        ])
        .unwrap();
        let Command::Sqs(args) = cli.command() else {
            panic!("not sqs")
        };
        assert_eq!(args.region, "eu-west-1");
        assert_eq!(args.queue_url_style, QueueUrlStyle::Host);
        assert!(Cli::try_parse_from(["devstack", "sqs", "--region", "Mars 1"]).is_err());
        assert!(Cli::try_parse_from(["devstack", "sqs", "--queue-url-style", "vhost"]).is_err());
    }

    #[test]
    fn logs_takes_components_and_filters() {
        let cli = Cli::try_parse_from([
            "devstack", "logs", "redis", "service", "-f", "--since", "5m", "--grep", "ERROR",
        ])
        .unwrap();
        let Command::Logs(args) = cli.command() else {
            panic!("not logs")
        };
        assert_eq!(args.components, ["redis", "service"]);
        assert!(args.follow);
        assert_eq!(
            std::time::Duration::from(args.since.unwrap()),
            std::time::Duration::from_secs(300)
        );
        assert_eq!(args.grep.as_deref(), Some("ERROR"));
        assert!(Cli::try_parse_from(["devstack", "logs", "--since", "soon"]).is_err());
    }

    #[test]
    fn component_actions_name_one_component() {
        let cli = Cli::try_parse_from(["devstack", "restart", "redis"]).unwrap();
        assert_eq!(
            cli.command(),
            Command::Restart {
                component: "redis".into()
            }
        );
        assert!(Cli::try_parse_from(["devstack", "stop"]).is_err());
        assert!(Cli::try_parse_from(["devstack", "start", "a", "b"]).is_err());
    }

    #[test]
    fn snapshot_takes_its_actions() {
        let cli =
            Cli::try_parse_from(["devstack", "snapshot", "save", "bug-1", "--force"]).unwrap();
        let Command::Snapshot(args) = cli.command() else {
            panic!("not snapshot")
        };
        assert_eq!(
            args.action,
            SnapshotAction::Save {
                name: "bug-1".into(),
                force: true
            }
        );
        let cli = Cli::try_parse_from(["devstack", "snapshot", "import", "x.tar.gz"]).unwrap();
        let Command::Snapshot(args) = cli.command() else {
            panic!("not snapshot")
        };
        assert!(matches!(
            args.action,
            SnapshotAction::Import { name: None, .. }
        ));
        assert!(Cli::try_parse_from(["devstack", "snapshot", "load"]).is_err());
        assert!(Cli::try_parse_from(["devstack", "snapshot", "export", "a"]).is_err());
    }

    #[test]
    fn reset_and_bad_input() {
        let cli = Cli::try_parse_from(["devstack", "reset", "-y"]).unwrap();
        assert_eq!(cli.command(), Command::Reset { yes: true });
        assert!(Cli::try_parse_from(["devstack", "sqs", "--port", "70000"]).is_err());
        assert!(Cli::try_parse_from(["devstack", "up", "--backend", "podman"]).is_err());
        assert!(Cli::try_parse_from(["devstack", "launch"]).is_err());
    }
}
