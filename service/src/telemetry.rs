//! Telemetry: tracing to stdout (JSON or pretty), the Prometheus recorder behind `/metrics`
//! and its upkeep, and how panics are reported. Metric names are the contract in
//! `slipway_contracts::metrics` (METRICS.md).

use std::any::Any;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use slipway_contracts::metrics as names;

use crate::config::LogFormat;

/// Installs the tracing subscriber, writing to stdout (once; later calls are ignored, as in
/// tests), and OpenTelemetry's export when the environment asks for it (see
/// [`crate::otel`]). Keep the guard until exit: dropping it flushes the last spans.
pub fn init_tracing(format: LogFormat) -> crate::otel::OtelGuard {
    init_tracing_to(format, std::io::stdout)
}

/// Installs the tracing subscriber writing to `writer` (tests capture the log this way).
///
/// Two layers, each with its own filter: the log (`RUST_LOG`, default `info`) and, when
/// traces are on, OpenTelemetry, which takes the service's spans down to DEBUG (the spans
/// made for tracing only: statements, commands, calls) and nothing of other crates.
pub fn init_tracing_to<W>(format: LogFormat, writer: W) -> crate::otel::OtelGuard
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,aws_config=warn,aws_smithy_runtime=warn")
    });
    let log = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
    };
    let (tracer, guard) = crate::otel::tracer();
    let traces = tracer.map(|tracer| {
        // No code location, thread or busy/idle attributes: each is work on every span (the
        // timings on every poll of a future) that a request's journey does not need.
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("service", tracing::Level::DEBUG),
            )
    });
    let _ = tracing_subscriber::registry()
        .with(log)
        .with(traces)
        .try_init();
    guard
}

/// How often the recorder's upkeep runs: it drains histogram samples into their buckets
/// (otherwise they pile up until the next scrape, without bound when nobody scrapes).
pub const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Runs `handle`'s upkeep every `every` until `shutdown`.
pub fn spawn_metrics_upkeep(
    handle: PrometheusHandle,
    every: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => handle.run_upkeep(),
            }
        }
    })
}

/// The message of a panic's payload (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic with a non-string payload)")
}

/// Logs a panic of `task` with its message and counts it in `panics_total`.
pub fn report_panic(task: &'static str, payload: &(dyn Any + Send)) {
    let message = panic_message(payload);
    tracing::error!(task, panic = message, "a task panicked");
    metrics::counter!(names::PANICS_TOTAL, "task" => task).increment(1);
}

/// Reports how a background task ended: a panic is logged and counted; a cancellation is
/// not an error.
pub fn report_task_end(task: &'static str, ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended
        && error.is_panic()
    {
        report_panic(task, error.into_panic().as_ref());
    }
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
            let recorder = build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            describe();
            zero_counters();
            handle
        })
        .clone()
}

/// A recorder with the service's histogram buckets (not installed).
pub fn build_recorder() -> metrics_exporter_prometheus::PrometheusRecorder {
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
    match builder {
        Ok(builder) => builder.build_recorder(),
        Err(error) => {
            tracing::warn!(%error, "histogram buckets rejected; using summaries");
            PrometheusBuilder::new().build_recorder()
        }
    }
}

/// Counters of rare events start at 0 for every label value, so that they are exported (and
/// an alert's `increase()` sees the first one) before anything happened.
fn zero_counters() {
    for step in names::UNDO_STEPS {
        metrics::counter!(names::ORDER_CREATE_UNDO_FAILURES_TOTAL, "step" => step).increment(0);
    }
    for task in names::PANIC_TASKS {
        metrics::counter!(names::PANICS_TOTAL, "task" => task).increment(0);
    }
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
        names::ORDER_CREATE_UNDO_FAILURES_TOTAL,
        "Undo steps of a failed order creation that failed too, by step (the log names the order)."
    );
    metrics::describe_counter!(
        names::PANICS_TOTAL,
        "Panics caught, by task (http_handler, worker, poller, deleter, status_feed, metrics_upkeep)."
    );
    metrics::describe_counter!(
        names::ORDER_CACHE_TOTAL,
        "Order reads by cache result (hit, miss)."
    );
}
