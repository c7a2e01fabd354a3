//! How each infrastructure component is started, by backend: native Postgres and Redis,
//! Docker containers, external URLs, the embedded emulator. Each starter returns the running
//! component and the [`Spec`] that starts it again (a restart keeps its port and data).

use std::path::Path;

use super::StackOptions;
use super::spec::Spec;
use crate::cli::BackendChoice;
use crate::launch::postgres::{NativePostgres, PostgresBinaries, PostgresOptions};
use crate::launch::redis::{NativeRedis, RedisOptions};
use crate::launch::{LaunchError, Running, external, sqs};

/// A component just started: what runs, its backend's name, and how to start it again.
pub type Launched = (Running, &'static str, Spec);

fn install_hint(what: &str) -> String {
    match what {
        "postgres" => "PostgreSQL server binaries not found (looked in PATH, pg_config --bindir, /usr/lib/postgresql/*/bin, Homebrew). \
             Install them (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql@16`), \
             or start Docker and use --backend docker, or pass --postgres-url."
            .into(),
        _ => "redis-server not found. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`), \
             or start Docker and use --backend docker, or pass --redis-url."
            .into(),
    }
}

/// Resolves `auto`: native when installed, else Docker when an engine answers, else an error
/// that says what to install.
async fn resolve(
    component: &str,
    choice: BackendChoice,
    native_installed: bool,
) -> Result<BackendChoice, LaunchError> {
    match choice {
        BackendChoice::Native if !native_installed => {
            Err(LaunchError::NotInstalled(install_hint(component)))
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
            Err(LaunchError::NotInstalled(install_hint(component)))
        }
    }
}

#[cfg(not(feature = "docker"))]
fn docker_unavailable(component: &str) -> LaunchError {
    LaunchError::Unsupported(format!(
        "{component}: this devstack was built without the `docker` feature"
    ))
}

/// Where a native component keeps its data and logs, and the stack's password.
pub struct Dirs<'a> {
    /// The data directory.
    pub data: &'a Path,
    /// The log directory.
    pub logs: &'a Path,
    /// The stack's password.
    pub password: &'a str,
}

/// Postgres: an external URL, a container, or the native server.
pub async fn start_postgres(
    options: &StackOptions,
    dirs: &Dirs<'_>,
    port: u16,
) -> Result<Launched, LaunchError> {
    let (data_dir, log_dir) = (dirs.data, dirs.logs);
    if let Some(url) = &options.postgres_url {
        external::check_reachable("postgres", url).await?;
        return Ok((Running::External(url.clone()), "external", Spec::Unmanaged));
    }
    let binaries = PostgresBinaries::find();
    match resolve(
        "postgres",
        options.config.backends.postgres,
        binaries.is_some(),
    )
    .await?
    {
        BackendChoice::Docker => {
            #[cfg(feature = "docker")]
            return Ok((
                Running::Docker(crate::launch::docker::start_postgres().await?),
                "docker",
                Spec::Unmanaged,
            ));
            #[cfg(not(feature = "docker"))]
            return Err(docker_unavailable("postgres"));
        }
        _ => {
            let binaries =
                binaries.ok_or_else(|| LaunchError::NotInstalled(install_hint("postgres")))?;
            let pg_options = PostgresOptions {
                data_dir: data_dir.join("postgres"),
                port,
                ephemeral: options.ephemeral,
                log: log_dir.join("postgres.log"),
                cleanup_on_crash: if options.ephemeral {
                    data_dir.parent().map(std::path::Path::to_path_buf)
                } else {
                    None
                },
                password: dirs.password.to_string(),
            };
            let running = NativePostgres::start(&binaries, &pg_options).await?;
            Ok((
                Running::NativePostgres(running),
                "native",
                Spec::NativePostgres {
                    binaries,
                    options: pg_options,
                },
            ))
        }
    }
}

/// Redis: an external URL, a container, or the native server.
pub async fn start_redis(
    options: &StackOptions,
    dirs: &Dirs<'_>,
    port: u16,
) -> Result<Launched, LaunchError> {
    let (data_dir, log_dir) = (dirs.data, dirs.logs);
    if let Some(url) = &options.redis_url {
        external::check_reachable("redis", url).await?;
        return Ok((Running::External(url.clone()), "external", Spec::Unmanaged));
    }
    let binary = crate::launch::redis::find_binary();
    match resolve("redis", options.config.backends.redis, binary.is_some()).await? {
        BackendChoice::Docker => {
            #[cfg(feature = "docker")]
            return Ok((
                Running::Docker(crate::launch::docker::start_redis().await?),
                "docker",
                Spec::Unmanaged,
            ));
            #[cfg(not(feature = "docker"))]
            return Err(docker_unavailable("redis"));
        }
        _ => {
            let binary = binary.ok_or_else(|| LaunchError::NotInstalled(install_hint("redis")))?;
            let redis_options = RedisOptions {
                data_dir: data_dir.join("redis"),
                port,
                ephemeral: options.ephemeral,
                log: log_dir.join("redis.log"),
                password: dirs.password.to_string(),
            };
            let running = NativeRedis::start(&binary, &redis_options).await?;
            Ok((
                Running::NativeRedis(running),
                "native",
                Spec::NativeRedis {
                    binary,
                    options: redis_options,
                },
            ))
        }
    }
}

/// SQS: an external endpoint, the embedded emulator, or ElasticMQ in a container.
pub async fn start_sqs(
    options: &StackOptions,
    data_dir: &Path,
    port: u16,
) -> Result<Launched, LaunchError> {
    if let Some(url) = &options.sqs_url {
        external::check_reachable("sqs", url).await?;
        return Ok((Running::External(url.clone()), "external", Spec::Unmanaged));
    }
    match options.config.backends.sqs {
        BackendChoice::Embedded | BackendChoice::Auto => {
            let data_dir = (!options.ephemeral).then(|| data_dir.join("sqs"));
            let emulator = sqs::start_embedded(port, data_dir.as_deref(), options.repair).await?;
            let spec = Spec::EmbeddedSqs {
                // The port it got: a restart takes the same one.
                port: emulator.local_addr().port(),
                data_dir,
            };
            Ok((Running::EmbeddedSqs(emulator), "embedded", spec))
        }
        BackendChoice::Docker => {
            #[cfg(feature = "docker")]
            return Ok((
                Running::Docker(crate::launch::docker::start_elasticmq().await?),
                "docker",
                Spec::Unmanaged,
            ));
            #[cfg(not(feature = "docker"))]
            return Err(docker_unavailable("sqs"));
        }
        BackendChoice::Native => Err(LaunchError::Unsupported(
            "sqs: use `embedded` (the built-in emulator) or `docker` (ElasticMQ)".into(),
        )),
    }
}
