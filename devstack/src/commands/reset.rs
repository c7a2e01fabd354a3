//! `devstack reset`: delete the persistent data (`.devstack/data`), after asking.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use slipway_contracts::state::StackState;

use crate::paths::Paths;
use crate::process::is_alive;

/// Wipes `.devstack/data`; refuses while a stack runs; asks unless `yes`.
pub fn run(paths: &Paths, yes: bool) -> anyhow::Result<()> {
    if let Ok(state) = StackState::read(&paths.state_file())
        && is_alive(state.devstack_pid)
    {
        anyhow::bail!(
            "a devstack is running (pid {}); stop it first with `devstack down`",
            state.devstack_pid
        );
    }
    let data = paths.data_dir();
    if !data.exists() {
        println!("nothing to reset: {} does not exist", data.display());
        return Ok(());
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "refusing to delete {} without confirmation; pass --yes",
                data.display()
            );
        }
        print!(
            "Delete {} (Postgres and Redis data)? [y/N] ",
            data.display()
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("kept");
            return Ok(());
        }
    }
    std::fs::remove_dir_all(&data).with_context(|| format!("cannot delete {}", data.display()))?;
    println!("deleted {}", data.display());
    Ok(())
}
