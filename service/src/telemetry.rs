//! Telemetry: tracing to stdout (JSON or pretty) and the Prometheus recorder behind
//! `/metrics`. Metric names are the contract in `slipway_contracts::metrics` (METRICS.md).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use slipway_contracts::metrics as names;

use crate::config::LogFormat;

/// Installs the tracing subscriber (once; later calls are ignored, as in tests).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,aws_config=warn,aws_smithy_runtime=warn")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Latency buckets (seconds) for HTTP and processing: 0.5 ms to 10 s.
const LATENCY_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0,
];
/// Queue-lag buckets (seconds): 1 ms to 5 minutes.
const LAG_BUCKETS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// The process's Prometheus recorder, installed on first call.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(names::HTTP_REQUEST_DURATION_SECONDS.into()),
                    &LATENCY_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::WORKER_PROCESSING_DURATION_SECONDS.into()),
                        &LATENCY_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::WORKER_QUEUE_LAG_SECONDS.into()),
                        &LAG_BUCKETS,
                    )
                });
            let recorder = match builder {
                Ok(builder) => builder.build_recorder(),
                Err(error) => {
                    tracing::warn!(%error, "histogram buckets rejected; using summaries");
                    PrometheusBuilder::new().build_recorder()
                }
            };
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        names::HTTP_REQUESTS_TOTAL,
        "HTTP requests served, by method, route template and status."
    );
    metrics::describe_histogram!(
        names::HTTP_REQUEST_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "HTTP request duration."
    );
    metrics::describe_gauge!(names::WORKER_POOL_SIZE, "Configured number of workers.");
    metrics::describe_gauge!(names::WORKER_BUSY, "Workers processing a message now.");
    metrics::describe_gauge!(
        names::WORKER_MESSAGES_IN_FLIGHT,
        "Messages received and not yet deleted or released."
    );
    metrics::describe_counter!(
        names::WORKER_MESSAGES_TOTAL,
        "Messages finished, by outcome (ok, retry, dead_letter)."
    );
    metrics::describe_histogram!(
        names::WORKER_PROCESSING_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Time to process one message."
    );
    metrics::describe_histogram!(
        names::WORKER_QUEUE_LAG_SECONDS,
        metrics::Unit::Seconds,
        "Now minus SentTimestamp when work starts."
    );
    metrics::describe_counter!(
        names::ORDER_CACHE_TOTAL,
        "Order reads by cache result (hit, miss)."
    );
}
