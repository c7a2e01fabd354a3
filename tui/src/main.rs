//! The `tui` binary: parses the command line and runs the dashboard.

use clap::Parser;
use tui::cli::Cli;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    anyhow::bail!(
        "the dashboard lands with the tui issue (it reads the service's metrics); refresh would be {:?}",
        cli.refresh()
    )
}
