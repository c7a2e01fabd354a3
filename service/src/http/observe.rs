//! Observability at the HTTP edge: the request metrics (count and duration by method, route
//! template and status), recorded by [`super::access_log`], and `GET /metrics` in Prometheus
//! text.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use slipway_contracts::metrics as names;

use super::AppState;

/// Records `http_requests_total` and `http_request_duration_seconds` for one request (called
/// by the access log's middleware, which has the labels at hand).
pub fn record(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_string()),
        ("route", route.to_string()),
        ("status", status.to_string()),
    ];
    metrics::counter!(names::HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(names::HTTP_REQUEST_DURATION_SECONDS, &labels)
        .record(elapsed.as_secs_f64());
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
