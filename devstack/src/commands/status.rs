//! `devstack status`: is the stack running, and does each component answer?

use crate::commands::running_state;
use crate::commands::up::print_rows;
use crate::launch::external::{check_reachable, redact};
use crate::paths::Paths;
use crate::process::is_alive;

/// Prints each component's state; fails when the stack or a component is down.
pub async fn run(paths: &Paths) -> anyhow::Result<()> {
    let state = running_state(paths)?;
    println!(
        "devstack running (pid {}{})",
        state.devstack_pid,
        if state.ephemeral { ", ephemeral" } else { "" }
    );
    let mut rows = Vec::new();
    let mut down = Vec::new();
    for component in &state.components {
        let alive = component.pid.is_none_or(is_alive);
        let answers = alive
            && check_reachable(&component.name, &component.url)
                .await
                .is_ok();
        if !answers {
            down.push(component.name.clone());
        }
        rows.push([
            component.name.clone(),
            format!("{:?}", component.backend).to_lowercase(),
            redact(&component.url),
            component.pid.map_or_else(|| "-".into(), |p| p.to_string()),
            if answers {
                "up".to_string()
            } else {
                "DOWN".to_string()
            },
        ]);
    }
    print_rows(["component", "backend", "address", "pid", "state"], &rows);
    if down.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("not answering: {}", down.join(", "))
    }
}
