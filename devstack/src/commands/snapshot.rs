//! `devstack snapshot save|load|list|rm|export|import`: the whole stack's state, kept under
//! `.devstack/snapshots/NAME/` (see [`crate::snapshot`]).
//!
//! On a running stack a save pauses its apps (SIGSTOP, through the control socket, with a
//! 60-second safety net that resumes them should this command die) so that no write lands
//! between the three captures; requests wait in the kernel meanwhile, none is lost. A load
//! checks the snapshot first (changing nothing), stops the apps, loads, and starts them again
//! (their caches would lie otherwise); the stack's URLs do not change. With no stack running,
//! the infrastructure `devstack up` would start (same data directory, no apps) is started
//! for the while and stopped again.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use slipway_contracts::chaos::ProcessFault;
use slipway_contracts::client;
use slipway_contracts::control::{ComponentState, Request};
use slipway_contracts::state::StackState;

use crate::cli::{SnapshotAction, SnapshotArgs};
use crate::config::DevstackConfig;
use crate::paths::Paths;
use crate::process::is_alive;
use crate::snapshot::library::Library;
use crate::snapshot::manifest::Manifest;
use crate::snapshot::{self, Endpoints, Meta, archive};
use crate::stack::kinds::INFRASTRUCTURE;
use crate::stack::{Silent, Stack, StackOptions};

/// How long a save may keep the apps paused if this command dies mid-way.
const PAUSE_SAFETY: Duration = Duration::from_secs(60);

/// Runs `devstack snapshot`.
pub async fn run(paths: &Paths, args: SnapshotArgs) -> anyhow::Result<()> {
    let library = Library::new(paths.snapshots_dir());
    match args.action {
        SnapshotAction::Save { name, force } => save(paths, &library, &name, force).await,
        SnapshotAction::Load { name } => load(paths, &library, &name).await,
        SnapshotAction::List => list(&library),
        SnapshotAction::Rm { name } => {
            library.remove(&name)?;
            println!("removed snapshot {name}");
            Ok(())
        }
        SnapshotAction::Export { name, file } => {
            let dir = library.existing(&name)?;
            let bytes = archive::export(&dir, &file)?;
            println!("exported {name} to {} ({})", file.display(), size(bytes));
            Ok(())
        }
        SnapshotAction::Import { file, name, force } => {
            let (name, manifest) = archive::import(&library, &file, name.as_deref(), force)?;
            println!(
                "imported {} as {name}: {}",
                file.display(),
                contents(&manifest)
            );
            Ok(())
        }
    }
}

/// The stack a snapshot is taken from or loaded into.
enum Target {
    /// A running `up`: its components' own URLs and its control socket.
    Running(StackState),
    /// No stack was running: its infrastructure, started here for the while.
    Stopped(Stack),
}

impl Target {
    async fn open(paths: &Paths) -> anyhow::Result<Self> {
        if let Ok(state) = StackState::read(&paths.state_file())
            && is_alive(state.devstack_pid)
        {
            return Ok(Self::Running(state));
        }
        let options = StackOptions {
            ephemeral: false,
            data_dir: paths.data_dir(),
            log_dir: Some(paths.log_dir()),
            config: DevstackConfig::load(&paths.config_file())?,
            postgres_url: None,
            redis_url: None,
            sqs_url: None,
            repair: false,
            no_proxy: true,
            telemetry: None,
        };
        let stack = Stack::start(&options, &Silent)
            .await
            .context("no stack is running here, and its infrastructure could not be started")?;
        Ok(Self::Stopped(stack))
    }

    fn endpoints(&self) -> anyhow::Result<Endpoints> {
        let endpoints = match self {
            Self::Running(state) => Endpoints::from_components(
                state
                    .components
                    .iter()
                    .map(|c| (c.name.as_str(), c.url.as_str())),
            ),
            Self::Stopped(stack) => Endpoints::from_components(
                stack
                    .components()
                    .iter()
                    .map(|c| (c.name.as_str(), c.url())),
            ),
        };
        Ok(endpoints?)
    }

    fn settings(&self) -> std::collections::BTreeMap<String, String> {
        match self {
            Self::Running(state) => state.env.clone(),
            Self::Stopped(stack) => stack.env().clone(),
        }
    }

    async fn close(self) {
        if let Self::Stopped(stack) = self {
            stack.stop().await;
        }
    }
}

async fn save(paths: &Paths, library: &Library, name: &str, force: bool) -> anyhow::Result<()> {
    // Refuse a taken name before pausing anything.
    if !force && library.existing(name).is_ok() {
        return Err(snapshot::SnapshotError::Exists(name.to_string()).into());
    }
    let started = Instant::now();
    let target = Target::open(paths).await?;
    let result = save_from(paths, library, &target, name, force).await;
    target.close().await;
    let (manifest, paused) = result?;
    let paused = paused.map_or_else(String::new, |d| {
        format!("; apps paused for {} ms", d.as_millis())
    });
    println!(
        "saved snapshot {name} in {} ms{paused}: {}",
        started.elapsed().as_millis(),
        contents(&manifest)
    );
    Ok(())
}

async fn save_from(
    paths: &Paths,
    library: &Library,
    target: &Target,
    name: &str,
    force: bool,
) -> anyhow::Result<(Manifest, Option<Duration>)> {
    let endpoints = target.endpoints()?;
    let staging = library.staging()?;
    let meta = Meta {
        name: name.to_string(),
        stack_was_running: matches!(target, Target::Running(_)),
        settings: target.settings(),
    };
    let (captured, paused) = match target {
        Target::Running(_) => {
            let socket = paths.control_socket();
            let apps = running_apps(&socket).await?;
            let paused_at = Instant::now();
            let paused = pause(&socket, &apps).await;
            let captured = match &paused {
                Ok(()) => snapshot::capture(&endpoints, staging.path(), meta)
                    .await
                    .map_err(anyhow::Error::from),
                Err(e) => Err(anyhow::anyhow!("could not pause the apps: {e:#}")),
            };
            resume(&socket, &apps).await;
            (captured, (!apps.is_empty()).then(|| paused_at.elapsed()))
        }
        Target::Stopped(_) => (
            snapshot::capture(&endpoints, staging.path(), meta)
                .await
                .map_err(anyhow::Error::from),
            None,
        ),
    };
    let manifest = captured?;
    library.commit(staging, name, force)?;
    Ok((manifest, paused))
}

async fn load(paths: &Paths, library: &Library, name: &str) -> anyhow::Result<()> {
    let dir = library.existing(name)?;
    let started = Instant::now();
    let target = Target::open(paths).await?;
    let result = load_into(paths, &target, &dir).await;
    target.close().await;
    let (manifest, restarted) = result?;
    let restarted = if restarted.is_empty() {
        String::new()
    } else {
        format!("; restarted {}", restarted.join(", "))
    };
    println!(
        "loaded snapshot {name} in {} ms{restarted}: {}",
        started.elapsed().as_millis(),
        contents(&manifest)
    );
    Ok(())
}

async fn load_into(
    paths: &Paths,
    target: &Target,
    dir: &std::path::Path,
) -> anyhow::Result<(Manifest, Vec<String>)> {
    let endpoints = target.endpoints()?;
    // Everything is read and verified, and each server asked, before anything changes.
    let checked = snapshot::check(&endpoints, dir).await?;
    let Target::Running(_) = target else {
        return Ok((checked.restore(&endpoints).await?, Vec::new()));
    };
    let socket = paths.control_socket();
    let apps = running_apps(&socket).await?;
    for app in &apps {
        client::carried_out(
            &socket,
            &Request::Stop {
                component: app.clone(),
            },
        )
        .await?;
    }
    let restored = checked.restore(&endpoints).await;
    let mut restarted = Vec::new();
    for app in apps {
        match client::carried_out(
            &socket,
            &Request::Start {
                component: app.clone(),
            },
        )
        .await
        {
            Ok(_) => restarted.push(app),
            Err(e) => eprintln!("warning: {app} did not start again: {e} (`devstack start {app}`)"),
        }
    }
    let manifest = restored.context(
        "the load failed part-way: the stack holds part of the snapshot; load it again, or \
         `devstack reset` for a fresh state",
    )?;
    Ok((manifest, restarted))
}

/// The running stack's apps that are up (not its infrastructure).
async fn running_apps(socket: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let response = client::carried_out(socket, &Request::Status).await?;
    Ok(response
        .components
        .into_iter()
        .filter(|c| !INFRASTRUCTURE.iter().any(|kind| kind.name() == c.name))
        .filter(|c| matches!(c.state, ComponentState::Ready | ComponentState::Stale))
        .map(|c| c.name)
        .collect())
}

async fn pause(socket: &std::path::Path, apps: &[String]) -> anyhow::Result<()> {
    for app in apps {
        let request = Request::Chaos {
            fault: ProcessFault::Pause,
            component: app.clone(),
            for_ms: Some(u64::try_from(PAUSE_SAFETY.as_millis()).unwrap_or(u64::MAX)),
        };
        client::carried_out(socket, &request).await?;
    }
    Ok(())
}

/// Resumes every app that was to be paused (resuming one that is not paused does nothing).
async fn resume(socket: &std::path::Path, apps: &[String]) {
    for app in apps {
        let request = Request::Chaos {
            fault: ProcessFault::Resume,
            component: app.clone(),
            for_ms: None,
        };
        if let Err(e) = client::carried_out(socket, &request).await {
            eprintln!("warning: could not resume {app}: {e} (`devstack chaos resume {app}`)");
        }
    }
}

fn list(library: &Library) -> anyhow::Result<()> {
    let listed = library.list()?;
    if listed.is_empty() {
        println!("no snapshots yet (`devstack snapshot save NAME`)");
        return Ok(());
    }
    let rows: Vec<[String; 4]> = listed
        .iter()
        .map(|snapshot| match &snapshot.manifest {
            Ok(m) => [
                snapshot.name.clone(),
                m.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                size(m.bytes()),
                contents(m),
            ],
            Err(why) => [
                snapshot.name.clone(),
                "-".into(),
                "-".into(),
                format!("unreadable: {why}"),
            ],
        })
        .collect();
    super::up::print_rows(["name", "created (UTC)", "size", "holds"], &rows);
    Ok(())
}

/// What a snapshot holds, in one line.
fn contents(manifest: &Manifest) -> String {
    let databases = manifest.postgres.databases.len();
    format!(
        "postgres {databases} database{} ({}), redis {} key{}, sqs {} queue{} with {} message{}",
        plural(databases),
        manifest.postgres.server_version,
        manifest.redis.keys,
        plural(manifest.redis.keys as usize),
        manifest.sqs.queues,
        plural(manifest.sqs.queues),
        manifest.sqs.messages,
        plural(manifest.sqs.messages),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
