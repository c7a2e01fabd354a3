//! The `service` binary: parses the configuration, sets up telemetry and runs `serve` (the
//! default), `migrate` or `healthcheck`. A fatal error is printed for people (its causes, no
//! backtrace) and logged.

use std::process::ExitCode;

/// The static (musl) build's allocator: musl's own serialises threads on one lock.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use service::app::{self, Application};
use service::config::{Cli, Command};
use service::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let traces = telemetry::init_tracing(cli.settings.log_format);
    let code = match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "stopped");
            eprintln!("{}", slipway_contracts::report::for_people(error.as_ref()));
            ExitCode::FAILURE
        }
    };
    // The last spans are exported before the process exits.
    drop(traces);
    code
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command() {
        Command::Migrate => {
            app::migrate(&cli.settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Healthcheck { path } => {
            let addr = service::probe::probe_addr(cli.settings.http_addr);
            service::probe::check(addr, &path, std::time::Duration::from_secs(3)).await?;
            Ok(())
        }
        Command::Serve => {
            tracing::info!(settings = %cli.settings.redacted(), "starting");
            let application = Application::build(&cli.settings).await?;
            tracing::info!(addr = %application.local_addr()?, "listening");
            application.run_until(shutdown_signal()).await
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
