//! Fault rules over HTTP: `POST /_slipway/faults` adds one (400 with the reason when it is
//! wrong), `GET /_slipway/faults` lists them with how often each fired,
//! `DELETE /_slipway/faults/{id}` and `DELETE /_slipway/faults` remove them. See
//! [`crate::faults`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use crate::faults::{Faults, RuleSpec, RuleView};

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// `POST /_slipway/faults`.
pub async fn add(Extension(faults): Extension<Arc<Faults>>, body: Bytes) -> Response {
    let spec = match serde_json::from_slice::<RuleSpec>(&body) {
        Ok(spec) => spec,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a fault rule: {e}")),
    };
    match faults.add(spec) {
        Ok(view) => (StatusCode::CREATED, Json(view)).into_response(),
        Err(reason) => refuse(StatusCode::BAD_REQUEST, reason),
    }
}

/// `GET /_slipway/faults`.
pub async fn list(Extension(faults): Extension<Arc<Faults>>) -> Json<Vec<RuleView>> {
    Json(faults.list())
}

/// `DELETE /_slipway/faults/{id}`.
pub async fn remove(Extension(faults): Extension<Arc<Faults>>, Path(id): Path<String>) -> Response {
    if faults.remove(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        refuse(StatusCode::NOT_FOUND, format!("no fault rule {id:?}"))
    }
}

/// `DELETE /_slipway/faults`.
pub async fn clear(Extension(faults): Extension<Arc<Faults>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "removed": faults.clear() }))
}
