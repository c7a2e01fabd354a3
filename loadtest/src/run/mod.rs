//! `loadtest run` and `loadtest merge`: resolve targets, run goose, check the queue and the
//! DLQ, scrape the service, judge the SLOs, report. `run` is a list of named stages:
//!
//! - [`plan`]: which scenarios run and how, the loopback guard, the queue client, goose's
//!   configuration;
//! - [`load`]: the load, the checks after it, the service's figures around it;
//! - [`chaos`]: a chaos plan alongside the load, and the reconciliation of every message;
//! - here: judging the SLOs and checks, the report and the JSON summary, and `merge`.

pub mod chaos;
pub mod load;
pub mod plan;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use goose::GooseAttack;

use crate::cli::{MergeArgs, RunArgs};
use crate::report;
use crate::scenarios::{self, Shared};
use crate::slo::{self, Slo};
use crate::summary::Summary;
use crate::targets::{Environment, Targets};
use crate::verdict::Verdict;
pub use load::summarize;

/// The exit status of a run whose SLOs or checks failed (k6's choice).
pub const SLO_FAILED_EXIT: u8 = 99;

/// Where the human report goes: stdout, or stderr when the JSON summary takes stdout.
fn report_stream(args_summary: Option<&Path>) -> Box<dyn Write> {
    if args_summary.is_some_and(|p| p == Path::new("-")) {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    }
}

fn parse_slos(rules: &[String]) -> anyhow::Result<Vec<Slo>> {
    slo::parse_all(rules).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("{}", lines.join("\n"))
    })
}

/// Runs the load test; `Ok(true)` when every SLO and check passed. The stages: resolve the
/// targets, plan, guard, configure goose, scrape, load, reconcile, scrape, judge, report.
pub async fn run(mut args: RunArgs) -> anyhow::Result<bool> {
    if args.goose.version {
        // Goose's `--version` flag, flattened into this command line, answers for us.
        println!("loadtest {}", env!("CARGO_PKG_VERSION"));
        return Ok(true);
    }
    let slos = parse_slos(&args.slos)?;
    let targets = Targets::resolve(&args, &Environment::from_process())?;
    let mut out = report_stream(args.summary_file.as_deref());
    let plan = plan::plan(&args)?;
    write!(out, "{targets}")?;
    writeln!(out, "  scenarios     {}", plan.selected.join(", "))?;
    plan::guard(&plan, &targets, args.allow_remote_writes)?;
    let faults = chaos::prepare(&args, &targets)?;
    let chaos_run = faults.is_some();
    let sqs = plan::queue(&plan, &targets).await?;
    plan::configure_goose(
        &mut args.goose,
        &plan,
        &targets,
        args.summary_file.as_deref(),
    );

    let shared = Arc::new(Shared::new(plan.settings.clone(), sqs));
    let attack = GooseAttack::initialize_with_config(args.goose.clone())?;
    let attack = scenarios::register(attack, &shared, &args.weights)?;
    let before = load::scrape_before(&targets, &mut out).await?;
    let timeline = chaos::start(faults, &targets);
    let load = load::load(attack).await?;

    let mut summary = summarize(&load.metrics);
    chaos::finish(timeline, &mut summary, &mut out).await?;
    let drain_timeout = Duration::from_secs(args.drain_timeout);
    let sent = load::reconcile(
        &mut summary,
        &plan,
        &targets,
        &shared,
        &load,
        drain_timeout,
        args.keep_dead_letters,
    )
    .await;
    chaos::reconcile(&mut summary, &targets, &shared, &sent, chaos_run, &mut out).await?;
    load::scrape_after(&mut summary, &before, &targets, &mut out).await?;
    judge(&mut summary, &slos, load.failed_thresholds);
    write!(out, "{}", report::render(&summary))?;
    if let Some(path) = &args.summary_file {
        write_summary(&summary, path)?;
    }
    Ok(summary.passed)
}

/// Judges the SLOs and the end-of-run checks into `summary.verdicts` and `.passed`.
pub fn judge(summary: &mut Summary, slos: &[Slo], mut extra: Vec<Verdict>) {
    let mut verdicts: Vec<Verdict> = slos.iter().map(|slo| slo.judge(summary)).collect();
    if let Some(queue) = &summary.queue {
        verdicts.push(Verdict {
            rule: "check: every queued order finished".into(),
            observed: format!("{}/{}", queue.completed + queue.failed, queue.sent),
            passed: queue.all_finished(),
        });
    }
    if let Some(poison) = &summary.poison {
        verdicts.push(Verdict {
            rule: "check: every poison message dead-lettered".into(),
            observed: if poison.checked {
                format!("{}/{}", poison.dead_lettered, poison.sent)
            } else {
                "no DLQ".into()
            },
            passed: poison.all_dead_lettered(),
        });
    }
    if let Some(reconciliation) = &summary.reconciliation {
        verdicts.push(reconciliation.verdict());
    }
    verdicts.append(&mut extra);
    summary.passed = verdicts.iter().all(|v| v.passed);
    summary.verdicts = verdicts;
}

fn write_summary(summary: &Summary, path: &Path) -> anyhow::Result<()> {
    if path == Path::new("-") {
        // One line, so that a pod log holding report lines as well still yields it.
        println!("{}", serde_json::to_string(summary)?);
        return Ok(());
    }
    let text = serde_json::to_string_pretty(summary)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write the summary to {}", path.display()))
}

/// `loadtest merge`: merges summaries, judges SLOs on the whole, reports. `Ok(true)` when
/// every SLO passed.
pub fn merge(args: &MergeArgs) -> anyhow::Result<bool> {
    let slos = parse_slos(&args.slos)?;
    let summaries = args
        .summaries
        .iter()
        .map(|path| Summary::read(path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut merged = Summary::merge(&summaries)?;
    judge(&mut merged, &slos, Vec::new());
    match &args.output {
        Some(path) => {
            write_summary(&merged, path)?;
            print!("{}", report::render(&merged));
        }
        None => {
            eprint!("{}", report::render(&merged));
            write_summary(&merged, Path::new("-"))?;
        }
    }
    Ok(merged.passed)
}
