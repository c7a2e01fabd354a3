//! `[hooks]` of `devstack.toml`: commands `devstack up` runs once the stack is ready
//! (`ready`: insert fixtures, send messages) and before it stops (`stop`), each a shell command
//! line run with `sh -c` in the workspace root, with the stack's settings (`DATABASE_URL`,
//! `REDIS_URL`, `AWS_ENDPOINT_URL`, `SQS_QUEUE_URL`, …) in its environment.
//!
//! ```toml
//! [hooks]
//! ready = ["./scripts/seed.sh", "python3 scripts/send_fixtures.py"]
//! stop = ["./scripts/report.sh"]
//! ```
//!
//! Ready hooks run after `up` has written the state file and opened the control socket, so a
//! hook may use `devstack` itself (`devstack snapshot load fixtures`).
//!
//! Their output goes to `.devstack/logs/hooks.log` (so `devstack logs hooks` shows it). A
//! failing `ready` hook stops `up` with the hook's output; a failing `stop` hook is reported
//! and the stack stops anyway.
//!
//! Ready hooks run once per fresh state: after they all succeed, `ready-hooks.json` is
//! written into the stack's data directory (`.devstack/data/`), and a persistent stack that
//! finds it there does not run them again. `devstack reset` deletes the data directory, and
//! with it the record, so the next `up` seeds again; an ephemeral stack is fresh every time.
//! A snapshot load leaves the record alone (the snapshot holds whatever its state was seeded
//! with).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// `[hooks]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HooksConfig {
    /// Run once the stack (apps included) is ready, in order; once per fresh state.
    pub ready: Vec<String>,
    /// Run before the stack stops, in order.
    pub stop: Vec<String>,
}

/// How long a `stop` hook may run before it is killed (the stack is stopping).
pub const STOP_HOOK_LIMIT: Duration = Duration::from_secs(30);

/// The file, in the data directory, that records that the ready hooks ran on this state.
pub const RECORD_FILE: &str = "ready-hooks.json";

/// Why a hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// It could not be started.
    #[error("hook `{command}` could not start: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The cause.
        source: std::io::Error,
    },
    /// It exited unsuccessfully or ran too long.
    #[error("hook `{command}` failed ({status}); its output:\n{output}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status, or why it was stopped.
        status: String,
        /// What it printed (stdout and stderr).
        output: String,
    },
}

/// Where hooks run and what they see.
#[derive(Debug, Clone)]
pub struct HookContext<'a> {
    /// The working directory (the workspace root).
    pub root: &'a Path,
    /// The stack's settings, added to the environment.
    pub env: &'a BTreeMap<String, String>,
    /// Where their output is appended (`hooks.log`).
    pub log: PathBuf,
}

/// Runs `commands` one after another; stops at the first failure. Returns how long each took.
pub async fn run_all(
    commands: &[String],
    context: &HookContext<'_>,
    limit: Option<Duration>,
) -> Result<Vec<(String, Duration)>, HookError> {
    let mut took = Vec::new();
    for command in commands {
        let started = Instant::now();
        run_one(command, context, limit).await?;
        took.push((command.clone(), started.elapsed()));
    }
    Ok(took)
}

async fn run_one(
    command: &str,
    context: &HookContext<'_>,
    limit: Option<Duration>,
) -> Result<(), HookError> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(context.root)
        .envs(context.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, so that a hook past its limit goes with its children.
        .process_group(0)
        .spawn()
        .map_err(|source| HookError::Spawn {
            command: command.to_string(),
            source,
        })?;
    let group = child.id().and_then(|id| i32::try_from(id).ok());
    let waited = match limit {
        Some(limit) => tokio::time::timeout(limit, child.wait_with_output()).await,
        None => Ok(child.wait_with_output().await),
    };
    let failed = |status: String, output: String| HookError::Failed {
        command: command.to_string(),
        status,
        output,
    };
    let output = match waited {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => {
            return Err(failed(
                format!("could not be waited for: {e}"),
                String::new(),
            ));
        }
        Err(_) => {
            if let Some(group) = group {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(group),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let limit = limit.unwrap_or_default();
            return Err(failed(
                format!("still running after {limit:?}, killed"),
                String::new(),
            ));
        }
    };
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    append_log(&context.log, command, &text);
    if output.status.success() {
        Ok(())
    } else {
        Err(failed(
            output.status.to_string(),
            text.trim_end().to_string(),
        ))
    }
}

/// Appends a hook's output to the log, each line prefixed with the hook (best effort: the
/// log is for reading later, the error carries the output too).
fn append_log(log: &Path, command: &str, text: &str) {
    let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    else {
        return;
    };
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let _ = writeln!(file, "{now} hook: {command}");
    for line in text.lines() {
        let _ = writeln!(file, "{now} {line}");
    }
}

/// The record that the ready hooks ran on a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyRecord {
    /// When they finished.
    pub ran_at: chrono::DateTime<chrono::Utc>,
    /// The hooks that ran.
    pub hooks: Vec<String>,
}

impl ReadyRecord {
    /// The record in `data_dir`, if the ready hooks ran on that state.
    pub fn read(data_dir: &Path) -> Option<Self> {
        let text = std::fs::read(data_dir.join(RECORD_FILE)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Records that `hooks` ran on the state in `data_dir`.
    pub fn write(data_dir: &Path, hooks: &[String]) -> std::io::Result<()> {
        let record = Self {
            ran_at: chrono::Utc::now(),
            hooks: hooks.to_vec(),
        };
        let text = serde_json::to_vec_pretty(&record).map_err(std::io::Error::other)?;
        std::fs::write(data_dir.join(RECORD_FILE), text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'a>(root: &'a Path, env: &'a BTreeMap<String, String>) -> HookContext<'a> {
        HookContext {
            root,
            env,
            log: root.join("hooks.log"),
        }
    }

    #[tokio::test]
    async fn hooks_see_the_settings_and_stop_at_the_first_failure() {
        let dir = tempfile::tempdir().unwrap();
        let env = BTreeMap::from([("GREETING".to_string(), "hello".to_string())]);
        let commands = [
            "echo \"$GREETING\" > first.txt".to_string(),
            "echo seeding went wrong >&2; exit 3".to_string(),
            "touch never.txt".to_string(),
        ];
        let error = run_all(&commands, &context(dir.path(), &env), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("exit status: 3"), "{error}");
        assert!(error.contains("seeding went wrong"), "{error}");
        let first = std::fs::read_to_string(dir.path().join("first.txt")).unwrap();
        assert_eq!(first, "hello\n");
        assert!(!dir.path().join("never.txt").exists());
        let log = std::fs::read_to_string(dir.path().join("hooks.log")).unwrap();
        assert!(log.contains("seeding went wrong"), "{log}");
    }

    #[tokio::test]
    async fn a_hook_past_its_limit_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let env = BTreeMap::new();
        let commands = ["sleep 30".to_string()];
        let limit = Some(Duration::from_millis(200));
        let error = run_all(&commands, &context(dir.path(), &env), limit)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("killed"), "{error}");
    }

    #[test]
    fn the_record_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ReadyRecord::read(dir.path()).is_none());
        ReadyRecord::write(dir.path(), &["./seed.sh".to_string()]).unwrap();
        assert_eq!(ReadyRecord::read(dir.path()).unwrap().hooks, ["./seed.sh"]);
    }
}
