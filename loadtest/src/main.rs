//! The `loadtest` binary: parses the command line and runs the chosen subcommand. Exit
//! status: 0 when every SLO and check passed, 99 when one failed, 1 on an error.

use std::process::ExitCode;

use clap::Parser;
use loadtest::cli::{Cli, Command};
use loadtest::run::{self, SLO_FAILED_EXIT};

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match Cli::parse().command() {
        Command::Run(args) => run::run(*args).await,
        Command::Merge(args) => run::merge(&args),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(SLO_FAILED_EXIT),
        Err(error) => {
            eprintln!("loadtest: {error:#}");
            ExitCode::FAILURE
        }
    }
}
