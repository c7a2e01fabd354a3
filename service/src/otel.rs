//! OpenTelemetry tracing: the service's spans exported over OTLP/HTTP (protobuf), configured
//! only by OpenTelemetry's standard variables — `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER`/`_ARG`, `OTEL_SDK_DISABLED`. With no endpoint set there is no
//! exporter, no layer and no span beyond the logs' own: the spans made only for tracing are
//! at DEBUG under the `service` target and no subscriber is interested in them, so each costs
//! a cached callsite check.
//!
//! The propagator is W3C Trace Context: `traceparent` on HTTP requests in and on SQS
//! messages out (see [`crate::trace_context`]).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The target of the log's own spans (`request`, `message`): they carry what log lines show
/// (request id, message id, trace id) and are not exported; the trace's spans are separate.
pub const LOG_TARGET: &str = "slipway::log";

/// The service name when `OTEL_SERVICE_NAME` is not set.
pub const DEFAULT_SERVICE_NAME: &str = "slipway-service";

/// Keeps the exporter running; dropping it flushes what is buffered and stops it.
#[derive(Debug, Default)]
pub struct OtelGuard(Option<SdkTracerProvider>);

impl Drop for OtelGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("warning: the last spans could not be exported: {error}");
        }
    }
}

/// Whether the environment asks for traces (read once: this is on every request's path).
pub fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(read_enabled)
}

fn read_enabled() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        || std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|v| v.eq_ignore_ascii_case("none"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// The tracer to hand `tracing-opentelemetry`, when the environment asks for traces; the
/// guard that flushes it at exit.
pub fn tracer() -> (Option<SdkTracer>, OtelGuard) {
    if !enabled() {
        return (None, OtelGuard(None));
    }
    if std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").is_ok_and(|p| p.trim() == "grpc") {
        eprintln!(
            "warning: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not built in; exporting over http/protobuf"
        );
    }
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("warning: traces are off: cannot build the OTLP exporter: {error}");
            return (None, OtelGuard(None));
        }
    };
    let mut resource = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name(DEFAULT_SERVICE_NAME);
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let tracer = provider.tracer("service");
    (Some(tracer), OtelGuard(Some(provider)))
}
