//! The access log: one INFO line per request — method, route template, status, duration and
//! request id — and a `request` span around the request, so that every line logged while it
//! is served carries its request id (in JSON logs under `span`, in pretty logs as a prefix).
//!
//! It sits inside the request-id layers (the id is set by then) and outside the panic
//! catcher, so a panic is logged inside the request's span and its 500 is in the access log.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

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
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
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
