//! How to start a component again: what its first start resolved (binaries, options, the
//! port it got, its data directory), kept so that `devstack restart|start` brings back the
//! same component on the same port with the same data — every app's settings stay valid.

use std::path::PathBuf;

use crate::apps::process::{AppProcess, ResolvedApp};
use crate::launch::postgres::{NativePostgres, PostgresBinaries, PostgresOptions};
use crate::launch::redis::{NativeRedis, RedisOptions};
use crate::launch::{LaunchError, Running, sqs};

/// A component's recipe.
#[derive(Debug, Clone)]
pub enum Spec {
    /// A native Postgres.
    NativePostgres {
        /// Its binaries.
        binaries: PostgresBinaries,
        /// Its options (port, data directory, password).
        options: PostgresOptions,
    },
    /// A native Redis.
    NativeRedis {
        /// `redis-server`.
        binary: PathBuf,
        /// Its options.
        options: RedisOptions,
    },
    /// The embedded emulator.
    EmbeddedSqs {
        /// The port it was bound to.
        port: u16,
        /// Its data directory (in memory when `None`: a restart starts it empty).
        data_dir: Option<PathBuf>,
    },
    /// An app (`[[apps]]`), with its settings filled in; a restart runs its setup and command
    /// again (it is not rebuilt).
    App(ResolvedApp),
    /// Something devstack does not run (an external URL, a container): it cannot be stopped
    /// or started from here.
    Unmanaged,
}

impl Spec {
    /// Starts the component; returns once it is ready.
    pub async fn start(&self, name: &str) -> Result<Running, LaunchError> {
        match self {
            Self::NativePostgres { binaries, options } => Ok(Running::NativePostgres(
                NativePostgres::start(binaries, options).await?,
            )),
            Self::NativeRedis { binary, options } => Ok(Running::NativeRedis(
                NativeRedis::start(binary, options).await?,
            )),
            Self::EmbeddedSqs { port, data_dir } => Ok(Running::EmbeddedSqs(
                sqs::start_embedded(*port, data_dir.as_deref(), false).await?,
            )),
            Self::App(app) => Ok(Running::App(AppProcess::start(app).await?)),
            Self::Unmanaged => Err(LaunchError::Unsupported(format!(
                "{name} is not run by devstack (an external URL or a container): it cannot be started or stopped from here"
            ))),
        }
    }

    /// Whether devstack runs it (and so can stop and start it).
    pub fn is_managed(&self) -> bool {
        !matches!(self, Self::Unmanaged)
    }
}
