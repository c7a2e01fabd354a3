//! The kinds of infrastructure a stack runs, as a registry: [`INFRASTRUCTURE`] lists them, and
//! each is one module implementing [`Kind`] — its name, the port `devstack.toml` asks for, the
//! URL given instead of starting one, how to run it here (a [`Recipe`] for the chosen backend),
//! and the settings it hands apps once up. `Stack::start` starts every entry concurrently;
//! nothing else in devstack names a kind.
//!
//! Adding a kind (a future emulator): a module here implementing [`Kind`] with its recipe (and,
//! when it has much to do, a launcher under `crate::launch`), and one entry in
//! [`INFRASTRUCTURE`].

pub mod otlp;
pub mod postgres;
pub mod redis;
pub mod sqs;

use std::path::Path;

use slipway_contracts::state::Backend;

use super::StackOptions;
use crate::cli::BackendChoice;
use crate::component::{Instance, Recipe, Unmanaged};
use crate::config::DevstackConfig;
use crate::launch::{LaunchError, external};

/// Every kind of infrastructure, in the order the stack lists them.
pub static INFRASTRUCTURE: [&dyn Kind; 4] =
    [&postgres::Postgres, &redis::Redis, &sqs::Sqs, &otlp::Otlp];

/// What a kind may use to plan its component.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The stack's options (backends, ephemeral, repair).
    pub options: &'a StackOptions,
    /// The stack's data directory (each kind takes a subdirectory).
    pub data: &'a Path,
    /// The log directory (each kind writes `<name>.log`).
    pub logs: &'a Path,
    /// The stack's password, see [`crate::secret`].
    pub password: &'a str,
    /// The port chosen for it on 127.0.0.1.
    pub port: u16,
}

/// One kind of infrastructure component.
#[async_trait::async_trait]
pub trait Kind: Sync {
    /// Its name in the stack: the state file, `status`, `logs`, the control channel.
    fn name(&self) -> &'static str;

    /// Whether this stack runs it at all (the collector only when asked for).
    fn wanted(&self, _options: &StackOptions) -> bool {
        true
    }

    /// The port `devstack.toml` asks for (0: a free one).
    fn port(&self, config: &DevstackConfig) -> u16;

    /// The port its URL means when it names none, for a kind that apps reach through a TCP
    /// proxy of devstack's ([`crate::proxy`]); `None` when apps reach it directly.
    fn proxied_port(&self) -> Option<u16> {
        None
    }

    /// The URL given instead of starting one (`--postgres-url`, …).
    fn given_url<'o>(&self, options: &'o StackOptions) -> Option<&'o str>;

    /// How to run it here, with the backend the options choose.
    async fn plan(&self, plan: &Plan<'_>) -> Result<Box<dyn Recipe>, LaunchError>;

    /// The settings it hands apps once it is up at `url` (creating what they need first: the
    /// emulator's declared queues).
    async fn settings(
        &self,
        url: &str,
        config: &DevstackConfig,
    ) -> Result<Vec<(String, String)>, LaunchError>;
}

/// A URL the user gave: checked once when the stack starts, never stopped or started.
#[derive(Debug)]
pub struct Given {
    /// The component's name.
    pub name: &'static str,
    /// The URL.
    pub url: String,
}

#[async_trait::async_trait]
impl Recipe for Given {
    async fn start(&self) -> Result<Box<dyn Instance>, LaunchError> {
        external::check_reachable(self.name, &self.url).await?;
        Ok(Box::new(Unmanaged {
            url: self.url.clone(),
            backend: Backend::External,
        }))
    }

    fn is_managed(&self) -> bool {
        false
    }
}

/// Resolves `auto`: native when installed, else Docker when an engine answers, else an error
/// that says what to install (`hint`).
pub async fn resolve_backend(
    component: &str,
    choice: BackendChoice,
    native_installed: bool,
    hint: &str,
) -> Result<BackendChoice, LaunchError> {
    match choice {
        BackendChoice::Native if !native_installed => {
            Err(LaunchError::NotInstalled(hint.to_string()))
        }
        BackendChoice::Native | BackendChoice::Docker => Ok(choice),
        BackendChoice::Embedded => Err(LaunchError::Unsupported(format!(
            "{component}: there is no embedded backend; use native or docker"
        ))),
        BackendChoice::Auto if native_installed => Ok(BackendChoice::Native),
        BackendChoice::Auto => {
            #[cfg(feature = "docker")]
            if crate::launch::docker::engine_available().await {
                return Ok(BackendChoice::Docker);
            }
            Err(LaunchError::NotInstalled(hint.to_string()))
        }
    }
}

/// A container devstack starts once: Docker chose its port, so it is not restarted from here.
#[cfg(feature = "docker")]
#[derive(Debug)]
pub struct Container {
    /// The component's name.
    pub name: &'static str,
}

#[cfg(feature = "docker")]
#[async_trait::async_trait]
impl Recipe for Container {
    async fn start(&self) -> Result<Box<dyn Instance>, LaunchError> {
        use crate::launch::docker;
        let container = match self.name {
            "postgres" => docker::start_postgres().await?,
            "redis" => docker::start_redis().await?,
            _ => docker::start_elasticmq().await?,
        };
        Ok(Box::new(container))
    }

    fn is_managed(&self) -> bool {
        false
    }
}

/// The recipe for a container of `name`, or why there is none in this build.
pub fn container(name: &'static str) -> Result<Box<dyn Recipe>, LaunchError> {
    #[cfg(feature = "docker")]
    return Ok(Box::new(Container { name }));
    #[cfg(not(feature = "docker"))]
    Err(LaunchError::Unsupported(format!(
        "{name}: this devstack was built without the `docker` feature"
    )))
}
