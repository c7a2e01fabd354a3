//! The stages of a run from the load on: the load itself (goose), the reconciliation after it
//! (every queued order finished, every poison message in the DLQ), and the service's own
//! figures scraped before and after.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use goose::metrics::GooseMetrics;
use goose::{GooseAttack, GooseError};

use super::plan::Plan;
use crate::checks;
use crate::reconcile::Sent;
use crate::scenarios::Shared;
use crate::service_metrics::{ScrapeError, Snapshot};
use crate::summary::{PoisonFigures, RequestStats, Summary};
use crate::targets::Targets;
use crate::verdict::Verdict;

/// What the load left: goose's metrics, the goose thresholds that failed, and when it ran.
pub struct Load {
    /// Goose's metrics.
    pub metrics: GooseMetrics,
    /// Goose's own thresholds that failed, as verdicts.
    pub failed_thresholds: Vec<Verdict>,
    /// When the load started.
    pub started: Instant,
    /// When it ended.
    pub ended: Instant,
}

/// Runs the load.
pub async fn load(attack: GooseAttack) -> anyhow::Result<Load> {
    let started = Instant::now();
    let (metrics, failed_thresholds) = match attack.execute().await {
        Ok(metrics) => (metrics, Vec::new()),
        Err(GooseError::ThresholdsFailed { failed, metrics }) => {
            let failed = failed
                .into_iter()
                .map(|result| Verdict {
                    rule: format!("goose threshold {}", result.rule),
                    observed: result.observed.to_string(),
                    passed: false,
                })
                .collect();
            (*metrics.0, failed)
        }
        Err(error) => return Err(error).context("the load test could not run"),
    };
    Ok(Load {
        metrics,
        failed_thresholds,
        started,
        ended: Instant::now(),
    })
}

/// The checks after the load: every queued order finished (the `queue` scenario), every
/// poison message dead-lettered (`poison`), into `summary`; what was sent, for the
/// reconciliation.
pub async fn reconcile(
    summary: &mut Summary,
    plan: &Plan,
    targets: &Targets,
    shared: &Arc<Shared>,
    load: &Load,
    drain_timeout: Duration,
    keep_dead_letters: bool,
) -> Sent {
    let http = reqwest::Client::new();
    let mut accounted = Sent {
        orders: Vec::new(),
        poison: (0, 0),
    };
    if plan.runs("queue") {
        accounted.orders = std::mem::take(&mut *shared.queued.lock());
        summary.queue = Some(
            checks::wait_for_orders(
                &http,
                &targets.service,
                accounted.orders.clone(),
                load.started,
                load.ended,
                drain_timeout,
            )
            .await,
        );
    }
    if plan.runs("poison") {
        let markers = std::mem::take(&mut *shared.poisoned.lock());
        let sent = markers.len();
        let found = match &shared.sqs {
            Some((client, queue_url)) => {
                let dlq = match &targets.dlq_url {
                    Some(url) => Some(url.clone()),
                    None => checks::dead_letter_queue_of(client, queue_url).await,
                };
                match dlq {
                    Some(dlq) => Some(
                        checks::find_poison(
                            client,
                            &dlq,
                            markers,
                            drain_timeout,
                            keep_dead_letters,
                        )
                        .await,
                    ),
                    None => None,
                }
            }
            None => None,
        };
        let poison = found.unwrap_or_else(|| unchecked_poison(sent));
        accounted.poison = (poison.sent, poison.dead_lettered);
        summary.poison = Some(poison);
    }
    accounted
}

fn unchecked_poison(sent: usize) -> PoisonFigures {
    PoisonFigures {
        sent: sent as u64,
        dead_lettered: 0,
        checked: false,
    }
}

/// The service's figures before the load; a note on `out` when they cannot be read.
pub async fn scrape_before(
    targets: &Targets,
    out: &mut dyn Write,
) -> anyhow::Result<Result<Snapshot, ScrapeError>> {
    let before = Snapshot::scrape(&reqwest::Client::new(), &targets.metrics).await;
    if let Err(error) = &before {
        writeln!(out, "note: {error}; service-side figures will be missing")?;
    }
    Ok(before)
}

/// The service's figures over the run, into `summary`.
pub async fn scrape_after(
    summary: &mut Summary,
    before: &Result<Snapshot, ScrapeError>,
    targets: &Targets,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if let Ok(before) = before {
        match Snapshot::scrape(&reqwest::Client::new(), &targets.metrics).await {
            Ok(after) => summary.service = Some(after.since(before)),
            Err(error) => writeln!(out, "note: {error}")?,
        }
    }
    Ok(())
}

/// Goose's metrics as a summary: per request name, its buckets and counts.
pub fn summarize(metrics: &GooseMetrics) -> Summary {
    let mut summary = Summary::new();
    summary.duration_secs = metrics.duration as f64;
    summary.users = metrics.maximum_users;
    for aggregate in metrics.requests.values() {
        let name = format!("{} {}", aggregate.method_label(), aggregate.path);
        let raw = &aggregate.raw_data;
        let mut stats = RequestStats {
            count: (aggregate.success_count + aggregate.fail_count) as u64,
            failures: aggregate.fail_count as u64,
            min_us: raw.minimum_time_us,
            max_us: raw.maximum_time_us,
            total_us: raw.total_time_us,
            ..RequestStats::default()
        };
        for (&time, &count) in raw.times_us.iter() {
            stats.record_bucket(time, count as u64);
        }
        summary.requests.entry(name).or_default().absorb(&stats);
    }
    summary
}
