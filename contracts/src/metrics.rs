//! Prometheus metric names: the contract between `service` (which exports them), `tui` and
//! `loadtest` (which scrape them). `METRICS.md` at the repository root documents each one;
//! a test keeps the two in step.

/// Counter: HTTP requests served. Labels: `method`, `route` (the route template, e.g.
/// `/v1/orders/{id}`), `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// Histogram (seconds): HTTP request duration. Labels: `method`, `route`, `status`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
/// Gauge: the configured number of workers in the pool.
pub const WORKER_POOL_SIZE: &str = "worker_pool_size";
/// Gauge: workers currently processing a message.
pub const WORKER_BUSY: &str = "worker_busy";
/// Gauge: messages received from SQS and not yet deleted or released.
pub const WORKER_MESSAGES_IN_FLIGHT: &str = "worker_messages_in_flight";
/// Counter: messages finished, by `outcome` (`ok`, `retry`, `dead_letter`).
pub const WORKER_MESSAGES_TOTAL: &str = "worker_messages_total";
/// Histogram (seconds): time spent processing one message.
pub const WORKER_PROCESSING_DURATION_SECONDS: &str = "worker_processing_duration_seconds";
/// Histogram (seconds): queue lag, now minus the message's `SentTimestamp` when work starts.
pub const WORKER_QUEUE_LAG_SECONDS: &str = "worker_queue_lag_seconds";

/// Counter: order reads through the cache, by `result` (`hit`, `miss`).
pub const ORDER_CACHE_TOTAL: &str = "order_cache_total";

/// The values of the `outcome` label of [`WORKER_MESSAGES_TOTAL`].
pub const OUTCOMES: [&str; 3] = ["ok", "retry", "dead_letter"];

/// Every metric name of the contract, for documentation checks.
pub const ALL: [&str; 9] = [
    HTTP_REQUESTS_TOTAL,
    HTTP_REQUEST_DURATION_SECONDS,
    WORKER_POOL_SIZE,
    WORKER_BUSY,
    WORKER_MESSAGES_IN_FLIGHT,
    WORKER_MESSAGES_TOTAL,
    WORKER_PROCESSING_DURATION_SECONDS,
    WORKER_QUEUE_LAG_SECONDS,
    ORDER_CACHE_TOTAL,
];

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn every_metric_is_documented_in_metrics_md() {
        let doc = include_str!("../../METRICS.md");
        for name in ALL {
            assert!(
                doc.contains(&format!("`{name}`")),
                "{name} is missing from METRICS.md"
            );
        }
    }

    #[test]
    fn names_follow_prometheus_conventions() {
        for name in ALL {
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name} is not snake_case"
            );
        }
        assert!(super::HTTP_REQUESTS_TOTAL.ends_with("_total"));
        assert!(super::WORKER_MESSAGES_TOTAL.ends_with("_total"));
    }
}
