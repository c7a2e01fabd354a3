//! `GET /_slipway/snapshot` and `PUT /_slipway/snapshot`: the emulator's whole state (every
//! queue with its attributes, tags and permissions, every message) as one binary image
//! ([`crate::persist::image`]), and its replacement by one. `devstack snapshot save|load`
//! uses them; so can any tool. `POST /_slipway/snapshot?suffix=S` adds copies of an image's
//! queues named with the suffix, beside the others ([`crate::core::copies`]): a test's own
//! copy of a snapshot's queues.
//!
//! A `PUT` or `POST` decodes the whole image first: a damaged or foreign one is a 400 with
//! the reason and changes nothing (a `POST` whose copy would take a name in use is a 409). A
//! persistent emulator compacts right after, so what was loaded is on disk before the answer.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::core::Sqs;
use crate::core::copies::CopyError;
use crate::persist::{Store, image};

/// The media type of an image.
pub const CONTENT_TYPE: &str = "application/vnd.slipway.sqs-image";

/// The persistent store a loaded image must reach, when the emulator has one.
#[derive(Clone, Default)]
pub struct Persisted(pub Option<Arc<Store>>);

impl std::fmt::Debug for Persisted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Persisted").field(&self.0.is_some()).finish()
    }
}

/// `GET /_slipway/snapshot`.
pub async fn save(State(sqs): State<Arc<Sqs>>) -> Response {
    match tokio::task::spawn_blocking(move || image::encode(&sqs)).await {
        Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], bytes).into_response(),
        Ok(Err(e)) => failed(format!("cannot encode the image: {e}")),
        Err(e) => failed(format!("the encoder stopped: {e}")),
    }
}

/// `PUT /_slipway/snapshot`.
pub async fn load(
    State(sqs): State<Arc<Sqs>>,
    Extension(persisted): Extension<Persisted>,
    body: Bytes,
) -> Response {
    let changes = match image::decode(&body) {
        Ok(changes) => changes,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("{e}; nothing was changed\n"),
            )
                .into_response();
        }
    };
    let loaded = tokio::task::spawn_blocking(move || {
        let queues = sqs.replace_all(changes);
        if let Some(store) = persisted.0 {
            store.compact(&sqs).map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(queues)
    })
    .await;
    match loaded {
        Ok(Ok(queues)) => axum::Json(serde_json::json!({ "queues": queues })).into_response(),
        Ok(Err(e)) => failed(format!("loaded, but not saved to the data directory: {e}")),
        Err(e) => failed(format!("the loader stopped: {e}")),
    }
}

/// The query of `POST /_slipway/snapshot`.
#[derive(Debug, serde::Deserialize)]
pub struct CopyQuery {
    /// Added to every queue's name (before `.fifo`).
    pub suffix: String,
}

/// `POST /_slipway/snapshot?suffix=S`.
pub async fn copy(
    State(sqs): State<Arc<Sqs>>,
    Extension(persisted): Extension<Persisted>,
    Query(query): Query<CopyQuery>,
    body: Bytes,
) -> Response {
    let changes = match image::decode(&body) {
        Ok(changes) => changes,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("{e}; nothing was changed\n"),
            )
                .into_response();
        }
    };
    let added = tokio::task::spawn_blocking(move || {
        let copied = sqs.add_copies(changes, &query.suffix);
        if let (Ok(_), Some(store)) = (&copied, persisted.0) {
            store.compact(&sqs).map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(copied)
    })
    .await;
    let refused = |status, why: CopyError| (status, format!("{why}; nothing was added\n"));
    match added {
        Ok(Ok(Ok(copied))) => axum::Json(serde_json::json!({ "queues": copied })).into_response(),
        Ok(Ok(Err(why @ CopyError::Taken(_)))) => {
            refused(StatusCode::CONFLICT, why).into_response()
        }
        Ok(Ok(Err(why))) => refused(StatusCode::BAD_REQUEST, why).into_response(),
        Ok(Err(e)) => failed(format!("added, but not saved to the data directory: {e}")),
        Err(e) => failed(format!("the loader stopped: {e}")),
    }
}

fn failed(reason: String) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, reason + "\n").into_response()
}
