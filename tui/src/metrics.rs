//! The service's Prometheus text, read into the figures the dashboard shows.
//!
//! A [`Snapshot`] is one scrape of every target, added together (replicas of one service).
//! Rates and percentiles come from the difference of two snapshots ([`Rates::between`]):
//! counters over elapsed time, and histogram quantiles over the buckets that grew, as
//! PromQL's `rate` and `histogram_quantile` would. Names come from `slipway_contracts`.

use std::collections::BTreeMap;

use slipway_contracts::metrics::{self, exposition, histogram};

/// Cumulative histogram buckets: upper bound (as bits, to key a map) → count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets(BTreeMap<u64, (f64, f64)>);

impl Buckets {
    fn add(&mut self, le: f64, count: f64) {
        self.0.entry(le.to_bits()).or_insert((le, 0.0)).1 += count;
    }

    fn sorted(&self) -> Vec<(f64, f64)> {
        let mut buckets: Vec<(f64, f64)> = self.0.values().copied().collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }

    /// What grew since `earlier`; everything when a counter went down (a restart).
    fn since(&self, earlier: &Buckets) -> Vec<(f64, f64)> {
        let now = self.sorted();
        let then = earlier.sorted();
        let restarted = now.last().map(|b| b.1) < then.last().map(|b| b.1);
        now.into_iter()
            .map(|(le, count)| {
                let before = if restarted {
                    0.0
                } else {
                    then.iter()
                        .find(|(bound, _)| *bound == le)
                        .map_or(0.0, |(_, c)| *c)
                };
                (le, (count - before).max(0.0))
            })
            .collect()
    }
}

/// One scrape of every service target, added together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// HTTP requests served.
    pub http_requests: f64,
    /// Of those, answered 5xx.
    pub http_errors: f64,
    /// HTTP request duration (seconds).
    pub http_duration: Buckets,
    /// Workers configured.
    pub pool_size: f64,
    /// Workers busy.
    pub busy: f64,
    /// Messages received and not yet deleted or released.
    pub in_flight: f64,
    /// Messages finished, by outcome.
    pub outcomes: BTreeMap<String, f64>,
    /// Queue lag (seconds).
    pub queue_lag: Buckets,
}

impl Snapshot {
    /// Adds one target's Prometheus text to the snapshot.
    pub fn add_text(&mut self, text: &str) -> Result<(), String> {
        let bucket = |name: &str| format!("{name}_bucket");
        let http_bucket = bucket(metrics::HTTP_REQUEST_DURATION_SECONDS);
        let lag_bucket = bucket(metrics::WORKER_QUEUE_LAG_SECONDS);
        for sample in exposition::parse(text)? {
            let v = sample.value;
            let le = || {
                sample
                    .label("le")
                    .and_then(|le| le.replace("Inf", "inf").parse::<f64>().ok())
            };
            match sample.name.as_str() {
                name if name == http_bucket => {
                    if let Some(le) = le() {
                        self.http_duration.add(le, v);
                    }
                }
                name if name == lag_bucket => {
                    if let Some(le) = le() {
                        self.queue_lag.add(le, v);
                    }
                }
                metrics::HTTP_REQUESTS_TOTAL => {
                    self.http_requests += v;
                    if sample.label("status").is_some_and(|s| s.starts_with('5')) {
                        self.http_errors += v;
                    }
                }
                metrics::WORKER_POOL_SIZE => self.pool_size += v,
                metrics::WORKER_BUSY => self.busy += v,
                metrics::WORKER_MESSAGES_IN_FLIGHT => self.in_flight += v,
                metrics::WORKER_MESSAGES_TOTAL => {
                    let outcome = sample.label("outcome").unwrap_or("unknown").to_owned();
                    *self.outcomes.entry(outcome).or_default() += v;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn outcome(&self, name: &str) -> f64 {
        self.outcomes.get(name).copied().unwrap_or(0.0)
    }
}

/// Figures over the interval between two snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// HTTP requests per second.
    pub requests_per_sec: f64,
    /// 5xx share of HTTP requests, as a percent.
    pub error_percent: f64,
    /// HTTP latency percentiles, in seconds.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Messages processed (`ok`) per second.
    pub processed_per_sec: f64,
    /// Messages failed (`retry` + `dead_letter`) per second.
    pub failed_per_sec: f64,
    /// Retries in the interval.
    pub retries: f64,
    /// Queue lag p99, in seconds.
    pub queue_lag_p99: Option<f64>,
}

impl Rates {
    /// Rates from `earlier` to `later`, `seconds` apart. A counter that went down (a restart)
    /// counts from zero.
    pub fn between(earlier: &Snapshot, later: &Snapshot, seconds: f64) -> Rates {
        let seconds = seconds.max(1e-3);
        let delta = |now: f64, then: f64| if now >= then { now - then } else { now };
        let requests = delta(later.http_requests, earlier.http_requests);
        let errors = delta(later.http_errors, earlier.http_errors);
        let duration = later.http_duration.since(&earlier.http_duration);
        let outcome = |name| delta(later.outcome(name), earlier.outcome(name));
        let retries = outcome("retry");
        Rates {
            requests_per_sec: requests / seconds,
            error_percent: if requests > 0.0 {
                errors * 100.0 / requests
            } else {
                0.0
            },
            p50: histogram::quantile(&duration, 0.50),
            p95: histogram::quantile(&duration, 0.95),
            p99: histogram::quantile(&duration, 0.99),
            processed_per_sec: outcome("ok") / seconds,
            failed_per_sec: (retries + outcome("dead_letter")) / seconds,
            retries,
            queue_lag_p99: histogram::quantile(&later.queue_lag.since(&earlier.queue_lag), 0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(requests: u32, errors: u32, fast: u32, slow: u32, ok: u32) -> String {
        format!(
            "# TYPE http_requests_total counter
http_requests_total{{method=\"GET\",route=\"/v1/orders/{{id}}\",status=\"200\"}} {ok_req}
http_requests_total{{method=\"POST\",route=\"/v1/orders\",status=\"503\"}} {errors}
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{method=\"GET\",route=\"/x\",status=\"200\",le=\"0.005\"}} {fast}
http_request_duration_seconds_bucket{{method=\"GET\",route=\"/x\",status=\"200\",le=\"0.1\"}} {all}
http_request_duration_seconds_bucket{{method=\"GET\",route=\"/x\",status=\"200\",le=\"+Inf\"}} {all}
http_request_duration_seconds_sum{{method=\"GET\",route=\"/x\",status=\"200\"}} 1
http_request_duration_seconds_count{{method=\"GET\",route=\"/x\",status=\"200\"}} {all}
# TYPE worker_pool_size gauge
worker_pool_size 8
# TYPE worker_busy gauge
worker_busy 3
# TYPE worker_messages_in_flight gauge
worker_messages_in_flight 5
# TYPE worker_messages_total counter
worker_messages_total{{outcome=\"ok\"}} {ok}
worker_messages_total{{outcome=\"dead_letter\"}} 2
",
            ok_req = requests - errors,
            all = fast + slow,
        )
    }

    #[test]
    fn replicas_add_up() {
        let mut snapshot = Snapshot::default();
        snapshot.add_text(&text(100, 1, 90, 10, 50)).unwrap();
        snapshot.add_text(&text(100, 1, 90, 10, 50)).unwrap();
        assert_eq!(snapshot.http_requests, 200.0);
        assert_eq!(snapshot.http_errors, 2.0);
        assert_eq!(snapshot.pool_size, 16.0);
        assert_eq!(snapshot.busy, 6.0);
        assert_eq!(snapshot.in_flight, 10.0);
        assert_eq!(snapshot.outcomes["ok"], 100.0);
    }

    #[test]
    fn rates_and_percentiles_come_from_what_grew() {
        let mut before = Snapshot::default();
        before.add_text(&text(100, 0, 100, 0, 10)).unwrap();
        let mut after = Snapshot::default();
        // 200 more requests, 2 of them 5xx; of 200 new observations 100 fast and 100 slow.
        after.add_text(&text(300, 2, 200, 100, 30)).unwrap();
        let rates = Rates::between(&before, &after, 2.0);
        assert_eq!(rates.requests_per_sec, 100.0);
        assert_eq!(rates.error_percent, 1.0);
        assert_eq!(rates.processed_per_sec, 10.0);
        // p50 is rank 100 of 200: the top of the first bucket.
        assert!((rates.p50.unwrap() - 0.005).abs() < 1e-9);
        // p99 is rank 198: 98/100 through (0.005, 0.1].
        assert!((rates.p99.unwrap() - (0.005 + 0.095 * 0.98)).abs() < 1e-9);
        assert_eq!(rates.queue_lag_p99, None);
    }

    #[test]
    fn a_restart_counts_from_zero_and_garbage_is_an_error() {
        let mut before = Snapshot::default();
        before.add_text(&text(1000, 0, 1000, 0, 500)).unwrap();
        let mut after = Snapshot::default();
        after.add_text(&text(10, 0, 10, 0, 4)).unwrap();
        let rates = Rates::between(&before, &after, 1.0);
        assert_eq!(rates.requests_per_sec, 10.0);
        assert_eq!(rates.processed_per_sec, 4.0);
        let mut nothing = Snapshot::default();
        assert!(nothing.add_text("garbage{{{ 1 2 3\n").is_err());
        assert_eq!(nothing.http_requests, 0.0);
    }
}
