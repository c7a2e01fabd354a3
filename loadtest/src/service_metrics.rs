//! The service's own view of a run, from its Prometheus `/metrics`.
//!
//! The load test scrapes the service before and after the load; the difference of the
//! queue-lag histogram and of the message-outcome counters is what the service saw during
//! the run. Metric names come from `slipway_contracts::metrics`, the one list that the
//! service, the TUI and the load test share; the text is read by
//! `slipway_contracts::metrics::exposition`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use slipway_contracts::metrics::{self, exposition};

/// A Prometheus histogram: cumulative bucket counts by upper bound, count and sum.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// `(le, cumulative count)`, by increasing `le`; the last bound may be infinite, which
    /// JSON writes as `null`.
    pub buckets: Vec<(Option<f64>, u64)>,
    /// Observations.
    pub count: u64,
    /// Sum of observations.
    pub sum: f64,
}

/// What the service reported about the run: deltas between two scrapes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceFigures {
    /// Queue lag (seconds from `SentTimestamp` to the start of work).
    pub queue_lag: Histogram,
    /// Messages finished, by outcome (`ok`, `retry`, `dead_letter`).
    pub outcomes: BTreeMap<String, u64>,
}

/// Why the service's metrics could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The request failed or the status was not 200.
    #[error("cannot scrape {url}: {reason}")]
    Http {
        /// The metrics URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The text is not Prometheus exposition format.
    #[error("{url} did not return Prometheus text: {reason}")]
    Parse {
        /// The metrics URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// A parsed snapshot of the counters and histograms the load test reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    queue_lag: Histogram,
    outcomes: BTreeMap<String, u64>,
}

impl Snapshot {
    /// Parses Prometheus text exposition; label sets of one metric are added together
    /// (several workers, several routes).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut snapshot = Snapshot::default();
        let mut lag_buckets: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        let lag = metrics::WORKER_QUEUE_LAG_SECONDS;
        let (bucket, count, sum) = (
            format!("{lag}_bucket"),
            format!("{lag}_count"),
            format!("{lag}_sum"),
        );
        for sample in exposition::parse(text)? {
            let name = sample.name.as_str();
            if name == bucket {
                let le = sample
                    .label("le")
                    .and_then(|le| le.replace("Inf", "inf").parse::<f64>().ok());
                if let Some(le) = le {
                    lag_buckets.entry(le.to_bits()).or_insert((le, 0.0)).1 += sample.value;
                }
            } else if name == count {
                snapshot.queue_lag.count += sample.value.max(0.0) as u64;
            } else if name == sum {
                snapshot.queue_lag.sum += sample.value;
            } else if name == metrics::WORKER_MESSAGES_TOTAL {
                let outcome = sample.label("outcome").unwrap_or("unknown").to_owned();
                *snapshot.outcomes.entry(outcome).or_default() += sample.value.max(0.0) as u64;
            }
        }
        let mut bounds: Vec<(f64, f64)> = lag_buckets.into_values().collect();
        bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
        snapshot.queue_lag.buckets = bounds
            .into_iter()
            .map(|(le, count)| (le.is_finite().then_some(le), count.max(0.0) as u64))
            .collect();
        Ok(snapshot)
    }

    /// Fetches and parses `url`.
    pub async fn scrape(client: &reqwest::Client, url: &str) -> Result<Self, ScrapeError> {
        let http = |reason: String| ScrapeError::Http {
            url: url.to_owned(),
            reason,
        };
        let response = client
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| http(e.to_string()))?;
        if !response.status().is_success() {
            return Err(http(format!("status {}", response.status())));
        }
        let text = response.text().await.map_err(|e| http(e.to_string()))?;
        Self::parse(&text).map_err(|reason| ScrapeError::Parse {
            url: url.to_owned(),
            reason,
        })
    }

    /// What changed from `before` to `self`. A counter that went down means the service
    /// restarted; the later value is then the best estimate of the run.
    pub fn since(&self, before: &Snapshot) -> ServiceFigures {
        let earlier = |le: Option<f64>| {
            before
                .queue_lag
                .buckets
                .iter()
                .find(|(bound, _)| *bound == le)
                .map_or(0, |(_, count)| *count)
        };
        let restarted = self.queue_lag.count < before.queue_lag.count;
        let queue_lag = if restarted {
            self.queue_lag.clone()
        } else {
            Histogram {
                buckets: self
                    .queue_lag
                    .buckets
                    .iter()
                    .map(|&(le, count)| (le, count.saturating_sub(earlier(le))))
                    .collect(),
                count: self.queue_lag.count - before.queue_lag.count,
                sum: (self.queue_lag.sum - before.queue_lag.sum).max(0.0),
            }
        };
        let outcomes = self
            .outcomes
            .iter()
            .map(|(outcome, &now)| {
                let then = before.outcomes.get(outcome).copied().unwrap_or(0);
                let delta = if now < then { now } else { now - then };
                (outcome.clone(), delta)
            })
            .collect();
        ServiceFigures {
            queue_lag,
            outcomes,
        }
    }
}

impl Histogram {
    /// The `q` quantile (0–1) by linear interpolation within the bucket that holds it, as
    /// PromQL's `histogram_quantile` does. `None` without observations. A rank in the
    /// infinite bucket answers the highest finite bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let buckets: Vec<(f64, f64)> = self
            .buckets
            .iter()
            .map(|&(le, count)| (le.unwrap_or(f64::INFINITY), count as f64))
            .collect();
        metrics::histogram::quantile(&buckets, q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "\
# TYPE worker_queue_lag_seconds histogram
worker_queue_lag_seconds_bucket{le=\"0.01\"} 5
worker_queue_lag_seconds_bucket{le=\"0.1\"} 10
worker_queue_lag_seconds_bucket{le=\"1\"} 10
worker_queue_lag_seconds_bucket{le=\"+Inf\"} 10
worker_queue_lag_seconds_sum 0.3
worker_queue_lag_seconds_count 10
# TYPE worker_messages_total counter
worker_messages_total{outcome=\"ok\"} 9
worker_messages_total{outcome=\"dead_letter\"} 1
";

    const AFTER: &str = "\
# TYPE worker_queue_lag_seconds histogram
worker_queue_lag_seconds_bucket{le=\"0.01\"} 55
worker_queue_lag_seconds_bucket{le=\"0.1\"} 100
worker_queue_lag_seconds_bucket{le=\"1\"} 110
worker_queue_lag_seconds_bucket{le=\"+Inf\"} 110
worker_queue_lag_seconds_sum 8.3
worker_queue_lag_seconds_count 110
# TYPE worker_messages_total counter
worker_messages_total{outcome=\"ok\"} 99
worker_messages_total{outcome=\"dead_letter\"} 11
worker_messages_total{outcome=\"retry\"} 3
# TYPE http_requests_total counter
http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 4
";

    #[test]
    fn deltas_between_two_scrapes() {
        let before = Snapshot::parse(BEFORE).unwrap();
        let after = Snapshot::parse(AFTER).unwrap();
        let run = after.since(&before);
        assert_eq!(run.queue_lag.count, 100);
        assert_eq!(
            run.queue_lag.buckets,
            vec![
                (Some(0.01), 50),
                (Some(0.1), 90),
                (Some(1.0), 100),
                (None, 100)
            ]
        );
        assert!((run.queue_lag.sum - 8.0).abs() < 1e-9);
        assert_eq!(run.outcomes["ok"], 90);
        assert_eq!(run.outcomes["dead_letter"], 10);
        assert_eq!(run.outcomes["retry"], 3);
    }

    #[test]
    fn a_restarted_service_is_read_from_zero() {
        let before = Snapshot::parse(AFTER).unwrap();
        let after = Snapshot::parse(BEFORE).unwrap();
        let run = after.since(&before);
        assert_eq!(run.queue_lag.count, 10);
        assert_eq!(run.outcomes["ok"], 9);
    }

    #[test]
    fn quantiles_interpolate_within_a_bucket() {
        let h = Histogram {
            buckets: vec![
                (Some(0.01), 50),
                (Some(0.1), 90),
                (Some(1.0), 100),
                (None, 100),
            ],
            count: 100,
            sum: 0.0,
        };
        // Rank 50 is the top of the first bucket.
        assert!((h.quantile(0.5).unwrap() - 0.01).abs() < 1e-9);
        // Rank 70 is halfway through (0.01, 0.1].
        assert!((h.quantile(0.7).unwrap() - 0.055).abs() < 1e-9);
        // Rank 99 is 9/10 of the way through (0.1, 1].
        assert!((h.quantile(0.99).unwrap() - 0.91).abs() < 1e-9);
        assert_eq!(Histogram::default().quantile(0.99), None);
        let beyond = Histogram {
            buckets: vec![(Some(0.5), 1), (None, 10)],
            count: 10,
            sum: 0.0,
        };
        assert_eq!(beyond.quantile(0.99), Some(0.5));
    }

    #[test]
    fn garbage_is_an_error_or_empty_never_a_panic() {
        assert!(Snapshot::parse("this is not prometheus\n{{{\n").is_err());
        assert!(Snapshot::parse("").unwrap().outcomes.is_empty());
    }
}
