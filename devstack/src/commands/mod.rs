//! The subcommands of the `devstack` binary, one module each. They print for people and return
//! `anyhow` errors; the library modules they call return typed errors.

pub mod chaos;
pub mod control;
pub mod down;
pub mod env;
pub mod logs;
pub mod progress;
pub mod reset;
pub mod snapshot;
pub mod status;
pub mod trace;
pub mod up;

use slipway_contracts::state::{StackState, StateError};

use crate::paths::Paths;
use crate::process::is_alive;

/// The running stack's state, or why there is none.
pub fn running_state(paths: &Paths) -> anyhow::Result<StackState> {
    let state = StackState::read(&paths.state_file()).map_err(|e| match e {
        StateError::NotFound(_) => anyhow::anyhow!(
            "no devstack is running here (no {})",
            paths.state_file().display()
        ),
        other => anyhow::anyhow!(other),
    })?;
    if !is_alive(state.devstack_pid) {
        anyhow::bail!(
            "the devstack that wrote {} (pid {}) is gone; `devstack up` will clean up after it",
            paths.state_file().display(),
            state.devstack_pid
        );
    }
    Ok(state)
}
