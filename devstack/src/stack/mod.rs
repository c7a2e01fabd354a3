//! A stack: its infrastructure (the kinds in [`kinds::INFRASTRUCTURE`]: Postgres, Redis, SQS)
//! started concurrently with the chosen backends, then its apps in dependency order; the
//! settings a client needs; one component's stop, start and restart. Used by `devstack up`
//! and by the test support in [`crate::testing`].
//!
//! - [`kinds`]: the registry of infrastructure kinds, one module each.
//! - [`options`]: what to start and how ([`StackOptions`]), and how progress is reported.
//! - [`entry`]: one component of the stack — running or stopped — and its history.
//! - [`chaos`]: process faults (`devstack chaos`): signals to a component's process group.
//! - [`network`]: the TCP proxies in front of Postgres and Redis ([`crate::proxy`]) as the
//!   stack holds them, and their toxics.
//! - here: the stack as a whole — the registry of its components (looked up once by name
//!   into a [`ComponentId`]), start in order, settings, one component's stop, start and
//!   restart (what the control channel and the watcher ask), process faults and their undoing,
//!   stop in reverse order.

pub mod chaos;
pub mod entry;
pub mod kinds;
pub mod network;
pub mod options;

use std::collections::BTreeMap;
use std::time::Instant;

use slipway_contracts::chaos::{ActiveFault, ProcessFault, ProxyStatus, Toxic};
use slipway_contracts::control::ComponentStatus;
use slipway_contracts::state::{Component, SCHEMA_VERSION, StackState};

use crate::apps::declaration::AppDeclaration;
use crate::apps::process::{AppRecipe, resolve, run_to_end};
use crate::component::{Instance, Recipe};
use crate::config::DevstackConfig;
use crate::launch::LaunchError;
use crate::ports;
pub use entry::Started;
use kinds::{Given, INFRASTRUCTURE, Kind, Plan};
pub use options::{Progress, Silent, StackOptions};

/// A component of a running stack, found by name once ([`Stack::id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComponentId(usize);

/// A running stack.
#[derive(Debug)]
pub struct Stack {
    components: Vec<Started>,
    env: BTreeMap<String, String>,
    notes: Vec<String>,
    proxies: network::Proxies,
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
        let password = if options.ephemeral {
            crate::secret::generate()
        } else {
            let path = data_dir.join("password");
            crate::secret::load_or_create(&path).map_err(|e| {
                LaunchError::Io(format!("cannot read or create {}: {e}", path.display()))
            })?
        };
        let mut notes = Vec::new();
        let mut plans = Vec::new();
        let kinds: Vec<&dyn Kind> = INFRASTRUCTURE
            .iter()
            .copied()
            .filter(|kind| kind.wanted(options))
            .collect();
        for kind in &kinds {
            let port = if kind.given_url(options).is_some() {
                0
            } else {
                let chosen = ports::choose(kind.name(), kind.port(&options.config))
                    .map_err(|e| LaunchError::Io(format!("{}: no free port: {e}", kind.name())))?;
                notes.extend(chosen.note);
                chosen.port
            };
            plans.push(Plan {
                options,
                data: &data_dir,
                logs: &log_dir,
                password: &password,
                port,
            });
        }
        let results = futures::future::join_all(
            kinds
                .iter()
                .zip(&plans)
                .map(|(kind, plan)| timed(kind.name(), progress, start_kind(*kind, plan))),
        )
        .await;

        let mut components = Vec::new();
        let mut first_error = None;
        for result in results {
            match result {
                Ok(started) => {
                    notes.extend(started.notes());
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
            proxies: network::Proxies::default(),
            ephemeral: options.ephemeral,
            temp_dir,
        };
        if let Some(error) = first_error {
            stack.stop().await;
            return Err(error);
        }
        if !options.no_proxy
            && let Err(error) = stack.start_proxies(&kinds).await
        {
            stack.stop().await;
            return Err(error);
        }
        if let Err(error) = stack.collect_settings(&kinds, &options.config).await {
            stack.stop().await;
            return Err(error);
        }
        Ok(stack)
    }

    /// A TCP proxy in front of every kind apps reach through one.
    async fn start_proxies(&mut self, kinds: &[&dyn Kind]) -> Result<(), LaunchError> {
        for (kind, component) in kinds.iter().zip(&self.components) {
            if let Some(port) = kind.proxied_port() {
                self.proxies
                    .start(kind.name(), component.url(), port)
                    .await?;
            }
        }
        Ok(())
    }

    /// Every kind's settings, from its component's URL (its proxy's, when it has one).
    async fn collect_settings(
        &mut self,
        kinds: &[&dyn Kind],
        config: &DevstackConfig,
    ) -> Result<(), LaunchError> {
        for (kind, component) in kinds.iter().zip(&self.components) {
            let url = self.proxies.url_for(kind.name(), component.url());
            for (key, value) in kind.settings(&url, config).await? {
                self.env.insert(key, value);
            }
        }
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
            component.shut_down().await;
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
                let recipe: Box<dyn Recipe> = Box::new(AppRecipe::new(resolved));
                let running = recipe.start().await?;
                Ok((running, recipe))
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

    /// The component called `name`, or an error that lists the components there are.
    pub fn id(&self, name: &str) -> Result<ComponentId, LaunchError> {
        self.components
            .iter()
            .position(|c| c.name == name)
            .map(ComponentId)
            .ok_or_else(|| {
                let known: Vec<&str> = self.components.iter().map(|c| c.name.as_str()).collect();
                LaunchError::Unsupported(format!(
                    "no component `{name}`; there are: {}",
                    known.join(", ")
                ))
            })
    }

    /// One component (ids come from [`Self::id`] of this stack, whose list never shrinks
    /// while it runs).
    pub fn get(&self, id: ComponentId) -> &Started {
        &self.components[id.0]
    }

    fn get_mut(&mut self, id: ComponentId) -> &mut Started {
        &mut self.components[id.0]
    }

    /// Marks an app stale (its rebuild failed: `why`) or fresh again (`None`).
    pub fn set_stale(&mut self, id: ComponentId, why: Option<String>) {
        self.get_mut(id).set_stale(why);
    }

    /// Stops one component; it stays in the stack, stopped, until started again.
    pub async fn stop_component(&mut self, id: ComponentId) -> Result<(), LaunchError> {
        self.get_mut(id).stop().await
    }

    /// Starts a stopped component again, on its port, with its data.
    pub async fn start_component(&mut self, id: ComponentId) -> Result<(), LaunchError> {
        self.get_mut(id).start().await
    }

    /// Replaces a component with a new run of its recipe (a reload): start-first where its
    /// recipe allows, else stop then start (see [`Started::replace`]).
    pub async fn replace_component(&mut self, id: ComponentId) -> Result<(), LaunchError> {
        self.get_mut(id).replace().await
    }

    /// Stops a component and starts it again, on its port, with its data. Components that
    /// depend on it are left running: they reconnect (the service does).
    pub async fn restart_component(&mut self, id: ComponentId) -> Result<(), LaunchError> {
        self.get_mut(id).restart().await
    }

    /// Does a process fault to a component, to be undone by itself at `until_unix_ms`.
    pub async fn chaos(
        &mut self,
        id: ComponentId,
        fault: ProcessFault,
        until_unix_ms: Option<i64>,
    ) -> Result<(), LaunchError> {
        let component = self.get_mut(id);
        match fault {
            ProcessFault::Kill => component.kill(until_unix_ms),
            ProcessFault::Pause => component.pause(until_unix_ms),
            ProcessFault::Resume => component.resume(),
            ProcessFault::Restart => component.restart().await,
        }
    }

    /// Undoes a fault `--for` asked to end, if it is still the one in force (a resume or a
    /// restart in between ended it already).
    pub async fn undo(&mut self, id: ComponentId, fault: ProcessFault, until_unix_ms: i64) {
        let component = self.get_mut(id);
        let still = component
            .fault()
            .is_some_and(|f| f.fault == fault && f.until_unix_ms == Some(until_unix_ms));
        if !still {
            return;
        }
        let result = match fault {
            ProcessFault::Pause => component.resume(),
            _ => component.restart().await,
        };
        if let Err(error) = result {
            tracing::warn!(component = %component.name, %error, "cannot undo a chaos fault");
        }
    }

    /// Adds a network fault to `name`'s proxy, removed by itself after `for_duration`.
    pub fn toxic(
        &self,
        name: &str,
        toxic: Toxic,
        for_duration: Option<std::time::Duration>,
    ) -> Result<(), LaunchError> {
        toxic.check().map_err(LaunchError::Unsupported)?;
        self.proxies.get(name)?.add(toxic, for_duration);
        Ok(())
    }

    /// The TCP proxies, with their toxics.
    pub fn proxies(&self) -> Vec<ProxyStatus> {
        self.proxies.statuses()
    }

    /// Undoes every fault (`devstack chaos reset`): toxics removed, paused components
    /// resumed, killed ones started again. Every component is tried; the first failure is
    /// returned.
    pub async fn reset_faults(&mut self) -> Result<(), LaunchError> {
        self.proxies.clear();
        let mut first_error = None;
        for component in &mut self.components {
            let Some(fault) = component.fault().map(|f| f.fault) else {
                continue;
            };
            let result = match fault {
                ProcessFault::Pause => component.resume(),
                _ => component.start().await,
            };
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The process faults in force, in component order.
    pub fn faults(&self) -> Vec<ActiveFault> {
        self.components
            .iter()
            .filter_map(|c| c.fault().cloned())
            .collect()
    }
}

/// Plans and starts one kind of infrastructure (a given URL is only checked).
async fn start_kind(
    kind: &dyn Kind,
    plan: &Plan<'_>,
) -> Result<(Box<dyn Instance>, Box<dyn Recipe>), LaunchError> {
    let recipe: Box<dyn Recipe> = match kind.given_url(plan.options) {
        Some(url) => Box::new(Given {
            name: kind.name(),
            url: url.to_string(),
        }),
        None => kind.plan(plan).await?,
    };
    let running = recipe.start().await?;
    Ok((running, recipe))
}

async fn timed<F>(name: &str, progress: &dyn Progress, start: F) -> Result<Started, LaunchError>
where
    F: std::future::Future<Output = Result<(Box<dyn Instance>, Box<dyn Recipe>), LaunchError>>,
{
    progress.starting(name);
    let started = Instant::now();
    match start.await {
        Ok((running, recipe)) => {
            let startup = started.elapsed();
            progress.ready(name, backend_word(running.backend()), startup);
            Ok(Started::new(name, running, recipe, startup))
        }
        Err(e) => {
            progress.failed(name);
            Err(e)
        }
    }
}

fn backend_word(backend: slipway_contracts::state::Backend) -> &'static str {
    use slipway_contracts::state::Backend;
    match backend {
        Backend::Native => "native",
        Backend::Docker => "docker",
        Backend::External => "external",
        Backend::Embedded => "embedded",
    }
}
