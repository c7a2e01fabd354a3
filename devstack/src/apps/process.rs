//! Running one app: build it (once, before its first start), run its setup (before every
//! start: migrations), start its command with its settings on its port, wait until it is
//! ready, stop it with SIGTERM (the service drains its work then). Every step runs as a
//! [`ManagedChild`]: its own process group and log file, stopped with devstack whatever
//! happens (Ctrl-C during a build included).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::process::Command;

use super::declaration::AppDeclaration;
use super::declaration::ReloadOrder;
use super::template;
use crate::launch::{LaunchError, wait_ready};
use crate::process::ManagedChild;

/// An app with its settings filled in: what a start (and every restart) runs.
#[derive(Debug, Clone)]
pub struct ResolvedApp {
    /// Its name.
    pub name: String,
    /// Its command, filled.
    pub command: Vec<String>,
    /// Its setup command, filled (may be empty).
    pub setup: Vec<String>,
    /// Its environment, filled, `PORT` included.
    pub env: BTreeMap<String, String>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The HTTP path polled until 200, if any.
    pub health: Option<String>,
    /// The directory it runs in (the workspace root).
    pub workdir: PathBuf,
    /// Its log file.
    pub log: PathBuf,
    /// Echo its log lines to stdout, prefixed with its name.
    pub echo: bool,
    /// How a reload replaces it.
    pub reload: ReloadOrder,
}

/// The setting that says where the stack's trace collector is.
const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Fills `app`'s `${NAME}`s from `settings` plus its `PORT`; adds the collector's settings
/// (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_SERVICE_NAME` = its
/// name) unless it sets them itself.
pub fn resolve(
    app: &AppDeclaration,
    settings: &BTreeMap<String, String>,
    port: u16,
    workdir: &Path,
    log: PathBuf,
) -> Result<ResolvedApp, LaunchError> {
    let mut settings = settings.clone();
    settings.insert("PORT".into(), port.to_string());
    let fill = |text: &String| {
        template::fill(text, &settings).map_err(|name| {
            LaunchError::Unsupported(format!("app {}: nothing provides ${{{name}}}", app.name()))
        })
    };
    let mut env = app
        .env
        .get_ref()
        .iter()
        .map(|(k, v)| Ok((k.clone(), fill(v)?)))
        .collect::<Result<BTreeMap<_, _>, LaunchError>>()?;
    env.insert("PORT".into(), port.to_string());
    // Every app is handed the stack's collector, as OpenTelemetry's SDKs read it, unless it
    // says otherwise.
    if settings.contains_key(OTLP_ENDPOINT) {
        for key in [OTLP_ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            if let Some(value) = settings.get(key) {
                env.entry(key.to_string()).or_insert_with(|| value.clone());
            }
        }
        env.entry("OTEL_SERVICE_NAME".to_string())
            .or_insert_with(|| app.name().to_string());
    }
    Ok(ResolvedApp {
        name: app.name().to_string(),
        command: app
            .command
            .get_ref()
            .iter()
            .map(fill)
            .collect::<Result<_, _>>()?,
        setup: app.setup.iter().map(fill).collect::<Result<_, _>>()?,
        env,
        port,
        health: app.health.clone(),
        workdir: workdir.to_path_buf(),
        log,
        echo: true,
        reload: app.reload,
    })
}

fn command_of(words: &[String], workdir: &Path) -> Option<Command> {
    let (program, args) = words.split_first()?;
    let mut command = Command::new(program);
    command.args(args).current_dir(workdir);
    Some(command)
}

/// Runs `words` in `workdir` to the end as a managed child with its output in `log`; the
/// error carries the first compiler-style error of the output (or its end). While it runs,
/// `progress` hears cargo's own progress (`building 45/312: serde, tokio`) every 250 ms:
/// cargo is asked to draw its progress bar into the log (`CARGO_TERM_PROGRESS_WHEN`).
pub async fn run_to_end(
    what: &str,
    words: &[String],
    workdir: &Path,
    log: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), LaunchError> {
    let Some(mut command) = command_of(words, workdir) else {
        return Ok(());
    };
    command
        .env("CARGO_TERM_PROGRESS_WHEN", "always")
        .env("CARGO_TERM_PROGRESS_WIDTH", "100");
    std::fs::write(log, b"")
        .map_err(|e| LaunchError::Io(format!("cannot create {}: {e}", log.display())))?;
    let mut child = ManagedChild::spawn(what, command, log, Signal::SIGTERM)
        .map_err(|e| LaunchError::NotInstalled(format!("cannot run `{}`: {e}", words.join(" "))))?;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            () = tokio::time::sleep(Duration::from_millis(250)) => {
                if let Some(line) = std::fs::read_to_string(log).ok().as_deref().and_then(cargo_progress) {
                    progress(&line);
                }
            }
        }
    }
    .map_err(|e| LaunchError::Io(format!("cannot wait for `{}`: {e}", words.join(" "))))?;
    child.stop(Duration::from_secs(1)).await;
    if status.success() {
        return Ok(());
    }
    Err(LaunchError::Startup {
        component: what.to_string(),
        reason: format!("`{}` failed ({status})", words.join(" ")),
        log_tail: first_error(&std::fs::read_to_string(log).unwrap_or_default()),
    })
}

/// Cargo's latest progress in its output: the bar's `[==>  ] 45/312: a, b` (with a
/// `Building` header on a terminal, without one in a file) as `building 45/312: a, b`, else
/// the last `Compiling x v1.0`, else nothing.
pub fn cargo_progress(output: &str) -> Option<String> {
    let pieces = output.split(['\r', '\n']).map(str::trim);
    let mut latest = None;
    for piece in pieces {
        let bar = piece.trim_start_matches("Building").trim_start();
        if let Some(rest) = bar.strip_prefix('[') {
            if let Some((_, counts)) = rest.split_once(']')
                && counts.contains('/')
            {
                latest = Some(format!("building {}", counts.trim()));
            }
        } else if piece.starts_with("Compiling ") {
            latest = Some(piece.to_lowercase());
        }
    }
    latest
}

/// The compiler's first error in full (from its `error` line to the blank line that ends
/// it), not the wall of text that follows; the last lines when there is no such line.
pub fn first_error(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let Some(start) = lines.iter().position(|l| l.starts_with("error")) else {
        return lines[lines.len().saturating_sub(20)..].join("\n");
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim().is_empty())
        .map_or(lines.len(), |n| start + 1 + n);
    let mut shown = lines[start..end].join("\n");
    let more = lines[end..]
        .iter()
        .filter(|l| l.starts_with("error"))
        .count();
    if more > 0 {
        shown.push_str(&format!(
            "\n({more} more error lines follow in the build log)"
        ));
    }
    shown
}

/// A running app.
#[derive(Debug)]
pub struct AppProcess {
    child: ManagedChild,
    port: u16,
}

impl AppProcess {
    /// Runs the setup, starts the command and waits until it is ready: its health path
    /// answers 200, or (without one) its port accepts connections. An app replaced start-first
    /// shares its port with the process it replaces, so it must also hold a listener on the
    /// port itself (see [`crate::listeners`]).
    pub async fn start(app: &ResolvedApp) -> Result<Self, LaunchError> {
        if let Some(parent) = app.log.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| LaunchError::Io(format!("cannot create {}: {e}", parent.display())))?;
        }
        // The setup gets the app's settings too (a migration needs DATABASE_URL).
        setup(app).await?;
        let Some(mut command) = command_of(&app.command, &app.workdir) else {
            return Err(LaunchError::Unsupported(format!(
                "app {}: empty command",
                app.name
            )));
        };
        command.envs(&app.env);
        // Appended to across restarts and reloads (rotation bounds it).
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&app.log)
            .map_err(|e| LaunchError::Io(format!("cannot create {}: {e}", app.log.display())))?;
        let mut child = ManagedChild::spawn(&app.name, command, &app.log, Signal::SIGTERM)
            .map_err(|e| LaunchError::NotInstalled(format!("app {}: {e}", app.name)))?;
        let (pid, shared) = (child.pid(), app.reload == ReloadOrder::StartFirst);
        let ready = wait_ready(
            Duration::from_secs(60),
            || async move {
                let mine = !shared || crate::listeners::listens_on(pid, app.port).unwrap_or(true);
                mine && ready(app.port, app.health.clone()).await
            },
            || child.try_exit().map(|s| s.to_string()),
        )
        .await;
        if let Err(reason) = ready {
            let tail = child.log_tail(20);
            child.stop(Duration::from_secs(5)).await;
            return Err(LaunchError::Startup {
                component: app.name.clone(),
                reason,
                log_tail: tail,
            });
        }
        Ok(Self {
            child,
            port: app.port,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The pid.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// SIGTERM, then up to 30 s to finish (the service drains its work); then a moment for
    /// the echo to show its last lines.
    pub async fn stop(self) {
        self.child.stop(Duration::from_secs(30)).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[async_trait::async_trait]
impl crate::component::Instance for AppProcess {
    fn backend(&self) -> slipway_contracts::state::Backend {
        slipway_contracts::state::Backend::Native
    }

    fn url(&self) -> String {
        AppProcess::url(self)
    }

    fn pid(&self) -> Option<u32> {
        Some(AppProcess::pid(self))
    }

    async fn stop(self: Box<Self>) {
        AppProcess::stop(*self).await;
    }
}

/// An app's recipe: its settings filled in. A start runs its setup and command (a restart
/// does not rebuild it: the watcher builds before it replaces it). The echo of its log to the
/// terminal belongs to the recipe, not to one process: one echo across restarts and reloads,
/// even while an old and a new process overlap; it ends when the recipe is dropped.
#[derive(Debug)]
pub struct AppRecipe {
    app: ResolvedApp,
    echo: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl AppRecipe {
    /// The recipe of `app`.
    pub fn new(app: ResolvedApp) -> Self {
        Self {
            app,
            echo: std::sync::Mutex::new(None),
        }
    }
}

impl Drop for AppRecipe {
    fn drop(&mut self) {
        let echo = self
            .echo
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(echo) = echo.take() {
            echo.abort();
        }
    }
}

#[async_trait::async_trait]
impl crate::component::Recipe for AppRecipe {
    async fn start(&self) -> Result<Box<dyn crate::component::Instance>, LaunchError> {
        // From the log's end before the start: this run's lines, every one of them.
        let tail = crate::logs::tail::Tail::new(&self.app.log, false);
        let process = AppProcess::start(&self.app).await?;
        let mut echo = self
            .echo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.app.echo && echo.is_none() {
            *echo = Some(tokio::spawn(echo_log(self.app.name.clone(), tail)));
        }
        Ok(Box::new(process))
    }

    fn starts_beside_old(&self) -> bool {
        self.app.reload == ReloadOrder::StartFirst
    }
}

/// Runs the app's setup command to the end with its settings; its output goes to
/// `<name>.setup.log`.
async fn setup(app: &ResolvedApp) -> Result<(), LaunchError> {
    let words = &app.setup;
    let log = app.log.with_extension("setup.log");
    let Some(mut command) = command_of(words, &app.workdir) else {
        return Ok(());
    };
    command.envs(&app.env);
    let output = command.output().await.map_err(|e| {
        LaunchError::Io(format!(
            "app {}: cannot run `{}`: {e}",
            app.name,
            words.join(" ")
        ))
    })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::write(&log, &text);
    if output.status.success() {
        Ok(())
    } else {
        Err(LaunchError::Startup {
            component: app.name.clone(),
            reason: format!(
                "app {}: `{}` failed ({})",
                app.name,
                words.join(" "),
                output.status
            ),
            log_tail: text,
        })
    }
}

async fn ready(port: u16, health: Option<String>) -> bool {
    match health {
        Some(path) => {
            let url = format!("http://127.0.0.1:{port}{path}");
            let Ok(client) = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
            else {
                return false;
            };
            client
                .get(url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
        None => tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok(),
    }
}

/// Prints the lines `tail` finds appended, prefixed with `name` and rendered, until aborted.
async fn echo_log(name: String, mut tail: crate::logs::tail::Tail) {
    loop {
        for line in tail.new_lines() {
            println!("{name} | {}", crate::logs::line::render(&line));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_progress_is_read_from_its_bar() {
        let output =
            "   Compiling libc v0.2.1\r    Building [=====>      ] 45/312: serde, tokio   \r";
        assert_eq!(
            cargo_progress("[=>   ] 32/394: tokio    \r").as_deref(),
            Some("building 32/394: tokio")
        );
        assert_eq!(
            cargo_progress(output).as_deref(),
            Some("building 45/312: serde, tokio")
        );
        assert_eq!(
            cargo_progress("   Compiling service v0.1.0 (/w/service)\n").as_deref(),
            Some("compiling service v0.1.0 (/w/service)")
        );
        assert_eq!(cargo_progress("nothing here"), None);
    }

    #[test]
    fn the_first_compiler_error_is_shown_whole() {
        let output = "   Compiling service v0.1.0\nerror[E0308]: mismatched types\n --> src/a.rs:1:1\n  |\n1 | x\n\nerror: aborting due to 1 previous error\n";
        let shown = first_error(output);
        assert!(
            shown.starts_with("error[E0308]: mismatched types\n --> src/a.rs:1:1"),
            "{shown}"
        );
        assert!(
            shown.ends_with("(1 more error lines follow in the build log)"),
            "{shown}"
        );
        assert_eq!(first_error("a\nb\n"), "a\nb");
    }
}
