//! The `devstack` binary: parses the command line and runs the chosen subcommand. An error
//! is printed for people — the error and its causes, one a line — never with a backtrace,
//! even under `RUST_BACKTRACE=1` (a panic, which is a bug, still prints its own).

use std::process::ExitCode;

use clap::Parser;
use devstack::cli::{Cli, Command};
use devstack::commands;
use devstack::paths::Paths;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", slipway_contracts::report::for_people(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let paths = match &cli.root {
        Some(root) => Paths::new(root),
        None => Paths::discover(&std::env::current_dir()?),
    };
    match cli.command() {
        Command::Up(args) => commands::up::run(&paths, args).await,
        Command::Status => commands::status::run(&paths).await,
        Command::Env => commands::env::run(&paths),
        Command::Down => commands::down::run(&paths).await,
        Command::Reset { yes } => commands::reset::run(&paths, yes),
        Command::Sqs(args) => devstack::sqs::run(&paths, args).await,
        Command::Logs(args) => commands::logs::run(&paths, args).await,
        Command::Restart { component } => commands::control::restart(&paths, component).await,
        Command::Stop { component } => commands::control::stop(&paths, component).await,
        Command::Start { component } => commands::control::start(&paths, component).await,
        Command::Trace(args) => commands::trace::run(&paths, args).await,
        Command::Chaos(args) => commands::chaos::run(&paths, args).await,
        Command::Snapshot(args) => commands::snapshot::run(&paths, args).await,
    }
}
