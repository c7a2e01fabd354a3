//! The access log: one INFO line per request — method, route template, status, duration and
//! request id — and the request metrics ([`super::observe::record`]) from the same labels,
//! and a `request` span around the request, so that every line logged while it
//! is served carries its request id (in JSON logs under `span`, in pretty logs as a prefix).
//!
//! It sits inside the request-id layers (the id is set by then) and outside the panic
//! catcher, so a panic is logged inside the request's span and its 500 is in the access log
//! and the metrics.
//!
//! Inside it, the request's OpenTelemetry server span (OpenTelemetry's HTTP conventions: named
//! `METHOD /route/{template}`, `http.request.method`, `http.route`, `http.response.status_code`,
//! an error status on a 5xx), continuing a caller's W3C `traceparent`; its `trace_id` and
//! `span_id` are recorded on the log's span, so every line logged inside carries them.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The routes of probes and scrapes, which are logged but not traced.
const OPERATIONS: [&str; 3] = ["/health", "/livez", "/metrics"];

/// Logs the request when its response head is ready.
pub async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    // The log's span: what every line logged for the request carries.
    let span = tracing::info_span!(
        target: crate::otel::LOG_TARGET,
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    // The trace's server span (seen only by OpenTelemetry). Probes and scrapes are not
    // traced: a dashboard scraping `/metrics` every second would bury every journey.
    let server = if OPERATIONS.contains(&route.as_str()) {
        tracing::Span::none()
    } else {
        tracing::debug_span!(
            parent: &span,
            "request",
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            http.request.method = %method,
            http.route = %route,
            url.path = %request.uri().path(),
            http.response.status_code = tracing::field::Empty,
        )
    };
    crate::trace_context::continue_trace(
        &server,
        crate::trace_context::from_headers(request.headers()),
        &span,
    );
    let response = next
        .run(request)
        .instrument(server.clone())
        .instrument(span.clone())
        .await;
    let status = response.status().as_u16();
    server.record("http.response.status_code", status);
    if status >= 500 {
        server.record("otel.status_code", "error");
    }
    let elapsed = started.elapsed();
    super::observe::record(method.as_str(), &route, status, elapsed);
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            target: "access",
            method = %method,
            route = %route,
            status,
            duration_ms = format_args!("{duration_ms:.3}"),
            request_id = %request_id,
            "request"
        );
    });
    response
}
