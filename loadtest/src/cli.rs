//! The `loadtest` command line. `loadtest` alone means `loadtest run`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The command line of the `loadtest` binary.
#[derive(Debug, Parser)]
#[command(
    name = "loadtest",
    version,
    about = "Load-test the Slipway service over HTTP and SQS, with SLO thresholds."
)]
pub struct Cli {
    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Run scenarios against a target (the default).
    Run(RunArgs),
    /// Merge the JSON summaries of several load-generator runs into one.
    Merge {
        /// The summaries to merge.
        #[arg(required = true)]
        summaries: Vec<PathBuf>,
    },
}

/// Options of `loadtest run`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Args)]
pub struct RunArgs {
    /// Base URL of the service; from .devstack/state.json when omitted.
    #[arg(long, env = "SERVICE_URL")]
    pub host: Option<String>,
    /// URL of the orders queue; from .devstack/state.json when omitted.
    #[arg(long, env = "SQS_QUEUE_URL")]
    pub queue_url: Option<String>,
    /// An SLO threshold such as `p99<50ms` or `error_rate<0.1%`; repeatable.
    #[arg(long = "slo")]
    pub slos: Vec<String>,
    /// Allow write scenarios against a host that is not loopback.
    #[arg(long)]
    pub allow_remote_writes: bool,
}

impl Cli {
    /// The subcommand to run, `run` with default options when omitted.
    pub fn command(&self) -> Command {
        self.command
            .clone()
            .unwrap_or_else(|| Command::Run(RunArgs::default()))
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
    fn slos_repeat() {
        let cli = Cli::try_parse_from(["loadtest", "run", "--slo", "p99<50ms", "--slo", "rps>500"])
            .unwrap();
        let Command::Run(args) = cli.command() else {
            panic!("not run")
        };
        assert_eq!(args.slos, ["p99<50ms", "rps>500"]);
    }

    #[test]
    fn merge_needs_files() {
        assert!(Cli::try_parse_from(["loadtest", "merge"]).is_err());
        let cli = Cli::try_parse_from(["loadtest", "merge", "a.json", "b.json"]).unwrap();
        assert!(matches!(cli.command(), Command::Merge { summaries } if summaries.len() == 2));
    }
}
