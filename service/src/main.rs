//! The `service` binary: parses the configuration, sets up telemetry and runs `serve` (the
//! default), `migrate` or `healthcheck`.

use clap::Parser;
use service::app::{self, Application};
use service::config::{Cli, Command};
use service::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init_tracing(cli.settings.log_format);
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
