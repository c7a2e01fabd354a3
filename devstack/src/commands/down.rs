//! `devstack down`: ask a running `devstack up` to stop (SIGTERM), and wait until it has.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::commands::running_state;
use crate::paths::Paths;
use crate::process::is_alive;

/// Stops the stack and waits up to 90 s (its stop hooks may take 30 s each, its components 30 s).
pub async fn run(paths: &Paths) -> anyhow::Result<()> {
    let state = running_state(paths)?;
    let pid = Pid::from_raw(i32::try_from(state.devstack_pid)?);
    kill(pid, Signal::SIGTERM)
        .map_err(|e| anyhow::anyhow!("cannot signal devstack (pid {pid}): {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(90);
    while is_alive(state.devstack_pid) {
        if Instant::now() > deadline {
            anyhow::bail!("devstack (pid {pid}) did not stop within 90 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("devstack (pid {pid}) stopped");
    Ok(())
}
