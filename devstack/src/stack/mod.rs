//! A stack: Postgres, Redis and SQS started concurrently with the chosen backends, the declared
//! queues created, and the settings a client needs. Used by `devstack up` and by the test
//! support in [`crate::testing`].
//!
//! - [`components`]: how each infrastructure component starts, by backend.
//! - [`spec`]: the recipe that starts a component again (same port, same data).
//! - [`entry`]: one component of the stack — running or stopped — and its history.
//! - here: the stack as a whole — start in order, settings, one component's stop, start and
//!   restart (what the control channel asks), stop in reverse order.

pub mod components;
pub mod entry;
pub mod spec;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use slipway_contracts::state::{Component, SCHEMA_VERSION, StackState};

use slipway_contracts::control::ComponentStatus;

use crate::apps::declaration::AppDeclaration;
use crate::apps::process::{AppProcess, resolve, run_to_end};
use crate::config::DevstackConfig;
use crate::launch::{LaunchError, Running, sqs};
use crate::ports;
use components::{Dirs, Launched, start_postgres, start_redis, start_sqs};
pub use entry::Started;
use spec::Spec;

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
    /// What `component` is doing now (a build's progress).
    fn message(&self, _component: &str, _text: &str) {}
}

/// No progress display.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn starting(&self, _: &str) {}
    fn ready(&self, _: &str, _: &str, _: Duration) {}
    fn failed(&self, _: &str) {}
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
                    if let Some(Running::EmbeddedSqs(emulator)) = &started.running
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
                .map(|c| c.url().to_string())
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
                    backend: c.backend(),
                    url: c.url().to_string(),
                    pid: c.pid(),
                    startup_ms: u64::try_from(c.startup.as_millis()).unwrap_or(u64::MAX),
                })
                .collect(),
            env: self.env.clone(),
        }
    }

    /// Stops every component, last started first, then deletes ephemeral data.
    pub async fn stop(mut self) {
        self.stop_all().await;
    }

    /// As [`Self::stop`], for a stack shared with the control channel.
    pub async fn stop_all(&mut self) {
        while let Some(component) = self.components.pop() {
            if let Some(running) = component.running {
                running.stop().await;
            }
        }
        drop(self.temp_dir.take());
    }

    /// Builds and starts `apps` in dependency order, each on its port (a free one when taken
    /// or 0) with its settings; adds `<NAME>_URL` for each. Apps stop before the
    /// infrastructure.
    pub async fn start_apps(
        &mut self,
        apps: &[AppDeclaration],
        workspace: &std::path::Path,
        log_dir: &std::path::Path,
        progress: &dyn Progress,
    ) -> Result<(), LaunchError> {
        let order = crate::apps::declaration::start_order(apps).map_err(|cycle| {
            LaunchError::Unsupported(format!("apps depend on each other: {}", cycle.join(" → ")))
        })?;
        for app in order {
            let name = app.name();
            let chosen = ports::choose(name, app.port)
                .map_err(|e| LaunchError::Io(format!("{name}: no free port: {e}")))?;
            self.notes.extend(chosen.note);
            let resolved = resolve(
                app,
                &self.env,
                chosen.port,
                workspace,
                log_dir.join(format!("{name}.log")),
            )?;
            let build_log = log_dir.join(format!("{name}-build.log"));
            let started = timed(name, progress, async {
                let building = |text: &str| progress.message(name, text);
                run_to_end(name, &app.build, workspace, &build_log, &building).await?;
                let process = AppProcess::start(&resolved).await?;
                Ok((Running::App(process), "native", Spec::App(resolved.clone())))
            })
            .await?;
            self.env
                .insert(app.url_setting(), started.url().to_string());
            self.components.push(started);
        }
        Ok(())
    }

    /// Every component's status, in start order.
    pub fn statuses(&self) -> Vec<ComponentStatus> {
        self.components.iter().map(Started::status).collect()
    }

    fn component(&mut self, name: &str) -> Result<&mut Started, LaunchError> {
        let known: Vec<&str> = self.components.iter().map(|c| c.name.as_str()).collect();
        let known = known.join(", ");
        self.components
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                LaunchError::Unsupported(format!("no component `{name}`; there are: {known}"))
            })
    }

    /// Marks an app stale (its rebuild failed: `why`) or fresh again (`None`).
    pub fn set_stale(&mut self, name: &str, why: Option<String>) -> Result<(), LaunchError> {
        self.component(name)?.set_stale(why);
        Ok(())
    }

    /// Stops one component; it stays in the stack, stopped, until started again.
    pub async fn stop_component(&mut self, name: &str) -> Result<(), LaunchError> {
        self.component(name)?.stop().await
    }

    /// Starts a stopped component again, on its port, with its data.
    pub async fn start_component(&mut self, name: &str) -> Result<(), LaunchError> {
        self.component(name)?.start().await
    }

    /// Stops a component and starts it again, on its port, with its data. Components that
    /// depend on it are left running: they reconnect (the service does).
    pub async fn restart_component(&mut self, name: &str) -> Result<(), LaunchError> {
        let component = self.component(name)?;
        component.stop().await?;
        component.start().await
    }
}

async fn timed<F>(name: &str, progress: &dyn Progress, start: F) -> Result<Started, LaunchError>
where
    F: std::future::Future<Output = Result<Launched, LaunchError>>,
{
    progress.starting(name);
    let started = Instant::now();
    match start.await {
        Ok((running, backend, spec)) => {
            let startup = started.elapsed();
            progress.ready(name, backend, startup);
            Ok(Started::new(name, running, spec, startup))
        }
        Err(e) => {
            progress.failed(name);
            Err(e)
        }
    }
}
