//! `GET /v1/orders/{id}/events`: server-sent events of an order's status. The first event is
//! the current status; each change follows as it happens on any replica (Redis pub/sub); the
//! stream ends after a terminal status, or when the service shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt as _};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::error::ApiError;
use super::orders::parse_id;
use crate::domain::order::{OrderId, OrderStatus};

/// The data of a `status` event.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StatusEvent {
    /// The order's id.
    #[schema(value_type = String, format = Uuid)]
    pub id: OrderId,
    /// `pending`, `processing`, `completed` or `failed`.
    #[schema(example = "completed")]
    pub status: &'static str,
}

/// One server-sent event as it travels: `event: status` and, as `data`, a [`StatusEvent`] in
/// JSON. The OpenAPI document describes the stream's items with this.
#[derive(Debug, utoipa::ToSchema)]
pub struct StatusEventFrame {
    /// Always `status`.
    #[schema(example = "status", pattern = "^status$")]
    pub event: &'static str,
    /// A `StatusEvent` as JSON, e.g. `{"id":"…","status":"completed"}`.
    pub data: String,
}

fn status_event(id: OrderId, status: OrderStatus) -> Event {
    let data = StatusEvent {
        id,
        status: status.as_str(),
    };
    let frame = StatusEventFrame {
        event: "status",
        data: serde_json::to_string(&data).unwrap_or_default(),
    };
    Event::default().event(frame.event).data(frame.data)
}

/// Streams status changes.
#[utoipa::path(
    get, path = "/v1/orders/{id}/events", tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "The order's UUID")),
    responses(
        (status = 200, description = "`text/event-stream` of `status` events, each carrying a `StatusEvent` as its data", content_type = "text/event-stream", body = StatusEventFrame),
        (status = 400, description = "Not a UUID", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown order", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = parse_id(&id)?;
    // Subscribe before reading the current status, so that no change falls in between.
    let changes = state.service.feed().subscribe();
    let (order, _) = state.service.get(id).await?;
    let first = order.status;
    let shutdown = state.shutdown.clone();
    let updates = stream::unfold(
        (changes, first.is_terminal()),
        move |(mut changes, done)| async move {
            if done {
                return None;
            }
            loop {
                match changes.recv().await {
                    Ok(change) if change.id == id => {
                        let event = status_event(id, change.status);
                        return Some((event, (changes, change.status.is_terminal())));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    let events = stream::once(async move { status_event(id, first) })
        .chain(updates)
        .take_until(async move { shutdown.cancelled().await })
        .map(Ok);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
