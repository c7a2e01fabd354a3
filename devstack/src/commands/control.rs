//! `devstack restart|stop|start COMPONENT`: one action on one component of the running
//! stack, through its control socket. A restarted Postgres or Redis keeps its port and data,
//! so every app's settings stay valid; the apps that use it are not restarted.

use std::time::Instant;

use slipway_contracts::control::{ComponentState, Request};

use crate::paths::Paths;
use slipway_contracts::client;

/// `devstack restart COMPONENT`.
pub async fn restart(paths: &Paths, component: String) -> anyhow::Result<()> {
    act(paths, Request::Restart { component }, "restarted").await
}

/// `devstack stop COMPONENT`.
pub async fn stop(paths: &Paths, component: String) -> anyhow::Result<()> {
    act(paths, Request::Stop { component }, "stopped").await
}

/// `devstack start COMPONENT`.
pub async fn start(paths: &Paths, component: String) -> anyhow::Result<()> {
    act(paths, Request::Start { component }, "started").await
}

async fn act(paths: &Paths, request: Request, done: &str) -> anyhow::Result<()> {
    let name = request.component().unwrap_or_default().to_string();
    let started = Instant::now();
    let response = client::carried_out(&paths.control_socket(), &request).await?;
    let status = response.components.iter().find(|c| c.name == name);
    match status {
        Some(c) if c.state == ComponentState::Ready => println!(
            "{done} {name} in {} ms: {} (pid {})",
            started.elapsed().as_millis(),
            crate::launch::external::redact(&c.url),
            c.pid.map_or_else(|| "-".into(), |p| p.to_string())
        ),
        _ => println!("{done} {name} in {} ms", started.elapsed().as_millis()),
    }
    Ok(())
}
