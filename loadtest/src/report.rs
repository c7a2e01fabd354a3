//! The human report printed after a run or a merge: requests, queue figures, service
//! figures and the SLO table. Goose's own HTML/JSON/Markdown reports (`--report-file`) are
//! written by goose; this is what the terminal and CI logs show.

use std::fmt::Write as _;

use crate::slo::format_micros;
use crate::summary::Summary;

/// The report as text.
pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} generator(s), {} user(s), {:.0} s of load",
        summary.generators, summary.users, summary.duration_secs
    );
    let _ = writeln!(
        out,
        "\n{:<34} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "request", "count", "fail%", "req/s", "p50", "p95", "p99", "max"
    );
    let mut rows: Vec<(String, crate::summary::RequestStats)> = summary
        .requests
        .iter()
        .map(|(name, stats)| (name.clone(), stats.clone()))
        .collect();
    if rows.len() > 1 {
        rows.push(("(all)".into(), summary.all_requests()));
    }
    for (name, stats) in rows {
        let time = |p: f64| {
            stats
                .percentile_us(p)
                .map_or_else(|| "-".into(), |us| format_micros(us as f64))
        };
        let _ = writeln!(
            out,
            "{:<34} {:>9} {:>7.2} {:>9.1} {:>9} {:>9} {:>9} {:>9}",
            truncate(&name, 34),
            stats.count,
            stats.error_percent(),
            summary.requests_per_sec(&stats),
            time(50.0),
            time(95.0),
            time(99.0),
            format_micros(stats.max_us as f64),
        );
    }
    if let Some(queue) = &summary.queue {
        let _ = writeln!(
            out,
            "\nqueue: {} sent, {} completed, {} failed, {} unfinished; drained {:.2} s after the load; {:.0} orders/s end to end",
            queue.sent,
            queue.completed,
            queue.failed,
            queue.unfinished,
            queue.drain_secs,
            queue.finished_per_sec
        );
    }
    if let Some(poison) = &summary.poison {
        let _ = writeln!(
            out,
            "poison: {} sent, {} found in the dead-letter queue{}",
            poison.sent,
            poison.dead_lettered,
            if poison.checked {
                ""
            } else {
                " (not searched: no DLQ known)"
            }
        );
    }
    if let Some(r) = &summary.reconciliation {
        let _ = writeln!(
            out,
            "reconciliation: {} sent | applied once {} | applied twice or more {} | \
             dead-lettered {} | not completed {} | lost {}",
            r.sent, r.applied_once, r.applied_twice, r.dead_lettered, r.not_completed, r.lost
        );
    }
    match &summary.service {
        Some(service) => {
            let lag = |q: f64| {
                service
                    .queue_lag
                    .quantile(q)
                    .map_or_else(|| "-".into(), |s| format_micros(s * 1e6))
            };
            let outcomes: Vec<String> = service
                .outcomes
                .iter()
                .map(|(outcome, n)| format!("{outcome}={n}"))
                .collect();
            let _ = writeln!(
                out,
                "service: queue lag p50 {} p99 {} over {} messages; outcomes {}",
                lag(0.5),
                lag(0.99),
                service.queue_lag.count,
                if outcomes.is_empty() {
                    "none".to_owned()
                } else {
                    outcomes.join(" ")
                }
            );
        }
        None => {
            let _ = writeln!(out, "service: metrics not scraped");
        }
    }
    if !summary.verdicts.is_empty() {
        let width = summary
            .verdicts
            .iter()
            .map(|v| v.rule.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "\n{:<width$}  {:>14}  result",
            "SLO / check", "observed"
        );
        for verdict in &summary.verdicts {
            let _ = writeln!(
                out,
                "{:<width$}  {:>14}  {}",
                verdict.rule,
                verdict.observed,
                if verdict.passed { "pass" } else { "FAIL" }
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        if summary.passed {
            "PASSED"
        } else {
            "FAILED: see the table above"
        }
    );
    out
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(width - 1).collect();
        format!("{kept}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{QueueFigures, RequestStats};
    use crate::verdict::Verdict;

    #[test]
    fn the_report_shows_requests_queue_and_verdicts() {
        let mut summary = Summary::new();
        summary.duration_secs = 2.0;
        let mut stats = RequestStats {
            count: 10,
            failures: 1,
            min_us: 900,
            max_us: 2_000,
            total_us: 10_000,
            ..RequestStats::default()
        };
        stats.record_bucket(1_000, 10);
        summary.requests.insert("GET /v1/orders/{id}".into(), stats);
        summary.queue = Some(QueueFigures {
            sent: 20,
            completed: 20,
            ..QueueFigures::default()
        });
        summary.verdicts = vec![Verdict {
            rule: "p99<50ms".into(),
            observed: "1.00ms".into(),
            passed: true,
        }];
        summary.passed = true;
        let text = render(&summary);
        assert!(text.contains("GET /v1/orders/{id}"));
        assert!(text.contains("10.00"), "{text}");
        assert!(text.contains("queue: 20 sent, 20 completed"));
        assert!(text.contains("p99<50ms"));
        assert!(text.contains("PASSED"));
        assert!(text.contains("service: metrics not scraped"));
    }
}
