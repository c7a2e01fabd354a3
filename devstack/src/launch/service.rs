//! The service, as a child process: `cargo build -p service`, `service migrate`, then
//! `service serve` with the stack's settings; its log lines are echoed with a `service |`
//! prefix; ready when `GET /health` answers 200; on stop it gets SIGTERM and drains first.
//! devstack never links the service crate: it only runs its binary.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::process::Command;

use super::{LaunchError, wait_ready};
use crate::process::ManagedChild;

/// How to run the service.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// The workspace root (where `cargo build` runs).
    pub workspace: PathBuf,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The settings (DATABASE_URL, REDIS_URL, AWS_*, SQS_*).
    pub env: std::collections::BTreeMap<String, String>,
    /// The log file.
    pub log: PathBuf,
    /// Echo its log lines to stdout with a prefix.
    pub echo: bool,
}

/// A running service.
#[derive(Debug)]
pub struct ServiceProcess {
    child: ManagedChild,
    port: u16,
    echo: Option<tokio::task::JoinHandle<()>>,
}

fn target_dir(workspace: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from)
}

/// Builds the service binary and returns its path. Cargo runs in its own process group with
/// its output in `log`: abandoning the build (dropping this future, as Ctrl-C during `up`
/// does) stops cargo and every compiler it started.
pub async fn build(workspace: &Path, log: &Path) -> Result<PathBuf, LaunchError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args(["build", "-q", "-p", "service"])
        .current_dir(workspace);
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| LaunchError::Io(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(log, b"")
        .map_err(|e| LaunchError::Io(format!("cannot create {}: {e}", log.display())))?;
    let mut child = ManagedChild::spawn("cargo", command, log, Signal::SIGTERM).map_err(|e| {
        LaunchError::NotInstalled(format!("cannot run cargo to build the service: {e}"))
    })?;
    let status = child
        .wait()
        .await
        .map_err(|e| LaunchError::Io(format!("cannot wait for cargo: {e}")))?;
    child.stop(Duration::from_secs(1)).await;
    if !status.success() {
        return Err(LaunchError::Startup {
            component: "service",
            reason: "cargo build -p service failed".into(),
            log_tail: first_error(&std::fs::read_to_string(log).unwrap_or_default()),
        });
    }
    let binary = target_dir(workspace).join("debug").join("service");
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(LaunchError::Io(format!(
            "built, but {} is missing",
            binary.display()
        )))
    }
}

/// The compiler's first error in full (from its `error` line to the blank line that ends
/// it), not the wall of text that follows; the whole output when there is no such line.
pub fn first_error(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let Some(start) = lines.iter().position(|l| l.starts_with("error")) else {
        return output.trim_end().to_string();
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

impl ServiceProcess {
    /// Migrates, starts `service serve` and waits for `/health`.
    pub async fn start(binary: &Path, options: &ServiceOptions) -> Result<Self, LaunchError> {
        let migrate = Command::new(binary)
            .arg("migrate")
            .envs(&options.env)
            .env("LOG_FORMAT", "pretty")
            .output()
            .await
            .map_err(|e| LaunchError::Io(format!("cannot run {}: {e}", binary.display())))?;
        if !migrate.status.success() {
            return Err(LaunchError::Startup {
                component: "service",
                reason: "`service migrate` failed".into(),
                log_tail: format!(
                    "{}{}",
                    String::from_utf8_lossy(&migrate.stdout),
                    String::from_utf8_lossy(&migrate.stderr)
                ),
            });
        }
        if let Some(parent) = options.log.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| LaunchError::Io(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&options.log, b"").map_err(|e| {
            LaunchError::Io(format!("cannot create {}: {e}", options.log.display()))
        })?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .envs(&options.env)
            .env("HTTP_ADDR", format!("127.0.0.1:{}", options.port))
            // Structured in the file; `devstack logs` and the echo show it readably.
            .env("LOG_FORMAT", "json")
            .env("NO_COLOR", "1");
        let mut child = ManagedChild::spawn("service", command, &options.log, Signal::SIGTERM)
            .map_err(|e| LaunchError::Io(e.to_string()))?;
        let echo = options
            .echo
            .then(|| tokio::spawn(echo_log(options.log.clone())));
        let health = format!("http://127.0.0.1:{}/health", options.port);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| LaunchError::Io(e.to_string()))?;
        let ready = wait_ready(
            Duration::from_secs(60),
            || {
                let (client, health) = (client.clone(), health.clone());
                async move {
                    client
                        .get(&health)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                }
            },
            || child.try_exit().map(|s| s.to_string()),
        )
        .await;
        if let Err(reason) = ready {
            let tail = child.log_tail(20);
            child.stop(Duration::from_secs(5)).await;
            if let Some(echo) = echo {
                echo.abort();
            }
            return Err(LaunchError::Startup {
                component: "service",
                reason,
                log_tail: tail,
            });
        }
        Ok(Self {
            child,
            port: options.port,
            echo,
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

    /// SIGTERM: the service drains its worker pool and exits (30 s at most).
    pub async fn stop(self) {
        self.child.stop(Duration::from_secs(30)).await;
        if let Some(echo) = self.echo {
            tokio::time::sleep(Duration::from_millis(150)).await;
            echo.abort();
        }
    }
}

/// Prints lines appended to `log`, prefixed and rendered (`logs::line::render`), until
/// aborted.
async fn echo_log(log: PathBuf) {
    let mut tail = crate::logs::tail::Tail::new(&log, true);
    loop {
        for line in tail.new_lines() {
            println!("service | {}", crate::logs::line::render(&line));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
