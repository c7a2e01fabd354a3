//! `devstack env`: the running stack's settings as `export` lines, for `eval "$(devstack env)"`.

use crate::commands::running_state;
use crate::commands::up::shell_quote;
use crate::paths::Paths;

/// Prints `export KEY=value` lines.
pub fn run(paths: &Paths) -> anyhow::Result<()> {
    let state = running_state(paths)?;
    for (key, value) in &state.env {
        println!("export {key}={}", shell_quote(value));
    }
    Ok(())
}
