//! A stack: Postgres, Redis and SQS started concurrently with the chosen backends, the declared
//! queues created, and the settings a client needs. Used by `devstack up` and by the test
//! support in [`crate::testing`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use slipway_contracts::state::{Component, SCHEMA_VERSION, StackState};

use crate::cli::BackendChoice;
use crate::config::DevstackConfig;
use crate::launch::postgres::{NativePostgres, PostgresBinaries, PostgresOptions};
use crate::launch::redis::{NativeRedis, RedisOptions};
use crate::launch::{LaunchError, Running, external, sqs};
use crate::ports;

/// What to start, and how.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Data in a temporary directory removed at stop (and fsync off).
    pub ephemeral: bool,
    /// Where persistent data lives (ignored when ephemeral).
    pub data_dir: PathBuf,
    /// Where logs go (inside the temporary directory when ephemeral and `None`).
    pub log_dir: Option<PathBuf>,
    /// Ports, backends and queues.
    pub config: DevstackConfig,
    /// Use this Postgres instead of starting one.
    pub postgres_url: Option<String>,
    /// Use this Redis instead of starting one.
    pub redis_url: Option<String>,
    /// Use this SQS endpoint instead of starting one.
    pub sqs_url: Option<String>,
    /// Start the emulator over damaged data files, keeping what can be read.
    pub repair: bool,
}

impl StackOptions {
    /// An ephemeral stack on free ports with the default queues: what tests want.
    pub fn ephemeral_on_free_ports() -> Self {
        let mut config = DevstackConfig::default();
        config.ports.postgres = 0;
        config.ports.redis = 0;
        config.ports.sqs = 0;
        config.ports.service = 0;
        Self {
            ephemeral: true,
            data_dir: PathBuf::new(),
            log_dir: None,
            config,
            postgres_url: None,
            redis_url: None,
            sqs_url: None,
            repair: false,
        }
    }
}

/// Reports progress of the concurrent start (a terminal progress display, or nothing).
pub trait Progress: Sync {
    /// `component` is starting.
    fn starting(&self, component: &str);
    /// `component` is ready with `backend` after `elapsed`.
    fn ready(&self, component: &str, backend: &str, elapsed: Duration);
    /// `component` failed.
    fn failed(&self, component: &str);
}

/// No progress display.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn starting(&self, _: &str) {}
    fn ready(&self, _: &str, _: &str, _: Duration) {}
    fn failed(&self, _: &str) {}
}

/// A started component and how long it took.
#[derive(Debug)]
pub struct Started {
    /// `postgres`, `redis` or `sqs`.
    pub name: &'static str,
    /// The running component.
    pub running: Running,
    /// Launch to ready.
    pub startup: Duration,
}

/// A running stack.
#[derive(Debug)]
pub struct Stack {
    components: Vec<Started>,
    env: BTreeMap<String, String>,
    notes: Vec<String>,
    ephemeral: bool,
    // Dropped (and deleted) after the components stop.
    temp_dir: Option<tempfile::TempDir>,
}

impl Stack {
    /// Starts every component concurrently and creates the declared queues. On failure,
    /// whatever started is stopped again.
    pub async fn start(
        options: &StackOptions,
        progress: &dyn Progress,
    ) -> Result<Self, LaunchError> {
        let temp_dir = if options.ephemeral {
            let dir = tempfile::Builder::new()
                .prefix("devstack-")
                .tempdir()
                .map_err(|e| {
                    LaunchError::Io(format!("cannot create a temporary directory: {e}"))
                })?;
            // Postgres may run as another user (see launch::postgres): let it in.
            use std::os::unix::fs::PermissionsExt as _;
            let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
            Some(dir)
        } else {
            None
        };
        let data_dir = temp_dir
            .as_ref()
            .map_or_else(|| options.data_dir.clone(), |t| t.path().join("data"));
        let log_dir = options
            .log_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("../logs"));
        std::fs::create_dir_all(&log_dir)
            .map_err(|e| LaunchError::Io(format!("cannot create {}: {e}", log_dir.display())))?;
        let mut notes = Vec::new();
        let mut port = |name: &str, wanted: u16| -> Result<u16, LaunchError> {
            let chosen = ports::choose(name, wanted)
                .map_err(|e| LaunchError::Io(format!("{name}: no free port: {e}")))?;
            notes.extend(chosen.note);
            Ok(chosen.port)
        };
        let config = &options.config;
        let pg_port = if options.postgres_url.is_none() {
            port("postgres", config.ports.postgres)?
        } else {
            0
        };
        let redis_port = if options.redis_url.is_none() {
            port("redis", config.ports.redis)?
        } else {
            0
        };
        let sqs_port = if options.sqs_url.is_none() {
            port("sqs", config.ports.sqs)?
        } else {
            0
        };

        let password = if options.ephemeral {
            crate::secret::generate()
        } else {
            let path = data_dir.join("password");
            crate::secret::load_or_create(&path).map_err(|e| {
                LaunchError::Io(format!("cannot read or create {}: {e}", path.display()))
            })?
        };
        let dirs = Dirs {
            data: &data_dir,
            logs: &log_dir,
            password: &password,
        };
        let postgres = timed(
            "postgres",
            progress,
            start_postgres(options, &dirs, pg_port),
        );
        let redis = timed("redis", progress, start_redis(options, &dirs, redis_port));
        let sqs = timed("sqs", progress, start_sqs(options, &data_dir, sqs_port));
        let (postgres, redis, sqs) = tokio::join!(postgres, redis, sqs);

        let mut components = Vec::new();
        let mut first_error = None;
        for result in [postgres, redis, sqs] {
            match result {
                Ok(started) => {
                    if let Running::EmbeddedSqs(emulator) = &started.running
                        && let Some(recovery) = emulator.recovery()
                    {
                        notes.extend(sqs::recovery_notes(recovery));
                    }
                    components.push(started);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let mut stack = Self {
            components,
            env: BTreeMap::new(),
            notes,
            ephemeral: options.ephemeral,
            temp_dir,
        };
        if let Some(error) = first_error {
            stack.stop().await;
            return Err(error);
        }
        if let Err(error) = stack.finish_setup(config).await {
            stack.stop().await;
            return Err(error);
        }
        Ok(stack)
    }

    async fn finish_setup(&mut self, config: &DevstackConfig) -> Result<(), LaunchError> {
        let url_of = |name: &str| {
            self.components
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.running.url())
                .unwrap_or_default()
        };
        let (database_url, redis_url, sqs_endpoint) =
            (url_of("postgres"), url_of("redis"), url_of("sqs"));
        let queues = sqs::create_queues(&sqs_endpoint, &config.queues).await?;
        let mut env = BTreeMap::new();
        env.insert("DATABASE_URL".to_string(), database_url);
        env.insert("REDIS_URL".to_string(), redis_url);
        env.insert("AWS_ENDPOINT_URL".to_string(), sqs_endpoint);
        env.insert("AWS_REGION".to_string(), sqs::REGION.to_string());
        env.insert("AWS_ACCESS_KEY_ID".to_string(), "devstack".to_string());
        env.insert("AWS_SECRET_ACCESS_KEY".to_string(), "devstack".to_string());
        if let Some(url) = queues.get(&config.main_queue) {
            env.insert("SQS_QUEUE_URL".to_string(), url.clone());
        }
        if let Some(url) = config
            .main_dead_letter_queue()
            .and_then(|dlq| queues.get(dlq))
        {
            env.insert("SQS_DLQ_URL".to_string(), url.clone());
        }
        self.env = env;
        Ok(())
    }

    /// The components, in start order.
    pub fn components(&self) -> &[Started] {
        &self.components
    }

    /// The settings a client needs (`DATABASE_URL`, `REDIS_URL`, `AWS_ENDPOINT_URL`, …).
    pub fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// Adds a setting (the service's URL once it runs).
    pub fn set_env(&mut self, key: &str, value: String) {
        self.env.insert(key.to_string(), value);
    }

    /// Notes worth showing (ports that were taken, …).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The state file's content for this stack.
    pub fn state(&self) -> StackState {
        StackState {
            schema_version: SCHEMA_VERSION,
            devstack_pid: std::process::id(),
            ephemeral: self.ephemeral,
            components: self
                .components
                .iter()
                .map(|c| Component {
                    name: c.name.to_string(),
                    backend: c.running.backend(),
                    url: c.running.url(),
                    pid: c.running.pid(),
                    startup_ms: u64::try_from(c.startup.as_millis()).unwrap_or(u64::MAX),
                })
                .collect(),
            env: self.env.clone(),
        }
    }

    /// Stops every component, last started first, then deletes ephemeral data.
    pub async fn stop(mut self) {
        while let Some(component) = self.components.pop() {
            component.running.stop().await;
        }
        drop(self.temp_dir.take());
    }

    /// Builds, migrates and starts the service with this stack's settings, on `port` (a free
    /// one when taken); adds `SERVICE_URL`. It stops first, before the infrastructure.
    pub async fn start_service(
        &mut self,
        workspace: &std::path::Path,
        port: u16,
        log: PathBuf,
        echo: bool,
        progress: &dyn Progress,
    ) -> Result<(), LaunchError> {
        let chosen = ports::choose("service", port)
            .map_err(|e| LaunchError::Io(format!("service: no free port: {e}")))?;
        self.notes.extend(chosen.note);
        let build_log = log.with_file_name("build.log");
        let options = crate::launch::service::ServiceOptions {
            workspace: workspace.to_owned(),
            port: chosen.port,
            env: self.env.clone(),
            log,
            echo,
        };
        let started = timed("service", progress, async {
            let binary = crate::launch::service::build(workspace, &build_log).await?;
            let process = crate::launch::service::ServiceProcess::start(&binary, &options).await?;
            Ok((Running::Service(process), "native"))
        })
        .await?;
        self.env.insert("SERVICE_URL".into(), started.running.url());
        self.components.push(started);
        Ok(())
    }

    /// Stops one component (tests use it to take a dependency down).
    pub async fn stop_component(&mut self, name: &str) -> Option<()> {
        let index = self.components.iter().position(|c| c.name == name)?;
        self.components.remove(index).running.stop().await;
        Some(())
    }
}

async fn timed<F>(
    name: &'static str,
    progress: &dyn Progress,
    start: F,
) -> Result<Started, LaunchError>
where
    F: std::future::Future<Output = Result<(Running, &'static str), LaunchError>>,
{
    progress.starting(name);
    let started = Instant::now();
    match start.await {
        Ok((running, backend)) => {
            let startup = started.elapsed();
            progress.ready(name, backend, startup);
            Ok(Started {
                name,
                running,
                startup,
            })
        }
        Err(e) => {
            progress.failed(name);
            Err(e)
        }
    }
}

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
struct Dirs<'a> {
    data: &'a std::path::Path,
    logs: &'a std::path::Path,
    password: &'a str,
}

async fn start_postgres(
    options: &StackOptions,
    dirs: &Dirs<'_>,
    port: u16,
) -> Result<(Running, &'static str), LaunchError> {
    let (data_dir, log_dir) = (dirs.data, dirs.logs);
    if let Some(url) = &options.postgres_url {
        external::check_reachable("postgres", url).await?;
        return Ok((Running::External(url.clone()), "external"));
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
            Ok((
                Running::NativePostgres(NativePostgres::start(&binaries, &pg_options).await?),
                "native",
            ))
        }
    }
}

async fn start_redis(
    options: &StackOptions,
    dirs: &Dirs<'_>,
    port: u16,
) -> Result<(Running, &'static str), LaunchError> {
    let (data_dir, log_dir) = (dirs.data, dirs.logs);
    if let Some(url) = &options.redis_url {
        external::check_reachable("redis", url).await?;
        return Ok((Running::External(url.clone()), "external"));
    }
    let binary = crate::launch::redis::find_binary();
    match resolve("redis", options.config.backends.redis, binary.is_some()).await? {
        BackendChoice::Docker => {
            #[cfg(feature = "docker")]
            return Ok((
                Running::Docker(crate::launch::docker::start_redis().await?),
                "docker",
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
            Ok((
                Running::NativeRedis(NativeRedis::start(&binary, &redis_options).await?),
                "native",
            ))
        }
    }
}

async fn start_sqs(
    options: &StackOptions,
    data_dir: &std::path::Path,
    port: u16,
) -> Result<(Running, &'static str), LaunchError> {
    if let Some(url) = &options.sqs_url {
        external::check_reachable("sqs", url).await?;
        return Ok((Running::External(url.clone()), "external"));
    }
    match options.config.backends.sqs {
        BackendChoice::Embedded | BackendChoice::Auto => Ok((
            Running::EmbeddedSqs(
                sqs::start_embedded(
                    port,
                    (!options.ephemeral)
                        .then(|| data_dir.join("sqs"))
                        .as_deref(),
                    options.repair,
                )
                .await?,
            ),
            "embedded",
        )),
        BackendChoice::Docker => {
            #[cfg(feature = "docker")]
            return Ok((
                Running::Docker(crate::launch::docker::start_elasticmq().await?),
                "docker",
            ));
            #[cfg(not(feature = "docker"))]
            return Err(docker_unavailable("sqs"));
        }
        BackendChoice::Native => Err(LaunchError::Unsupported(
            "sqs: use `embedded` (the built-in emulator) or `docker` (ElasticMQ)".into(),
        )),
    }
}
