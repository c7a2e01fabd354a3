//! The `service` binary: parses the configuration and runs the chosen subcommand.

use clap::Parser;
use service::config::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command() {
        Command::Serve => anyhow::bail!(
            "`service serve` is not built yet: the HTTP API and worker pool land with the service issue"
        ),
        Command::Migrate => anyhow::bail!(
            "`service migrate` is not built yet: migrations land with the service issue"
        ),
    }
}
