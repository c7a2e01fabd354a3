//! `devstack chaos`: faults on the running stack, through its control socket.
//!
//! - `kill|restart|pause|resume COMPONENT [--for DURATION]`: process faults;
//! - `latency|bandwidth|reset-peer|timeout postgres|redis VALUE [--jitter D] [--for D]`:
//!   network faults on the TCP proxy in front of the component (Toxiproxy's toxics);
//! - `reset`: every fault undone;
//! - `list`: the faults in force — the components', the proxies' and the SQS emulator's fault
//!   rules.

use std::time::Duration;

use anyhow::Context as _;
use slipway_contracts::chaos::{ActiveFault, ActiveToxic, ProcessFault, Toxic};
use slipway_contracts::control::{ComponentStatus, Request};

use crate::cli::{ChaosAction, ChaosArgs};
use crate::paths::Paths;
use crate::stack::chaos::now_unix_ms;
use slipway_contracts::client;

/// Runs `devstack chaos`.
pub async fn run(paths: &Paths, args: ChaosArgs) -> anyhow::Result<()> {
    let fault = match args.action {
        ChaosAction::List => return list(paths).await,
        ChaosAction::Reset => {
            client::carried_out(&paths.control_socket(), &Request::ChaosReset).await?;
            println!("every fault undone");
            return Ok(());
        }
        ChaosAction::Latency
        | ChaosAction::Bandwidth
        | ChaosAction::ResetPeer
        | ChaosAction::Timeout => return network(paths, &args).await,
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
    let request = Request::Chaos {
        fault,
        component: component.clone(),
        for_ms: args.for_duration.map(millis),
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

fn millis(duration: humantime::Duration) -> u64 {
    u64::try_from(Duration::from(duration).as_millis()).unwrap_or(u64::MAX)
}

/// A network fault on a component's proxy.
async fn network(paths: &Paths, args: &ChaosArgs) -> anyhow::Result<()> {
    let component = args
        .component
        .clone()
        .context("a network fault needs a COMPONENT with a proxy (postgres or redis)")?;
    let toxic = toxic(args)?;
    let request = Request::Toxic {
        toxic,
        component: component.clone(),
        for_ms: args.for_duration.map(millis),
    };
    client::carried_out(&paths.control_socket(), &request).await?;
    let removed = args
        .for_duration
        .map_or_else(String::new, |d| format!("; removed in {d}"));
    println!("{component}: {}{removed}", toxic.describe());
    Ok(())
}

/// The toxic the command line asks for.
pub fn toxic(args: &ChaosArgs) -> anyhow::Result<Toxic> {
    let value = args.value.as_deref();
    let duration = |what: &str| -> anyhow::Result<u64> {
        value.map_or(Ok(0), |text| {
            humantime::parse_duration(text)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .with_context(|| format!("{what} `{text}` is not a duration (`200ms`, `2s`)"))
        })
    };
    let toxic = match args.action {
        ChaosAction::Latency => {
            if value.is_none() {
                anyhow::bail!("devstack chaos latency needs the delay: `latency postgres 200ms`");
            }
            Toxic::Latency {
                latency_ms: duration("the latency")?,
                jitter_ms: args.jitter.map_or(0, millis),
            }
        }
        ChaosAction::Bandwidth => Toxic::Bandwidth {
            rate_kbps: rate(
                value
                    .context("devstack chaos bandwidth needs the rate: `bandwidth redis 64KB/s`")?,
            )?,
        },
        ChaosAction::ResetPeer => Toxic::ResetPeer {
            timeout_ms: duration("the delay")?,
        },
        _ => Toxic::Timeout {
            timeout_ms: duration("the delay")?,
        },
    };
    if args.jitter.is_some() && !matches!(toxic, Toxic::Latency { .. }) {
        anyhow::bail!("--jitter goes with `latency` only");
    }
    toxic.check().map_err(anyhow::Error::msg)?;
    Ok(toxic)
}

/// A rate as KB/s: `64KB/s`, `64kb`, `1MB/s`, `64`.
fn rate(text: &str) -> anyhow::Result<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix("/s").unwrap_or(&lower);
    let (number, scale) = if let Some(n) = lower.strip_suffix("mb") {
        (n, 1_000)
    } else if let Some(n) = lower.strip_suffix("kb") {
        (n, 1)
    } else {
        (lower, 1)
    };
    number
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .with_context(|| format!("`{text}` is not a rate (`64KB/s`, `1MB/s`, or KB/s as a number)"))
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
    lines.extend(
        response
            .proxies
            .iter()
            .flat_map(|p| p.toxics.iter().map(describe_active_toxic)),
    );
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

/// Whole seconds between now and `at`, for people.
fn seconds_between(from: i64, to: i64) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_secs(
        u64::try_from(to - from).unwrap_or(0) / 1000,
    ))
}

/// One process fault, for people: `postgres  paused 12s ago, resumed in 18s`.
pub fn describe(fault: &ActiveFault) -> String {
    let now = now_unix_ms();
    let until = fault.until_unix_ms.map_or_else(String::new, |until| {
        let undo = if fault.fault == ProcessFault::Pause {
            "resumed"
        } else {
            "started again"
        };
        format!(", {undo} in {}", seconds_between(now, until))
    });
    format!(
        "{:<10} {} {} ago{until}",
        fault.component,
        past(fault.fault),
        seconds_between(fault.since_unix_ms, now)
    )
}

/// One toxic, for people: `postgres   latency 200ms ±50ms 3s ago, removed in 27s`.
pub fn describe_active_toxic(active: &ActiveToxic) -> String {
    let now = now_unix_ms();
    let until = active.until_unix_ms.map_or_else(String::new, |until| {
        format!(", removed in {}", seconds_between(now, until))
    });
    format!(
        "{:<10} {} {} ago{until}",
        active.component,
        active.toxic.describe(),
        seconds_between(active.since_unix_ms, now)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(action: ChaosAction, value: Option<&str>, jitter: Option<&str>) -> ChaosArgs {
        ChaosArgs {
            action,
            component: Some("postgres".into()),
            value: value.map(str::to_string),
            jitter: jitter.map(|j| j.parse().unwrap()),
            for_duration: None,
        }
    }

    #[test]
    fn the_command_line_makes_the_toxic() {
        assert_eq!(
            toxic(&args(ChaosAction::Latency, Some("200ms"), Some("50ms"))).unwrap(),
            Toxic::Latency {
                latency_ms: 200,
                jitter_ms: 50
            }
        );
        assert_eq!(
            toxic(&args(ChaosAction::Bandwidth, Some("1MB/s"), None)).unwrap(),
            Toxic::Bandwidth { rate_kbps: 1_000 }
        );
        assert_eq!(
            toxic(&args(ChaosAction::Bandwidth, Some("64"), None)).unwrap(),
            Toxic::Bandwidth { rate_kbps: 64 }
        );
        assert_eq!(
            toxic(&args(ChaosAction::ResetPeer, None, None)).unwrap(),
            Toxic::ResetPeer { timeout_ms: 0 }
        );
        assert_eq!(
            toxic(&args(ChaosAction::Timeout, Some("2s"), None)).unwrap(),
            Toxic::Timeout { timeout_ms: 2_000 }
        );
    }

    #[test]
    fn a_bad_fault_is_refused_with_what_to_write() {
        let error = toxic(&args(ChaosAction::Latency, None, None)).unwrap_err();
        assert!(error.to_string().contains("200ms"), "{error}");
        let error = toxic(&args(ChaosAction::Bandwidth, Some("fast"), None)).unwrap_err();
        assert!(error.to_string().contains("64KB/s"), "{error}");
        let error = toxic(&args(ChaosAction::Bandwidth, Some("0"), None)).unwrap_err();
        assert!(error.to_string().contains("timeout"), "{error}");
        let error = toxic(&args(ChaosAction::Timeout, None, Some("5ms"))).unwrap_err();
        assert!(error.to_string().contains("--jitter"), "{error}");
    }
}
