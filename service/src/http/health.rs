//! `GET /health` (readiness: Postgres, Redis and SQS, each checked with a timeout, 503 when one
//! is down) and `GET /livez` (liveness: the process answers; no dependency is touched).

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::collections::BTreeMap;

use super::AppState;

/// How long one dependency check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// One dependency's state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// `up` or `down`.
    pub status: &'static str,
    /// How long the check took.
    pub latency_ms: u64,
    /// Why it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The readiness report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// Per dependency: `postgres`, `redis`, `sqs`.
    pub checks: BTreeMap<&'static str, Check>,
}

async fn check<F, E>(probe: F) -> Check
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let result = tokio::time::timeout(CHECK_TIMEOUT, probe).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(Ok(())) => Check {
            status: "up",
            latency_ms,
            error: None,
        },
        Ok(Err(error)) => Check {
            status: "down",
            latency_ms,
            error: Some(error.to_string()),
        },
        Err(_) => Check {
            status: "down",
            latency_ms,
            error: Some(format!("no answer within {CHECK_TIMEOUT:?}")),
        },
    }
}

/// Readiness.
#[utoipa::path(get, path = "/health", tag = "operations", responses(
    (status = 200, description = "Every dependency answers", body = HealthReport),
    (status = 503, description = "A dependency is down", body = HealthReport),
))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let sqs = async {
        state
            .sqs
            .get_queue_attributes()
            .queue_url(&state.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    };
    let (postgres, redis, sqs) = tokio::join!(
        check(state.service.ping_repository()),
        check(state.redis.ping()),
        check(sqs)
    );
    let all_up = [&postgres, &redis, &sqs].iter().all(|c| c.status == "up");
    let report = HealthReport {
        status: if all_up { "ok" } else { "unavailable" },
        checks: BTreeMap::from([("postgres", postgres), ("redis", redis), ("sqs", sqs)]),
    };
    (
        if all_up {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(report),
    )
}

/// Liveness.
#[utoipa::path(get, path = "/livez", tag = "operations", responses((status = 200, description = "The process answers")))]
pub async fn livez() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}
