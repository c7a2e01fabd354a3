//! Child processes that cannot outlive devstack.
//!
//! Each child runs in its own process group (so a terminal's Ctrl-C reaches devstack alone,
//! which then stops the children in order) with its output in a log file. Beside it runs a
//! watchdog: a tiny `sh` whose stdin is a pipe from this process. When this process dies — even
//! by SIGKILL — the kernel closes the pipe, the watchdog reads end-of-file and signals the
//! child's whole process group, then kills it. This needs no `unsafe` (no `pre_exec`), works on
//! Linux and macOS, and works for test binaries that use the library as well as for the CLI.
//!
//! Dropping a `ManagedChild` that was not stopped (a start abandoned half way, when Ctrl-C
//! interrupts `devstack up`) sends the group its stop signal at once; the watchdog, whose pipe
//! closes with it, follows with SIGKILL if the group is still there three seconds later.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, ChildStdin, Command};

/// The watchdog: wait for EOF on stdin, then signal the process group `$0` with `$1`, wait,
/// kill it, and remove the directory `$2` if one is given (an ephemeral stack's data).
const WATCHDOG: &str = r#"while read -r _; do :; done; kill -"$1" -"$0" 2>/dev/null; sleep 3; kill -KILL -"$0" 2>/dev/null; [ -n "$2" ] && rm -rf -- "$2"; exit 0"#;

/// A supervised child process.
#[derive(Debug)]
pub struct ManagedChild {
    name: String,
    child: Child,
    pid: u32,
    stop_signal: Signal,
    watchdog: Option<(Child, ChildStdin)>,
    log: PathBuf,
    stopped: bool,
}

/// Why a child could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be run.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The log file could not be opened.
    #[error("cannot open log file {path}: {source}")]
    Log {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl ManagedChild {
    /// Starts `command` in its own process group, its output appended to `log`, with a
    /// watchdog that sends `stop_signal` (then SIGKILL) to the group if this process dies.
    pub fn spawn(
        name: impl Into<String>,
        command: Command,
        log: &Path,
        stop_signal: Signal,
    ) -> Result<Self, ProcessError> {
        Self::spawn_with_cleanup(name, command, log, stop_signal, None)
    }

    /// As [`spawn`](Self::spawn); if this process dies, the watchdog also removes `cleanup`.
    pub fn spawn_with_cleanup(
        name: impl Into<String>,
        mut command: Command,
        log: &Path,
        stop_signal: Signal,
        cleanup: Option<&Path>,
    ) -> Result<Self, ProcessError> {
        let program = command
            .as_std()
            .get_program()
            .to_string_lossy()
            .into_owned();
        let open_log = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| ProcessError::Log {
                    path: log.to_owned(),
                    source,
                })
        };
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(open_log()?))
            .stderr(Stdio::from(open_log()?))
            .process_group(0)
            .kill_on_drop(false);
        let child = command.spawn().map_err(|source| ProcessError::Spawn {
            program: program.clone(),
            source,
        })?;
        let pid = child.id().unwrap_or(0);
        let name = name.into();
        let mut managed = Self {
            name: name.clone(),
            child,
            pid,
            stop_signal,
            watchdog: None,
            log: log.to_owned(),
            stopped: false,
        };
        let mut watchdog = Command::new("sh");
        watchdog
            .arg("-c")
            .arg(WATCHDOG)
            .arg(pid.to_string())
            .arg(stop_signal.as_str().trim_start_matches("SIG"))
            .arg(
                cleanup
                    .map(|p| p.as_os_str().to_owned())
                    .unwrap_or_default(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(false);
        match watchdog.spawn() {
            Ok(mut dog) => {
                if let Some(stdin) = dog.stdin.take() {
                    managed.watchdog = Some((dog, stdin));
                }
            }
            Err(error) => {
                tracing::warn!(%error, "{name}: no watchdog (sh not found); it may outlive a crash of devstack")
            }
        }
        Ok(managed)
    }

    /// The child's pid (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The exit status, if the child has exited.
    pub fn try_exit(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the child to exit (a build, say). Cancel-safe: dropping the future leaves
    /// the child running, and dropping the `ManagedChild` stops it.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Signals the process group, waits up to `grace` for the child to exit, then kills the
    /// group. The watchdog is dismissed after.
    pub async fn stop(mut self, grace: Duration) {
        let group = Pid::from_raw(i32::try_from(self.pid).unwrap_or(0));
        if self.try_exit().is_none() && self.pid != 0 {
            let _ = killpg(group, self.stop_signal);
            if tokio::time::timeout(grace, self.child.wait())
                .await
                .is_err()
            {
                tracing::warn!("{}: did not stop within {grace:?}; killing it", self.name);
                let _ = killpg(group, Signal::SIGKILL);
                let _ = self.child.wait().await;
            }
        }
        // Whatever the child left in its group (a postgres backend) goes too.
        let _ = killpg(group, Signal::SIGKILL);
        self.stopped = true;
        if let Some((mut dog, stdin)) = self.watchdog.take() {
            if let Some(dog_pid) = dog.id() {
                let _ = kill(
                    Pid::from_raw(i32::try_from(dog_pid).unwrap_or(0)),
                    Signal::SIGKILL,
                );
            }
            drop(stdin);
            let _ = dog.wait().await;
        }
    }
}

impl Drop for ManagedChild {
    fn drop(&mut self) {
        // An exited child that was reaped may have its pid reused: signal nothing then.
        if self.stopped || self.pid == 0 || self.try_exit().is_some() {
            return;
        }
        if let Ok(raw) = i32::try_from(self.pid) {
            // The group: a build's compilers, a server's workers.
            let _ = killpg(Pid::from_raw(raw), self.stop_signal);
        }
    }
}

/// Whether a process with this pid is running. A zombie (exited, not yet reaped by its
/// parent) is not running.
pub fn is_alive(pid: u32) -> bool {
    let exists =
        i32::try_from(pid).is_ok_and(|pid| pid > 0 && kill(Pid::from_raw(pid), None).is_ok());
    exists && !is_zombie(pid)
}

/// On Linux, `/proc/PID/stat`'s state field is `Z` for a zombie; elsewhere we cannot tell.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// The last `lines` lines of a file, or a note that it cannot be read.
pub fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_ends_the_child_and_its_watchdog() {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("sleep");
        command.arg("60");
        let child = ManagedChild::spawn(
            "sleep",
            command,
            &dir.path().join("sleep.log"),
            Signal::SIGTERM,
        )
        .unwrap();
        let pid = child.pid();
        let dog = child.watchdog.as_ref().and_then(|(d, _)| d.id()).unwrap();
        assert!(is_alive(pid) && is_alive(dog));
        child.stop(Duration::from_secs(5)).await;
        assert!(!is_alive(pid), "child gone");
        assert!(!is_alive(dog), "watchdog gone");
    }

    #[tokio::test]
    async fn the_watchdog_kills_the_group_when_its_pipe_closes() {
        let dir = tempfile::tempdir().unwrap();
        let doomed = dir.path().join("ephemeral");
        std::fs::create_dir(&doomed).unwrap();
        let mut command = Command::new("sh");
        command.arg("-c").arg("sleep 60 & sleep 60");
        let log = dir.path().join("sh.log");
        let mut child =
            ManagedChild::spawn_with_cleanup("sh", command, &log, Signal::SIGTERM, Some(&doomed))
                .unwrap();
        let pid = child.pid();
        // What the kernel does when devstack dies: the write end of the pipe closes.
        let (mut dog, stdin) = child.watchdog.take().unwrap();
        drop(stdin);
        let _ = tokio::time::timeout(Duration::from_secs(5), dog.wait()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), child.child.wait()).await;
        assert!(!is_alive(pid));
        assert!(
            !doomed.exists(),
            "the watchdog removed the ephemeral directory"
        );
    }

    #[test]
    fn log_tail_takes_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        assert_eq!(log_tail(&path, 2), "b\nc");
        assert!(log_tail(&dir.path().join("missing"), 2).contains("cannot read"));
    }
}
