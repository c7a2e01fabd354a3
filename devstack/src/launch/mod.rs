//! Launchers: one per component and backend, each a [`crate::component::Instance`] — start
//! (returns once ready) → address → stop. Which one runs is decided by the kind's module in
//! `crate::stack::kinds`.
//!
//! - [`postgres`], [`redis`]: native binaries as child processes.
//! - [`docker`]: the same, plus ElasticMQ, as containers through testcontainers.
//! - [`external`]: a URL the user gives, checked for reachability.
//! - [`sqs`]: the embedded emulator (default), or the Docker/external ones.
//! - apps (the service among them) are launched by `crate::apps::process`.

#[cfg(feature = "docker")]
pub mod docker;
pub mod external;
pub mod postgres;
pub mod postgres_auth;
pub mod redis;
pub mod sqs;

use std::future::Future;
use std::time::{Duration, Instant};

/// Why a component could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A binary is missing; the text says what to install.
    #[error("{0}")]
    NotInstalled(String),
    /// The environment does not allow it (root without a user to drop to, no Docker engine…).
    #[error("{0}")]
    Unsupported(String),
    /// A file or process operation failed.
    #[error("{0}")]
    Io(String),
    /// The component started but never became ready, or exited.
    #[error(
        "{component} did not become ready: {reason}\n--- last lines of its log ---\n{log_tail}"
    )]
    Startup {
        /// Which component.
        component: String,
        /// What happened.
        reason: String,
        /// The end of its log.
        log_tail: String,
    },
    /// An external URL does not answer.
    #[error("{0}")]
    Unreachable(String),
}

/// Polls `probe` until it succeeds, `exited` reports the process gone, or `timeout` passes.
/// The pause between probes starts at 5 ms and doubles up to 100 ms: readiness is observed,
/// never assumed after a fixed sleep.
pub async fn wait_ready<P, F>(
    timeout: Duration,
    mut probe: P,
    mut exited: impl FnMut() -> Option<String>,
) -> Result<(), String>
where
    P: FnMut() -> F,
    F: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if probe().await {
            return Ok(());
        }
        if let Some(status) = exited() {
            return Err(format!("the process exited ({status})"));
        }
        if Instant::now() >= deadline {
            return Err(format!("not ready after {timeout:?}"));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_ready_reports_success_exit_and_timeout() {
        let mut calls = 0;
        let ok = wait_ready(
            Duration::from_secs(1),
            || {
                calls += 1;
                let done = calls >= 3;
                async move { done }
            },
            || None,
        )
        .await;
        assert!(ok.is_ok());
        let exited = wait_ready(
            Duration::from_secs(1),
            || async { false },
            || Some("exit 1".into()),
        )
        .await;
        assert!(exited.unwrap_err().contains("exit 1"));
        let timed_out = wait_ready(Duration::from_millis(30), || async { false }, || None).await;
        assert!(timed_out.unwrap_err().contains("not ready"));
    }
}
