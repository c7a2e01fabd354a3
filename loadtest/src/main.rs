//! The `loadtest` binary: parses the command line and runs the chosen subcommand.

use clap::Parser;
use loadtest::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command() {
        Command::Run(_) | Command::Merge { .. } => anyhow::bail!(
            "loadtest scenarios are not built yet (see the loadtest issue); this binary only parses its flags today"
        ),
    }
}
