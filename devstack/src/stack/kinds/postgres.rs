//! Postgres: the native server (a child process, run as an unprivileged user under root) or
//! a container; it hands apps `DATABASE_URL`.

use super::{Kind, Plan, StackOptions, container, resolve_backend};
use crate::cli::BackendChoice;
use crate::component::{Instance, Recipe};
use crate::config::DevstackConfig;
use crate::launch::LaunchError;
use crate::launch::postgres::{NativePostgres, PostgresBinaries, PostgresOptions};

const INSTALL_HINT: &str = "PostgreSQL server binaries not found (looked in PATH, pg_config --bindir, /usr/lib/postgresql/*/bin, Homebrew). \
     Install them (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql@16`), \
     or start Docker and use --backend docker, or pass --postgres-url.";

/// The kind.
#[derive(Debug)]
pub struct Postgres;

/// A native Postgres: its binaries and options (port, data directory, password).
#[derive(Debug)]
pub struct NativeRecipe {
    binaries: PostgresBinaries,
    options: PostgresOptions,
}

#[async_trait::async_trait]
impl Recipe for NativeRecipe {
    async fn start(&self) -> Result<Box<dyn Instance>, LaunchError> {
        Ok(Box::new(
            NativePostgres::start(&self.binaries, &self.options).await?,
        ))
    }
}

#[async_trait::async_trait]
impl Kind for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn port(&self, config: &DevstackConfig) -> u16 {
        config.ports.postgres
    }

    fn proxied_port(&self) -> Option<u16> {
        Some(5432)
    }

    fn given_url<'o>(&self, options: &'o StackOptions) -> Option<&'o str> {
        options.postgres_url.as_deref()
    }

    async fn plan(&self, plan: &Plan<'_>) -> Result<Box<dyn Recipe>, LaunchError> {
        let binaries = PostgresBinaries::find();
        let choice = plan.options.config.backends.postgres;
        if resolve_backend("postgres", choice, binaries.is_some(), INSTALL_HINT).await?
            == BackendChoice::Docker
        {
            return container("postgres");
        }
        let binaries = binaries.ok_or_else(|| LaunchError::NotInstalled(INSTALL_HINT.into()))?;
        let ephemeral = plan.options.ephemeral;
        let options = PostgresOptions {
            data_dir: plan.data.join("postgres"),
            port: plan.port,
            ephemeral,
            log: plan.logs.join("postgres.log"),
            cleanup_on_crash: if ephemeral {
                plan.data.parent().map(std::path::Path::to_path_buf)
            } else {
                None
            },
            password: plan.password.to_string(),
        };
        Ok(Box::new(NativeRecipe { binaries, options }))
    }

    async fn settings(
        &self,
        url: &str,
        _config: &DevstackConfig,
    ) -> Result<Vec<(String, String)>, LaunchError> {
        Ok(vec![("DATABASE_URL".into(), url.into())])
    }
}
