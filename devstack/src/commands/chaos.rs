//! `devstack chaos kill|restart|pause|resume COMPONENT [--for DURATION]` and
//! `devstack chaos list`: process faults on the running stack, through its control socket,
//! and the faults in force — the components' and the SQS emulator's fault rules.

use std::time::Duration;

use anyhow::Context as _;
use slipway_contracts::chaos::{ActiveFault, ProcessFault};
use slipway_contracts::control::{ComponentStatus, Request};

use crate::cli::{ChaosAction, ChaosArgs};
use crate::control::client;
use crate::paths::Paths;
use crate::stack::chaos::now_unix_ms;

/// Runs `devstack chaos`.
pub async fn run(paths: &Paths, args: ChaosArgs) -> anyhow::Result<()> {
    let fault = match args.action {
        ChaosAction::List => return list(paths).await,
        ChaosAction::Kill => ProcessFault::Kill,
        ChaosAction::Restart => ProcessFault::Restart,
        ChaosAction::Pause => ProcessFault::Pause,
        ChaosAction::Resume => ProcessFault::Resume,
    };
    let component = args.component.with_context(|| {
        format!(
            "devstack chaos {} needs a COMPONENT (postgres, redis, service, …)",
            fault.as_str()
        )
    })?;
    let for_ms = args
        .for_duration
        .map(|d| u64::try_from(Duration::from(d).as_millis()).unwrap_or(u64::MAX));
    let request = Request::Chaos {
        fault,
        component: component.clone(),
        for_ms,
    };
    let response = client::carried_out(&paths.control_socket(), &request).await?;
    let pid = response
        .components
        .iter()
        .find(|c| c.name == component)
        .and_then(|c| c.pid)
        .map_or_else(String::new, |pid| format!(" (pid {pid})"));
    let undone = match (fault, args.for_duration) {
        (ProcessFault::Kill, Some(d)) => format!("; started again in {d}"),
        (ProcessFault::Pause, Some(d)) => format!("; resumed in {d}"),
        _ => String::new(),
    };
    println!("{} {component}{pid}{undone}", past(fault));
    Ok(())
}

fn past(fault: ProcessFault) -> &'static str {
    match fault {
        ProcessFault::Kill => "killed",
        ProcessFault::Restart => "restarted",
        ProcessFault::Pause => "paused",
        ProcessFault::Resume => "resumed",
    }
}

async fn list(paths: &Paths) -> anyhow::Result<()> {
    let response = client::carried_out(&paths.control_socket(), &Request::Status).await?;
    let mut lines: Vec<String> = response.faults.iter().map(describe).collect();
    if let Some(sqs) = response.components.iter().find(|c| c.name == "sqs") {
        lines.extend(sqs_rules(sqs).await);
    }
    if lines.is_empty() {
        println!("no faults in force");
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// One process fault, for people: `postgres  paused 12s ago, resumed in 18s`.
pub fn describe(fault: &ActiveFault) -> String {
    let now = now_unix_ms();
    let ago =
        Duration::from_millis(u64::try_from(now - fault.since_unix_ms).unwrap_or(0) / 1000 * 1000);
    let until = fault.until_unix_ms.map_or_else(String::new, |until| {
        let left = Duration::from_millis(u64::try_from(until - now).unwrap_or(0) / 1000 * 1000);
        let undo = if fault.fault == ProcessFault::Pause {
            "resumed"
        } else {
            "started again"
        };
        format!(", {undo} in {}", humantime::format_duration(left))
    });
    format!(
        "{:<10} {} {} ago{until}",
        fault.component,
        past(fault.fault),
        humantime::format_duration(ago)
    )
}

/// The SQS emulator's fault rules, one line each; nothing when it has no such API.
async fn sqs_rules(sqs: &ComponentStatus) -> Vec<String> {
    let url = format!("{}/_slipway/faults", sqs.url.trim_end_matches('/'));
    let rules = match reqwest::get(&url).await {
        Ok(response) if response.status().is_success() => response
            .json::<Vec<serde_json::Value>>()
            .await
            .unwrap_or_default(),
        _ => return Vec::new(),
    };
    rules
        .into_iter()
        .map(|rule| {
            let id = rule["id"].as_str().unwrap_or("?").to_string();
            let mut shown = rule;
            if let Some(fields) = shown.as_object_mut() {
                fields.remove("id");
            }
            format!("{:<10} rule {id}: {shown}", "sqs")
        })
        .collect()
}
