//! The `tui` binary: resolves the targets and runs the dashboard.

use clap::Parser;
use tui::cli::Cli;
use tui::targets::Targets;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let targets = Targets::resolve(&cli)?;
    tui::run::run(targets, cli.refresh()).await
}
