//! The emulator's virtual clock over HTTP: `GET /_slipway/clock` reads it,
//! `POST /_slipway/clock/advance` with `{"seconds": N}` moves it forward. Time never goes
//! backwards; timestamps the emulator reports (`SentTimestamp`, …) are in its time.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::core::Sqs;

/// The longest single step: ten years, far past any retention period (14 days).
const MAX_STEP_SECONDS: f64 = 10.0 * 365.0 * 86_400.0;

/// What `GET /_slipway/clock` returns.
#[derive(Debug, Serialize)]
pub struct ClockReading {
    /// The emulator's now, ms since the Unix epoch.
    pub now_unix_ms: u64,
    /// How far it is ahead of the wall clock, ms.
    pub offset_ms: u64,
}

/// The body of `POST /_slipway/clock/advance`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

fn reading(sqs: &Sqs) -> ClockReading {
    ClockReading {
        now_unix_ms: sqs.now(),
        offset_ms: sqs.clock_offset(),
    }
}

/// `GET /_slipway/clock`.
pub async fn read(State(sqs): State<Arc<Sqs>>) -> Json<ClockReading> {
    Json(reading(&sqs))
}

/// `POST /_slipway/clock/advance`.
pub async fn advance(State(sqs): State<Arc<Sqs>>, body: Bytes) -> Response {
    let refuse = |message: String| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": message })),
        )
            .into_response()
    };
    let step = match serde_json::from_slice::<Advance>(&body) {
        Ok(step) => step.seconds,
        Err(e) => return refuse(format!("expected {{\"seconds\": N}}: {e}")),
    };
    if !step.is_finite() || step < 0.0 {
        return refuse(format!(
            "seconds must be a number of 0 or more (time never goes backwards), not {step}"
        ));
    }
    if step > MAX_STEP_SECONDS {
        return refuse(format!(
            "seconds must be at most {MAX_STEP_SECONDS} (ten years) in one step, not {step}"
        ));
    }
    if !sqs.advance_clock(Duration::from_secs_f64(step)) {
        return (
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "error": "this emulator runs on a clock that cannot be moved"
            })),
        )
            .into_response();
    }
    Json(reading(&sqs)).into_response()
}
