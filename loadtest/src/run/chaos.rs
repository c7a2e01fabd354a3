//! The chaos stages of a run: read and check the plan before any load, carry it out
//! alongside the load, undo it and record what happened, and reconcile every message sent.

use std::io::Write;

use crate::chaos::plan::{self, Action, Fault};
use crate::chaos::timeline::{Endpoints, Timeline};
use crate::cli::RunArgs;
use crate::reconcile::{self, Sent};
use crate::scenarios::Shared;
use crate::summary::{ChaosEvent, Summary};
use crate::targets::Targets;

/// The plan `--chaos` names, checked against what it needs: the orders database for the
/// reconciliation, a running stack for process and network faults, the SQS endpoint for SQS
/// faults and the clock.
pub fn prepare(args: &RunArgs, targets: &Targets) -> anyhow::Result<Option<Vec<Fault>>> {
    let Some(path) = &args.chaos else {
        return Ok(None);
    };
    let faults = plan::load(path)?;
    if targets.database_url.is_none() {
        anyhow::bail!(
            "a chaos run reconciles every message through the orders database: pass \
             --database-url, set DATABASE_URL, or run against a devstack"
        );
    }
    let needs_stack = faults.iter().any(|f| {
        matches!(
            f.action,
            Action::Kill | Action::Restart | Action::Pause | Action::Latency { .. }
        )
    });
    if needs_stack && targets.control_socket.is_none() {
        anyhow::bail!(
            "the chaos plan has process or network faults, which go through a running \
             devstack: start one with `cargo run -p devstack` (or pass --state-file)"
        );
    }
    if faults.len()
        != faults
            .iter()
            .filter(|f| needs_stack_or_sqs(f, targets))
            .count()
    {
        anyhow::bail!(
            "the chaos plan has SQS faults or clock steps, which need the emulator's endpoint \
             (--sqs-endpoint, AWS_ENDPOINT_URL or a devstack)"
        );
    }
    Ok(Some(faults))
}

fn needs_stack_or_sqs(fault: &Fault, targets: &Targets) -> bool {
    match fault.action {
        Action::SqsError { .. } | Action::SqsDuplicate { .. } | Action::Clock(_) => {
            targets.sqs_endpoint.is_some()
        }
        _ => true,
    }
}

/// Starts the plan with the load.
pub fn start(faults: Option<Vec<Fault>>, targets: &Targets) -> Option<Timeline> {
    faults.map(|faults| {
        Timeline::start(
            faults,
            Endpoints {
                control: targets.control_socket.clone(),
                sqs: targets.sqs_endpoint.clone(),
            },
        )
    })
}

/// Ends the plan when the load ends: skips what is not yet due, undoes what is in force,
/// records what happened into `summary` and `out`.
pub async fn finish(
    timeline: Option<Timeline>,
    summary: &mut Summary,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let Some(timeline) = timeline else {
        return Ok(());
    };
    let (applied, skipped) = timeline.finish().await;
    writeln!(out, "chaos plan:")?;
    for event in &applied {
        let outcome = event
            .error
            .as_deref()
            .map_or_else(String::new, |e| format!("  FAILED: {e}"));
        writeln!(
            out,
            "  {:>6.1}s  {}{outcome}",
            event.at.as_secs_f64(),
            event.fault
        )?;
    }
    if skipped > 0 {
        writeln!(
            out,
            "  {skipped} fault(s) not yet due when the load ended: skipped"
        )?;
    }
    writeln!(out, "  what the plan left in force was undone")?;
    summary.chaos = applied
        .into_iter()
        .map(|event| ChaosEvent {
            at_secs: event.at.as_secs_f64(),
            fault: event.fault,
            error: event.error,
        })
        .collect();
    Ok(())
}

/// Reconciles every message sent, when the orders database is known; a note on `out` when
/// it cannot be read (then the run fails if it was a chaos run).
pub async fn reconcile(
    summary: &mut Summary,
    targets: &Targets,
    shared: &Shared,
    sent: &Sent,
    chaos_run: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let Some(database_url) = &targets.database_url else {
        return Ok(());
    };
    if sent.orders.is_empty() && sent.poison.0 == 0 {
        return Ok(());
    }
    let sqs = shared
        .sqs
        .as_ref()
        .map(|(client, queue)| (client, queue.as_str(), targets.dlq_url.as_deref()));
    match reconcile::reconcile(database_url, sqs, sent).await {
        Ok(reconciliation) => summary.reconciliation = Some(reconciliation),
        Err(error) if chaos_run => {
            anyhow::bail!("cannot reconcile the chaos run through the orders database: {error}")
        }
        Err(error) => writeln!(out, "note: no reconciliation, the orders database: {error}")?,
    }
    Ok(())
}
