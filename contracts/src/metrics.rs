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

/// Counter: undo steps of an order creation that failed after the queue send failed, by
/// `step` (`delete_order`, `release_idempotency_key`). Each one leaves an order row or an
/// idempotency key behind; the log line names the order id.
pub const ORDER_CREATE_UNDO_FAILURES_TOTAL: &str = "order_create_undo_failures_total";

/// Counter: tasks of the service that ended in a panic, by `task`
/// (`http_handler`, `worker`, `poller`, `deleter`, `status_feed`, `metrics_upkeep`).
pub const PANICS_TOTAL: &str = "panics_total";

/// The values of the `step` label of [`ORDER_CREATE_UNDO_FAILURES_TOTAL`].
pub const UNDO_STEPS: [&str; 2] = ["delete_order", "release_idempotency_key"];

/// The values of the `task` label of [`PANICS_TOTAL`].
pub const PANIC_TASKS: [&str; 6] = [
    "http_handler",
    "worker",
    "poller",
    "deleter",
    "status_feed",
    "metrics_upkeep",
];

/// The values of the `outcome` label of [`WORKER_MESSAGES_TOTAL`].
pub const OUTCOMES: [&str; 3] = ["ok", "retry", "dead_letter"];

/// Every metric name of the contract, for documentation checks.
pub const ALL: [&str; 11] = [
    HTTP_REQUESTS_TOTAL,
    HTTP_REQUEST_DURATION_SECONDS,
    WORKER_POOL_SIZE,
    WORKER_BUSY,
    WORKER_MESSAGES_IN_FLIGHT,
    WORKER_MESSAGES_TOTAL,
    WORKER_PROCESSING_DURATION_SECONDS,
    WORKER_QUEUE_LAG_SECONDS,
    ORDER_CACHE_TOTAL,
    ORDER_CREATE_UNDO_FAILURES_TOTAL,
    PANICS_TOTAL,
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

/// Reading the service's histograms the way PromQL's `histogram_quantile` does, so that the
/// TUI and the load test report the same percentile from the same buckets.
pub mod histogram {
    /// The `q` quantile (0–1) of cumulative `buckets` — `(upper bound, cumulative count)` by
    /// increasing bound, the last one possibly infinite — interpolating linearly within the
    /// bucket that holds the rank. `None` without observations; a rank in the infinite bucket
    /// answers the highest finite bound.
    pub fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
        let total = buckets.last().map(|(_, count)| *count)?;
        if total <= 0.0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total;
        let (mut lower_bound, mut lower_count) = (0.0, 0.0);
        for &(upper, count) in buckets {
            if count >= rank {
                if !upper.is_finite() {
                    return Some(lower_bound);
                }
                let in_bucket = count - lower_count;
                if in_bucket <= 0.0 {
                    return Some(upper);
                }
                return Some(
                    lower_bound + (upper - lower_bound) * (rank - lower_count) / in_bucket,
                );
            }
            if upper.is_finite() {
                lower_bound = upper;
            }
            lower_count = count;
        }
        Some(lower_bound)
    }

    #[cfg(test)]
    mod tests {
        use super::quantile;

        #[test]
        fn interpolates_within_the_bucket_of_the_rank() {
            let buckets = [
                (0.01, 50.0),
                (0.1, 90.0),
                (1.0, 100.0),
                (f64::INFINITY, 100.0),
            ];
            assert!((quantile(&buckets, 0.5).unwrap() - 0.01).abs() < 1e-9);
            assert!((quantile(&buckets, 0.7).unwrap() - 0.055).abs() < 1e-9);
            assert!((quantile(&buckets, 0.99).unwrap() - 0.91).abs() < 1e-9);
            assert_eq!(quantile(&[], 0.5), None);
            assert_eq!(quantile(&[(1.0, 0.0), (f64::INFINITY, 0.0)], 0.5), None);
            assert_eq!(
                quantile(&[(0.5, 1.0), (f64::INFINITY, 10.0)], 0.99),
                Some(0.5)
            );
        }
    }
}

/// Reading Prometheus text exposition (format 0.0.4), sample by sample.
///
/// A small parser of the one format the service exports, written here because the
/// `prometheus-parse` crate drops samples whose label values hold braces, as the service's
/// route templates do (`route="/v1/orders/{id}"`). Comments and `# TYPE` lines are skipped:
/// histograms arrive as their `_bucket` (with `le`), `_sum` and `_count` samples.
pub mod exposition {
    /// One sample.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Sample {
        /// The metric name, with any `_bucket`, `_sum` or `_count` suffix.
        pub name: String,
        /// Its labels, in order.
        pub labels: Vec<(String, String)>,
        /// Its value (`+Inf`, `-Inf` and `NaN` included).
        pub value: f64,
    }

    impl Sample {
        /// The value of label `name`.
        pub fn label(&self, name: &str) -> Option<&str> {
            self.labels
                .iter()
                .find(|(label, _)| label == name)
                .map(|(_, value)| value.as_str())
        }
    }

    /// Every sample of `text`; a line that is not a valid sample is an error naming it.
    pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
        text.lines()
            .enumerate()
            .filter(|(_, line)| {
                let line = line.trim();
                !line.is_empty() && !line.starts_with('#')
            })
            .map(|(number, line)| {
                parse_line(line.trim()).ok_or_else(|| format!("line {}: `{line}`", number + 1))
            })
            .collect()
    }

    fn parse_value(text: &str) -> Option<f64> {
        match text {
            "+Inf" | "Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            "NaN" => Some(f64::NAN),
            other => other.parse().ok(),
        }
    }

    fn parse_line(line: &str) -> Option<Sample> {
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .unwrap_or(line.len());
        let name = &line[..name_end];
        if name.is_empty() {
            return None;
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices().peekable();
            loop {
                // Skip separators; `}` ends the labels.
                while let Some(&(_, c)) = chars.peek() {
                    if c == ',' || c.is_whitespace() {
                        chars.next();
                    } else {
                        break;
                    }
                }
                let (start, c) = chars.next()?;
                if c == '}' {
                    rest = &inner[start + 1..];
                    break;
                }
                let eq = inner[start..].find('=')? + start;
                let label = inner[start..eq].trim().to_owned();
                while chars.peek().is_some_and(|&(i, _)| i <= eq) {
                    chars.next();
                }
                if chars.next()?.1 != '"' {
                    return None;
                }
                let mut value = String::new();
                loop {
                    let (_, c) = chars.next()?;
                    match c {
                        '"' => break,
                        '\\' => match chars.next()?.1 {
                            'n' => value.push('\n'),
                            other => value.push(other),
                        },
                        other => value.push(other),
                    }
                }
                labels.push((label, value));
            }
        }
        let mut fields = rest.split_whitespace();
        let value = parse_value(fields.next()?)?;
        Some(Sample {
            name: name.to_owned(),
            labels,
            value,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_labels_with_braces_escapes_and_special_values() {
            let text = "# HELP http_requests_total Requests.\n\
                # TYPE http_requests_total counter\n\
                http_requests_total{method=\"GET\",route=\"/v1/orders/{id}\",status=\"200\"} 500\n\
                http_requests_total{method=\"POST\",route=\"/v1/orders\",status=\"503\",} 2 1700000000000\n\
                odd{text=\"a \\\"quoted\\\" \\\\ back\\nslash, and } brace\"} 1.5e3\n\
                lag_bucket{le=\"+Inf\"} +Inf\n\
                \n\
                plain 7\n";
            let samples = parse(text).unwrap();
            assert_eq!(samples.len(), 5);
            assert_eq!(samples[0].name, "http_requests_total");
            assert_eq!(samples[0].label("route"), Some("/v1/orders/{id}"));
            assert_eq!(samples[0].value, 500.0);
            assert_eq!(samples[1].label("status"), Some("503"));
            assert_eq!(samples[1].value, 2.0);
            assert_eq!(
                samples[2].label("text"),
                Some("a \"quoted\" \\ back\nslash, and } brace")
            );
            assert_eq!(samples[2].value, 1500.0);
            assert_eq!(samples[3].value, f64::INFINITY);
            assert_eq!(samples[4].labels, Vec::new());
            assert_eq!(samples[4].value, 7.0);
        }

        #[test]
        fn a_broken_line_is_an_error_naming_it_never_a_panic() {
            for bad in [
                "x{a=\"1\" 2",
                "x{a=1} 2",
                "x",
                "{a=\"1\"} 2",
                "x{a=\"1\"} two",
                "x{=",
                "é{",
            ] {
                assert!(parse(bad).is_err(), "{bad}");
            }
            assert!(parse("ok 1\nbroken{\n").unwrap_err().contains("line 2"));
        }
    }
}
