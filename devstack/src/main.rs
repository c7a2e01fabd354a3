//! The `devstack` binary: parses the command line and runs the chosen subcommand.

use clap::Parser;
use devstack::cli::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    let cli = Cli::parse();
    match cli.command() {
        Command::Sqs(args) => devstack::sqs::run(args).await,
        Command::Up(_) | Command::Status | Command::Env | Command::Down | Command::Reset { .. } => {
            println!(
                "devstack: Postgres, Redis and service launchers land with the devstack and service issues.\n\
                 Today `devstack sqs` runs the SQS emulator alone; see README.md."
            );
            Ok(())
        }
    }
}
