//! The JSON summary of a run: what one load generator measured, in a form that merges.
//!
//! A [`Summary`] holds, per request name, goose's response-time buckets (whose keys are the
//! same in every process, so generators' buckets add up), the queue and poison checks, and the
//! service-side figures scraped from `/metrics`. SLOs are judged on a summary, so a merged
//! summary of N generators is judged exactly as a single run is.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::service_metrics::ServiceFigures;
use crate::verdict::Verdict;

/// The version of the summary's JSON shape; `merge` refuses other versions.
pub const SUMMARY_VERSION: u32 = 1;

/// What a run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`SUMMARY_VERSION`].
    pub version: u32,
    /// How many load generators this summary covers (1 for a run; the sum after `merge`).
    pub generators: u32,
    /// Seconds of load (goose's metrics window; the longest one after `merge`).
    pub duration_secs: f64,
    /// The most users running at once (summed over generators).
    pub users: usize,
    /// Per request name, such as `GET /v1/orders/{id}` or `SQS SendMessageBatch`.
    pub requests: BTreeMap<String, RequestStats>,
    /// The queue scenario's end-to-end check, when it ran.
    pub queue: Option<QueueFigures>,
    /// The poison scenario's dead-letter check, when it ran.
    pub poison: Option<PoisonFigures>,
    /// What the service's `/metrics` says changed during the run, when it could be scraped.
    pub service: Option<ServiceFigures>,
    /// Every message sent accounted for, when the orders database was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<crate::reconcile::Reconciliation>,
    /// The chaos plan's faults as they were carried out, when a plan ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chaos: Vec<ChaosEvent>,
    /// The SLO verdicts and end-of-run checks, in the order given.
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    /// Whether every verdict passed.
    #[serde(default)]
    pub passed: bool,
}

/// One fault of a chaos plan, as it was carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChaosEvent {
    /// Seconds from the start of the load.
    pub at_secs: f64,
    /// The fault, for people (`kill service for 3s`).
    pub fault: String,
    /// Why it could not be carried out, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Response times and outcomes of one request name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestStats {
    /// Requests made.
    pub count: u64,
    /// Requests that failed (transport error or unexpected status).
    pub failures: u64,
    /// Fastest, in microseconds.
    pub min_us: u64,
    /// Slowest, in microseconds.
    pub max_us: u64,
    /// Sum of all times, in microseconds.
    pub total_us: u64,
    /// Goose's log-linear buckets: bucket time in microseconds → requests in it.
    pub buckets: BTreeMap<u64, u64>,
}

/// The queue scenario's figures: sent straight to SQS, then watched until processed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueFigures {
    /// Orders sent as `order.submitted` messages.
    pub sent: u64,
    /// Of those, orders the service completed.
    pub completed: u64,
    /// Of those, orders the service marked failed.
    pub failed: u64,
    /// Orders still not finished when the drain deadline passed.
    pub unfinished: u64,
    /// Seconds from the end of the load until the last order finished (or the deadline).
    pub drain_secs: f64,
    /// Orders finished per second, from the start of the load to the last one finished.
    pub finished_per_sec: f64,
}

/// The poison scenario's figures: malformed messages, which must all end in the DLQ.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoisonFigures {
    /// Malformed messages sent.
    pub sent: u64,
    /// Of those, found in the dead-letter queue.
    pub dead_lettered: u64,
    /// Whether the DLQ was searched at all (false when no DLQ URL is known).
    pub checked: bool,
}

impl QueueFigures {
    /// Every message sent reached a final state.
    pub fn all_finished(&self) -> bool {
        self.unfinished == 0 && self.completed + self.failed == self.sent
    }
}

impl PoisonFigures {
    /// Every poison message is in the DLQ.
    pub fn all_dead_lettered(&self) -> bool {
        self.checked && self.dead_lettered == self.sent
    }
}

impl RequestStats {
    /// Adds one bucketed sample set, as goose reports it.
    pub fn record_bucket(&mut self, time_us: u64, count: u64) {
        *self.buckets.entry(time_us).or_default() += count;
    }

    /// The failed share of requests, as a percent; 0 without requests.
    pub fn error_percent(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.failures as f64 * 100.0 / self.count as f64
        }
    }

    /// The mean time in microseconds; `None` without samples.
    pub fn mean_us(&self) -> Option<f64> {
        let samples: u64 = self.buckets.values().sum();
        (samples > 0).then(|| self.total_us as f64 / samples as f64)
    }

    /// The time within which `percent` of requests finished, in microseconds: the bucket
    /// holding that rank, kept within the fastest and slowest times. `None` without samples.
    pub fn percentile_us(&self, percent: f64) -> Option<u64> {
        let samples: u64 = self.buckets.values().sum();
        if samples == 0 {
            return None;
        }
        let rank = ((percent / 100.0) * samples as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (&time, &count) in &self.buckets {
            seen += count;
            if seen >= rank {
                return Some(time.clamp(self.min_us, self.max_us.max(self.min_us)));
            }
        }
        Some(self.max_us)
    }

    /// Adds another generator's figures for the same request name.
    pub fn absorb(&mut self, other: &RequestStats) {
        let was_empty = self.buckets.is_empty() && self.count == 0;
        self.count += other.count;
        self.failures += other.failures;
        self.total_us += other.total_us;
        self.min_us = if was_empty {
            other.min_us
        } else if other.count == 0 && other.buckets.is_empty() {
            self.min_us
        } else {
            self.min_us.min(other.min_us)
        };
        self.max_us = self.max_us.max(other.max_us);
        for (&time, &count) in &other.buckets {
            self.record_bucket(time, count);
        }
    }
}

/// Why summaries could not be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not a summary.
    #[error("{path} is not a loadtest summary: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// A summary of another version.
    #[error("{path} is summary version {found}; this loadtest reads version {SUMMARY_VERSION}")]
    Version {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
    },
    /// Nothing to merge.
    #[error("no summaries to merge")]
    Empty,
}

impl Summary {
    /// An empty summary of one generator.
    pub fn new() -> Self {
        Self {
            version: SUMMARY_VERSION,
            generators: 1,
            ..Self::default()
        }
    }

    /// All requests together, as one [`RequestStats`].
    pub fn all_requests(&self) -> RequestStats {
        let mut all = RequestStats::default();
        for stats in self.requests.values() {
            all.absorb(stats);
        }
        all
    }

    /// Requests per second over the run: all generators' requests over the longest window.
    pub fn requests_per_sec(&self, stats: &RequestStats) -> f64 {
        if self.duration_secs > 0.0 {
            stats.count as f64 / self.duration_secs
        } else {
            0.0
        }
    }

    /// Reads a summary file, checking its version.
    pub fn read(path: &Path) -> Result<Self, SummaryError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SummaryError::Read {
            path: shown.clone(),
            source,
        })?;
        let summary: Summary = match serde_json::from_str(&text) {
            Ok(summary) => summary,
            // A pod's log: the summary is the one-line JSON `run --summary-file -` printed
            // among the report's lines.
            Err(source) => text
                .lines()
                .rev()
                .filter(|line| line.trim_start().starts_with('{'))
                .find_map(|line| serde_json::from_str(line).ok())
                .ok_or(SummaryError::Parse {
                    path: shown.clone(),
                    source,
                })?,
        };
        if summary.version != SUMMARY_VERSION {
            return Err(SummaryError::Version {
                path: shown,
                found: summary.version,
            });
        }
        Ok(summary)
    }

    /// Merges the summaries of generators that ran side by side against one system.
    ///
    /// Requests, queue and poison counts add up; the window is the longest one; the drain
    /// time is the slowest. Every generator scraped the same service, so adding their
    /// service-side deltas would count each message several times: the merge keeps the
    /// widest one (the generator whose window saw the most messages).
    pub fn merge(summaries: &[Summary]) -> Result<Summary, SummaryError> {
        if summaries.is_empty() {
            return Err(SummaryError::Empty);
        }
        let mut merged = Summary::new();
        merged.generators = 0;
        for summary in summaries {
            merged.generators += summary.generators;
            merged.duration_secs = merged.duration_secs.max(summary.duration_secs);
            merged.users += summary.users;
            for (name, stats) in &summary.requests {
                merged
                    .requests
                    .entry(name.clone())
                    .or_default()
                    .absorb(stats);
            }
            if let Some(queue) = &summary.queue {
                let into = merged.queue.get_or_insert_with(QueueFigures::default);
                into.sent += queue.sent;
                into.completed += queue.completed;
                into.failed += queue.failed;
                into.unfinished += queue.unfinished;
                into.drain_secs = into.drain_secs.max(queue.drain_secs);
                into.finished_per_sec += queue.finished_per_sec;
            }
            if let Some(poison) = &summary.poison {
                let into = merged.poison.get_or_insert(PoisonFigures {
                    checked: true,
                    ..PoisonFigures::default()
                });
                into.sent += poison.sent;
                into.dead_lettered += poison.dead_lettered;
                into.checked &= poison.checked;
            }
            if let Some(reconciliation) = &summary.reconciliation {
                merged
                    .reconciliation
                    .get_or_insert_with(Default::default)
                    .add(reconciliation);
            }
            merged.chaos.extend(summary.chaos.iter().cloned());
            if let Some(service) = &summary.service {
                let wider = merged
                    .service
                    .as_ref()
                    .is_none_or(|kept| service.queue_lag.count > kept.queue_lag.count);
                if wider {
                    merged.service = Some(service.clone());
                }
            }
        }
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_metrics::Histogram;

    fn stats(times: &[(u64, u64)], failures: u64) -> RequestStats {
        let mut stats = RequestStats::default();
        for &(time, count) in times {
            stats.record_bucket(time, count);
            stats.count += count;
            stats.total_us += time * count;
        }
        stats.failures = failures;
        stats.min_us = times.iter().map(|t| t.0).min().unwrap_or(0);
        stats.max_us = times.iter().map(|t| t.0).max().unwrap_or(0);
        stats
    }

    #[test]
    fn percentiles_come_from_the_bucket_holding_the_rank() {
        // 90 fast, 9 medium, 1 slow.
        let s = stats(&[(1_000, 90), (10_000, 9), (100_000, 1)], 0);
        assert_eq!(s.percentile_us(50.0), Some(1_000));
        assert_eq!(s.percentile_us(90.0), Some(1_000));
        assert_eq!(s.percentile_us(95.0), Some(10_000));
        assert_eq!(s.percentile_us(99.0), Some(10_000));
        assert_eq!(s.percentile_us(99.9), Some(100_000));
        assert_eq!(s.percentile_us(100.0), Some(100_000));
        assert_eq!(RequestStats::default().percentile_us(99.0), None);
        let mean = s.mean_us().unwrap();
        assert!((mean - (90_000.0 + 90_000.0 + 100_000.0) / 100.0).abs() < 1e-6);
    }

    #[test]
    fn error_percent_is_a_share_of_requests() {
        assert_eq!(stats(&[(5, 200)], 1).error_percent(), 0.5);
        assert_eq!(RequestStats::default().error_percent(), 0.0);
    }

    fn run(rps_window: f64, times: &[(u64, u64)], lag_count: u64) -> Summary {
        let mut summary = Summary::new();
        summary.duration_secs = rps_window;
        summary.users = 4;
        summary.requests.insert("GET /x".into(), stats(times, 1));
        summary.queue = Some(QueueFigures {
            sent: 10,
            completed: 10,
            drain_secs: rps_window / 10.0,
            finished_per_sec: 5.0,
            ..QueueFigures::default()
        });
        summary.poison = Some(PoisonFigures {
            sent: 2,
            dead_lettered: 2,
            checked: true,
        });
        summary.service = Some(ServiceFigures {
            queue_lag: Histogram {
                count: lag_count,
                ..Histogram::default()
            },
            ..ServiceFigures::default()
        });
        summary
    }

    #[test]
    fn merge_adds_counts_and_buckets_and_keeps_the_widest_windows() {
        let a = run(10.0, &[(1_000, 90), (50_000, 10)], 100);
        let b = run(12.0, &[(2_000, 100)], 300);
        let merged = Summary::merge(&[a, b]).unwrap();
        assert_eq!(merged.generators, 2);
        assert_eq!(merged.users, 8);
        assert_eq!(merged.duration_secs, 12.0);
        let get = &merged.requests["GET /x"];
        assert_eq!(get.count, 200);
        assert_eq!(get.failures, 2);
        assert_eq!(get.min_us, 1_000);
        assert_eq!(get.max_us, 50_000);
        assert_eq!(get.buckets.values().sum::<u64>(), 200);
        // 90 at 1 ms, 100 at 2 ms, 10 at 50 ms: p95 is the 190th sample.
        assert_eq!(get.percentile_us(95.0), Some(2_000));
        assert_eq!(get.percentile_us(99.0), Some(50_000));
        assert!((merged.requests_per_sec(get) - 200.0 / 12.0).abs() < 1e-9);
        let queue = merged.queue.unwrap();
        assert_eq!((queue.sent, queue.completed), (20, 20));
        assert!(queue.all_finished());
        assert_eq!(queue.drain_secs, 1.2);
        assert!(merged.poison.unwrap().all_dead_lettered());
        assert_eq!(merged.service.unwrap().queue_lag.count, 300);
    }

    #[test]
    fn merge_of_nothing_is_an_error_and_a_merge_round_trips_through_json() {
        assert!(matches!(Summary::merge(&[]), Err(SummaryError::Empty)));
        let merged = Summary::merge(&[run(5.0, &[(10, 1)], 1)]).unwrap();
        let text = serde_json::to_string(&merged).unwrap();
        assert_eq!(serde_json::from_str::<Summary>(&text).unwrap(), merged);
    }

    #[test]
    fn read_refuses_other_versions_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut old = Summary::new();
        old.version = 99;
        std::fs::write(&path, serde_json::to_string(&old).unwrap()).unwrap();
        assert!(matches!(
            Summary::read(&path),
            Err(SummaryError::Version { found: 99, .. })
        ));
        // A pod log: report lines around a one-line summary.
        let one_line = serde_json::to_string(&Summary::new()).unwrap();
        std::fs::write(
            &path,
            format!("targets:\n  service x\n{one_line}\nPASSED\n"),
        )
        .unwrap();
        assert_eq!(Summary::read(&path).unwrap(), Summary::new());
        std::fs::write(&path, "{\"hello\": 1}").unwrap();
        assert!(matches!(
            Summary::read(&path),
            Err(SummaryError::Parse { .. })
        ));
        assert!(matches!(
            Summary::read(&dir.path().join("missing.json")),
            Err(SummaryError::Read { .. })
        ));
    }

    #[test]
    fn a_failed_poison_check_or_an_unfinished_queue_is_visible() {
        let poison = PoisonFigures {
            sent: 3,
            dead_lettered: 2,
            checked: true,
        };
        assert!(!poison.all_dead_lettered());
        let unchecked = PoisonFigures {
            sent: 0,
            dead_lettered: 0,
            checked: false,
        };
        assert!(!unchecked.all_dead_lettered());
        let queue = QueueFigures {
            sent: 5,
            completed: 4,
            unfinished: 1,
            ..QueueFigures::default()
        };
        assert!(!queue.all_finished());
    }
}
