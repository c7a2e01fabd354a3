//! `devstack status`: each component of the running stack — backend, address, pid, state
//! (ready, stopped, failed), uptime, restarts, resident memory and CPU (sampled over a quarter
//! of a second, the whole process group) — from the running `up` through its control socket.
//! Exits non-zero when a component is not ready.

use std::time::{Duration, Instant};

use slipway_contracts::control::{ComponentState, ComponentStatus, Request};
use slipway_contracts::state::Backend;

use crate::commands::running_state;
use crate::commands::up::print_rows;
use crate::launch::external::redact;
use crate::paths::Paths;
use crate::procstat::{self, Usage};
use slipway_contracts::client;

const SAMPLE: Duration = Duration::from_millis(250);

/// Prints each component's state; fails when the stack or a component is down.
pub async fn run(paths: &Paths) -> anyhow::Result<()> {
    let state = running_state(paths)?;
    let response = client::request(&paths.control_socket(), &Request::Status).await?;
    println!(
        "devstack running (pid {}{})",
        state.devstack_pid,
        if state.ephemeral { ", ephemeral" } else { "" }
    );
    // The embedded emulator runs inside devstack itself.
    let process_of = |c: &ComponentStatus| match (c.pid, c.state) {
        (Some(pid), _) => Some((pid, true)),
        (None, ComponentState::Ready) if c.backend == Backend::Embedded => {
            Some((state.devstack_pid, false))
        }
        _ => None,
    };
    let before: Vec<Option<Usage>> = response
        .components
        .iter()
        .map(|c| process_of(c).and_then(|(pid, group)| procstat::usage(pid, group)))
        .collect();
    let started = Instant::now();
    tokio::time::sleep(SAMPLE).await;
    let mut rows = Vec::new();
    let mut not_ready = Vec::new();
    for (component, before) in response.components.iter().zip(before) {
        let after = process_of(component).and_then(|(pid, group)| procstat::usage(pid, group));
        let (rss, cpu) = match (before, after) {
            (Some(b), Some(a)) => (
                format!("{:.1} MB", a.rss_bytes as f64 / 1e6),
                format!("{:.1}%", procstat::cpu_percent(b, a, started.elapsed())),
            ),
            _ => ("-".into(), "-".into()),
        };
        if component.state != ComponentState::Ready {
            not_ready.push(component.name.clone());
        }
        rows.push(row(component, rss, cpu));
    }
    print_rows(
        [
            "component",
            "backend",
            "address",
            "pid",
            "state",
            "uptime",
            "restarts",
            "rss",
            "cpu",
        ],
        &rows,
    );
    for component in &response.components {
        if let Some(error) = &component.error {
            println!("{}: {error}", component.name);
        }
    }
    for fault in &response.faults {
        println!("chaos: {}", super::chaos::describe(fault));
    }
    for proxy in &response.proxies {
        println!(
            "proxy: {} {} → {} ({} open)",
            proxy.component, proxy.listen, proxy.upstream, proxy.connections
        );
        for toxic in &proxy.toxics {
            println!("chaos: {}", super::chaos::describe_active_toxic(toxic));
        }
    }
    if not_ready.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("not ready: {}", not_ready.join(", "))
    }
}

fn row(c: &ComponentStatus, rss: String, cpu: String) -> [String; 9] {
    [
        c.name.clone(),
        format!("{:?}", c.backend).to_lowercase(),
        redact(&c.url),
        c.pid.map_or_else(|| "-".into(), |p| p.to_string()),
        format!("{:?}", c.state).to_lowercase(),
        if matches!(c.state, ComponentState::Ready | ComponentState::Stale) {
            uptime(Duration::from_millis(c.uptime_ms))
        } else {
            "-".into()
        },
        c.restarts.to_string(),
        rss,
        cpu,
    ]
}

/// `42s`, `3m04s`, `2h05m`.
fn uptime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes_read_like_a_clock() {
        assert_eq!(uptime(Duration::from_secs(42)), "42s");
        assert_eq!(uptime(Duration::from_secs(184)), "3m04s");
        assert_eq!(uptime(Duration::from_secs(7500)), "2h05m");
    }
}
