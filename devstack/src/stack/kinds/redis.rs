//! Redis: the native server (a child process with a password in an owner-only config file) or
//! a container; it hands apps `REDIS_URL`.

use super::{Kind, Plan, StackOptions, container, resolve_backend};
use crate::cli::BackendChoice;
use crate::component::{Instance, Recipe};
use crate::config::DevstackConfig;
use crate::launch::LaunchError;
use crate::launch::redis::{NativeRedis, RedisOptions, find_binary};

const INSTALL_HINT: &str = "redis-server not found. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`), \
     or start Docker and use --backend docker, or pass --redis-url.";

/// The kind.
#[derive(Debug)]
pub struct Redis;

/// A native Redis: `redis-server` and its options.
#[derive(Debug)]
pub struct NativeRecipe {
    binary: std::path::PathBuf,
    options: RedisOptions,
}

#[async_trait::async_trait]
impl Recipe for NativeRecipe {
    async fn start(&self) -> Result<Box<dyn Instance>, LaunchError> {
        Ok(Box::new(
            NativeRedis::start(&self.binary, &self.options).await?,
        ))
    }
}

#[async_trait::async_trait]
impl Kind for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn port(&self, config: &DevstackConfig) -> u16 {
        config.ports.redis
    }

    fn proxied_port(&self) -> Option<u16> {
        Some(6379)
    }

    fn given_url<'o>(&self, options: &'o StackOptions) -> Option<&'o str> {
        options.redis_url.as_deref()
    }

    async fn plan(&self, plan: &Plan<'_>) -> Result<Box<dyn Recipe>, LaunchError> {
        let binary = find_binary();
        let choice = plan.options.config.backends.redis;
        if resolve_backend("redis", choice, binary.is_some(), INSTALL_HINT).await?
            == BackendChoice::Docker
        {
            return container("redis");
        }
        let binary = binary.ok_or_else(|| LaunchError::NotInstalled(INSTALL_HINT.into()))?;
        let options = RedisOptions {
            data_dir: plan.data.join("redis"),
            port: plan.port,
            ephemeral: plan.options.ephemeral,
            log: plan.logs.join("redis.log"),
            password: plan.password.to_string(),
        };
        Ok(Box::new(NativeRecipe { binary, options }))
    }

    async fn settings(
        &self,
        url: &str,
        _config: &DevstackConfig,
    ) -> Result<Vec<(String, String)>, LaunchError> {
        Ok(vec![("REDIS_URL".into(), url.into())])
    }
}
