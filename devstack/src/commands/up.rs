//! `devstack up`: clean up after a crashed run, start the stack, print the table and the env,
//! write `.devstack/env` and `.devstack/state.json`, run until Ctrl-C or SIGTERM, stop cleanly.
//!
//! Signals are heard from the first moment: a Ctrl-C or SIGTERM while the stack is still
//! starting (building the service can take minutes) abandons the start, which stops every
//! child started so far (each `ManagedChild` stops its process group when dropped, and the
//! build runs as one), and `up` exits at once with an error.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use slipway_contracts::state::StackState;
use tokio::sync::Mutex;

use super::progress::Spinners;
use crate::apps::declaration::{AppDeclaration, default_apps};
use crate::cli::UpArgs;
use crate::config::DevstackConfig;
use crate::hooks::{self, HooksConfig};
use crate::launch::external::redact;
use crate::logs::hub::LogHub;
use crate::otlp::forward::Forwarder;
use crate::otlp::receiver::Sink;
use crate::otlp::store::SpanStore;
use crate::paths::Paths;
use crate::process::is_alive;
use crate::signals::Shutdown;
use crate::stack::{Stack, StackOptions};

/// Runs `devstack up`.
pub async fn run(paths: &Paths, args: UpArgs) -> anyhow::Result<()> {
    let mut signals = Shutdown::listen();
    let spinners = Spinners::default();
    // Following the logs from the first moment: the TUI's Logs view shows the start too.
    let logs = LogHub::new(crate::logs::hub::CAPACITY);
    let following = tokio::spawn(crate::logs::hub::follow(
        logs.clone(),
        paths.log_dir(),
        Duration::from_millis(200),
    ));
    let _following = AbortOnDrop(following);
    let Started {
        stack,
        apps,
        watch,
        traces,
        hooks,
    } = tokio::select! {
        started = start(paths, &args, &spinners) => started?,
        () = signals.recv() => {
            spinners.clear();
            anyhow::bail!("interrupted while starting; everything started so far was stopped");
        }
    };
    let stack = Arc::new(Mutex::new(stack));
    // The control socket first: once the state file exists, clients may use it.
    let on_change: Arc<dyn Fn(&Stack) + Send + Sync> = {
        let paths = paths.clone();
        Arc::new(move |stack: &Stack| {
            if let Err(error) = write_state(&paths, &stack.state()) {
                eprintln!("warning: {error:#}");
            }
        })
    };
    let socket = paths.control_socket();
    let control = {
        let on_change = on_change.clone();
        let served = crate::control::server::Served {
            stack: stack.clone(),
            logs,
            traces: Some(traces),
            on_change: Box::new(move |stack| on_change(stack)),
        };
        crate::control::server::bind(&socket, served)
            .with_context(|| format!("cannot open {}", socket.display()))?
    };
    let watching = if watch {
        let watching = crate::watch::start(
            &apps,
            &paths.root,
            &paths.log_dir(),
            stack.clone(),
            on_change,
        )
        .context("cannot watch the apps' sources")?;
        if watching.is_some() {
            println!("Watching the apps' sources: a save rebuilds and replaces the app.");
        }
        watching
    } else {
        None
    };
    {
        let stack = stack.lock().await;
        let state = stack.state();
        write_state(paths, &state)?;
        announce(paths, &stack, &state);
    }
    let rotation = tokio::spawn(crate::logs::files::keep_bounded(
        paths.log_dir(),
        crate::logs::files::ROTATE_AT_BYTES,
        Duration::from_secs(10),
    ));

    // After the state file and the control socket: a hook may use `devstack` itself
    // (`devstack snapshot load fixtures`, `devstack status`).
    let env = stack.lock().await.env().clone();
    let seeded = tokio::select! {
        seeded = run_ready_hooks(paths, &args, &hooks, &env) => seeded,
        () = signals.recv() => Err(anyhow::anyhow!("interrupted while the ready hooks ran")),
    };
    if seeded.is_ok() {
        signals.recv().await;
    }
    // No reload may start while the stack stops.
    drop(watching);
    control.abort();
    rotation.abort();
    println!("\nstopping…");
    if seeded.is_ok() && !hooks.stop.is_empty() {
        let context = hook_context(paths, &env);
        if let Err(error) =
            hooks::run_all(&hooks.stop, &context, Some(hooks::STOP_HOOK_LIMIT)).await
        {
            eprintln!("warning: a stop hook failed (the stack stops anyway): {error}");
        }
    }
    let _ = std::fs::remove_file(paths.state_file());
    let _ = std::fs::remove_file(paths.env_file());
    tokio::time::timeout(Duration::from_secs(30), async {
        stack.lock().await.stop_all().await;
    })
    .await
    .context("components did not stop within 30 s")?;
    println!("stopped");
    seeded.context("a ready hook failed; the stack was stopped")
}

/// Aborts a background task when dropped (whichever way `up` ends).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes `.devstack/state.json` and `.devstack/env` (both owner-only).
/// The env file first: the state file's appearance is what readers wait for.
fn write_state(paths: &Paths, state: &StackState) -> anyhow::Result<()> {
    slipway_contracts::state::write_owner_only(&paths.env_file(), state.env_vars().as_bytes())
        .with_context(|| format!("cannot write {}", paths.env_file().display()))?;
    state.write(&paths.state_file())?;
    Ok(())
}

/// What `start` brings up.
struct Started {
    stack: Stack,
    /// Its apps.
    apps: Vec<AppDeclaration>,
    /// Whether to watch them.
    watch: bool,
    /// The collector's spans.
    traces: Arc<SpanStore>,
    /// `[hooks]` (the stop hooks are still to run).
    hooks: HooksConfig,
}

/// Starts the infrastructure (the trace collector among it), then the apps (the service by
/// default) unless `--no-service`.
async fn start(paths: &Paths, args: &UpArgs, spinners: &Spinners) -> anyhow::Result<Started> {
    let mut config = DevstackConfig::load(&paths.config_file())?;
    apply_flags(&mut config, args);
    std::fs::create_dir_all(&paths.dir)
        .with_context(|| format!("cannot create {}", paths.dir.display()))?;
    clean_up_after_crash(paths)?;

    let traces = Arc::new(SpanStore::new(config.telemetry.bounds()));
    let telemetry = Sink {
        store: traces.clone(),
        forward: args.otlp_forward.as_deref().map(Forwarder::start),
    };
    let options = StackOptions {
        ephemeral: args.ephemeral,
        data_dir: paths.data_dir(),
        log_dir: Some(paths.log_dir()),
        config,
        postgres_url: args.postgres_url.clone(),
        redis_url: args.redis_url.clone(),
        sqs_url: args.sqs_url.clone(),
        repair: args.repair,
        no_proxy: args.no_proxy,
        telemetry: Some(telemetry),
    };
    let apps = if args.no_service {
        Vec::new()
    } else if options.config.apps.is_empty() {
        let port = args.service_port.unwrap_or(options.config.ports.service);
        default_apps(&paths.root, port)
    } else {
        options.config.apps.clone()
    };
    let mut stack = Stack::start(&options, spinners).await?;
    if let Err(error) = stack
        .start_apps(&apps, &paths.root, &paths.log_dir(), spinners)
        .await
    {
        stack.stop().await;
        return Err(error.into());
    }
    Ok(Started {
        watch: args.watch || options.config.watch,
        hooks: options.config.hooks,
        stack,
        apps,
        traces,
    })
}

/// Runs the ready hooks unless they ran on this (persistent) state already.
async fn run_ready_hooks(
    paths: &Paths,
    args: &UpArgs,
    config: &HooksConfig,
    env: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<()> {
    if config.ready.is_empty() {
        return Ok(());
    }
    let data = paths.data_dir();
    if !args.ephemeral
        && let Some(record) = hooks::ReadyRecord::read(&data)
    {
        println!(
            "Ready hooks ran on this state at {} (`devstack reset` for a fresh state seeds again).",
            record.ran_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        return Ok(());
    }
    let took = hooks::run_all(&config.ready, &hook_context(paths, env), None).await?;
    for (command, took) in took {
        println!("hook ready: {command} ({} ms)", took.as_millis());
    }
    if !args.ephemeral {
        hooks::ReadyRecord::write(&data, &config.ready)
            .with_context(|| format!("cannot record in {} that the hooks ran", data.display()))?;
    }
    Ok(())
}

fn hook_context<'a>(
    paths: &'a Paths,
    env: &'a std::collections::BTreeMap<String, String>,
) -> hooks::HookContext<'a> {
    hooks::HookContext {
        root: &paths.root,
        env,
        log: paths.log_dir().join("hooks.log"),
    }
}

/// Prints the notes, the component table and the settings.
fn announce(paths: &Paths, stack: &Stack, state: &StackState) {
    for note in stack.notes() {
        println!("note: {note}");
    }
    print_table(state);
    println!();
    println!("Settings (also in {}):", paths.env_file().display());
    for (key, value) in &state.env {
        println!("  export {key}={}", shell_quote(value));
    }
    println!();
    println!(
        "Logs in {} (all of them, merged: `devstack logs -f`). Ctrl-C stops everything.",
        paths.log_dir().display()
    );
}

fn apply_flags(config: &mut DevstackConfig, args: &UpArgs) {
    if let Some(backend) = args.backend {
        config.backends.postgres = backend;
        config.backends.redis = backend;
    }
    if let Some(port) = args.postgres_port {
        config.ports.postgres = port;
    }
    if let Some(port) = args.redis_port {
        config.ports.redis = port;
    }
    if let Some(port) = args.sqs_port {
        config.ports.sqs = port;
    }
    if let Some(port) = args.otlp_port {
        config.ports.otlp = port;
    }
    if let Some(port) = args.otlp_grpc_port {
        config.ports.otlp_grpc = port;
    }
}

/// A previous `up` that died (SIGKILL, power loss) leaves its state file behind; its children
/// died with it through their watchdogs, but stop any that survived before starting again.
fn clean_up_after_crash(paths: &Paths) -> anyhow::Result<()> {
    let Ok(old) = StackState::read(&paths.state_file()) else {
        return Ok(());
    };
    if is_alive(old.devstack_pid) && old.devstack_pid != std::process::id() {
        anyhow::bail!(
            "a devstack is already running here (pid {}); see `devstack status`, or stop it with `devstack down`",
            old.devstack_pid
        );
    }
    for component in &old.components {
        let Some(pid) = component.pid else { continue };
        if is_alive(pid) && process_looks_like(pid, &component.name) {
            eprintln!(
                "note: stopping {} (pid {pid}) left by a devstack that crashed",
                component.name
            );
            if let Ok(raw) = i32::try_from(pid) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(raw),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
    let _ = std::fs::remove_file(paths.state_file());
    Ok(())
}

/// Guards against pid reuse: the process's command line names the component's program.
fn process_looks_like(pid: u32, component: &str) -> bool {
    let program = if component == "redis" {
        "redis"
    } else {
        component
    };
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(program))
        .unwrap_or(true)
}

/// Prints the component table (URLs with passwords redacted).
pub fn print_table(state: &StackState) {
    let rows: Vec<[String; 4]> = state
        .components
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                format!("{:?}", c.backend).to_lowercase(),
                redact(&c.url),
                format!("{} ms", c.startup_ms),
            ]
        })
        .collect();
    print_rows(["component", "backend", "address", "startup"], &rows);
}

/// Prints rows under a header, columns padded to their widest cell.
pub fn print_rows<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("  {}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Quotes a value for a POSIX shell when it needs it.
pub fn shell_quote(value: &str) -> String {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c))
    {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_quote("postgres://postgres@127.0.0.1:55432/slipway"),
            "postgres://postgres@127.0.0.1:55432/slipway"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
