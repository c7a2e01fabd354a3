//! Developer endpoints, outside the AWS API (as LocalStack offers): look at queues without
//! changing them. Nothing here alters visibility, receive counts or statistics.
//!
//! - `GET /_slipway/queues` — every queue with its depths (visible, in flight, delayed), totals
//!   (sent, received, deleted), rates (per second over the last 10 whole seconds), the age of
//!   its oldest message, its dead-letter target and the fault rules fired on it.
//! - `GET /_slipway/queues/{name}/messages?limit=N&region=R` — up to N (default 100, at most
//!   1,000) messages in send order, in any state, with their attributes; of the queue in
//!   region R (the emulator's default region when not given).
//! - `GET /_slipway/messages/{id}/history` — what happened to one message, oldest first
//!   (sent, delay ended, received with its receive count and visibility timeout, visibility
//!   changed or run out, deleted, dead-lettered, moved, expired, purged), the time it spent
//!   delayed, waiting and in flight, and the trace it belongs to; see [`crate::history`].
//!   404 for a message the emulator no longer remembers.
//! - `GET /_slipway/clock`, `POST /_slipway/clock/advance` — the virtual clock (`clock.rs`).
//! - `GET|POST|DELETE /_slipway/faults`, `DELETE /_slipway/faults/{id}` — fault rules
//!   (`faults.rs`).
//! - `GET|PUT|POST /_slipway/snapshot` — the whole state as one image, its replacement, and
//!   copies of its queues under new names (`snapshot.rs`).

pub mod clock;
pub mod faults;
pub mod snapshot;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Serialize;

use crate::core::rates::Rates;
use crate::core::{AttributeData, MessageState, Sqs};
use crate::faults::Faults;
use crate::history::History;

/// One queue's statistics.
#[derive(Debug, Serialize)]
pub struct QueueStats {
    /// Name.
    pub name: String,
    /// Region.
    pub region: String,
    /// ARN.
    pub arn: String,
    /// FIFO queue.
    pub fifo: bool,
    /// Ready to receive.
    pub visible: usize,
    /// Received, not yet deleted or visible again.
    pub in_flight: usize,
    /// Waiting for their delay.
    pub delayed: usize,
    /// Messages accepted since creation.
    pub sent: u64,
    /// Deliveries since creation.
    pub received: u64,
    /// Deletes since creation.
    pub deleted: u64,
    /// Sends, receives and deletes per second over the last 10 whole seconds.
    pub rates: Rates,
    /// Age of the oldest message, in seconds.
    pub oldest_age_seconds: Option<f64>,
    /// The DLQ's ARN, when the queue has a RedrivePolicy.
    pub dead_letter_target_arn: Option<String>,
    /// The RedrivePolicy's maxReceiveCount.
    pub max_receive_count: Option<u32>,
    /// Fault rules fired on requests naming this queue.
    pub faults_fired: u64,
}

/// A message as peeked.
#[derive(Debug, Serialize)]
pub struct PeekedMessage {
    /// Message id.
    pub message_id: String,
    /// Body.
    pub body: String,
    /// `visible`, `in_flight` or `delayed`.
    pub state: &'static str,
    /// When it becomes visible (ms since epoch), for in-flight and delayed messages.
    pub visible_at: Option<u64>,
    /// Receives so far.
    pub receive_count: u32,
    /// Sent at (ms since epoch).
    pub sent_timestamp: u64,
    /// User attributes (binary values in base64).
    pub attributes: BTreeMap<String, String>,
    /// Where it was dead-lettered from.
    pub dead_letter_source_arn: Option<String>,
    /// FIFO group.
    pub message_group_id: Option<String>,
}

/// `GET /_slipway/queues`.
pub async fn queues(
    State(sqs): State<Arc<Sqs>>,
    Extension(faults): Extension<Arc<Faults>>,
) -> Json<Vec<QueueStats>> {
    let now = sqs.now();
    let stats = sqs
        .all_queues()
        .iter()
        .map(|queue| {
            let stats = sqs.stats(queue);
            let (depths, totals, oldest) = (stats.depths, stats.totals, stats.oldest_sent_at);
            let config = queue.config();
            QueueStats {
                name: queue.name.clone(),
                region: queue.scope.region.clone(),
                arn: queue.arn.clone(),
                fifo: config.fifo,
                visible: depths.visible,
                in_flight: depths.in_flight,
                delayed: depths.delayed,
                sent: totals.sent,
                received: totals.received,
                deleted: totals.deleted,
                rates: stats.rates,
                oldest_age_seconds: oldest.map(|at| now.saturating_sub(at) as f64 / 1000.0),
                dead_letter_target_arn: config
                    .redrive_policy
                    .as_ref()
                    .map(|p| p.dead_letter_target_arn.clone()),
                max_receive_count: config.redrive_policy.as_ref().map(|p| p.max_receive_count),
                faults_fired: faults.fired_for(&queue.name),
            }
        })
        .collect();
    Json(stats)
}

/// `GET /_slipway/queues/{name}/messages`.
pub async fn messages(
    State(sqs): State<Arc<Sqs>>,
    Path(name): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(limit)) if (1..=1000).contains(&limit) => limit,
        Some(_) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": "limit must be 1 to 1000"})),
            )
                .into_response();
        }
    };
    let scope = match query.get("region") {
        Some(region) => sqs.settings().scope().in_region(region),
        None => sqs.settings().scope(),
    };
    let Ok(queue) = sqs.queue(&scope, &name) else {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": format!("no queue named {name}")})),
        )
            .into_response();
    };
    let peeked: Vec<PeekedMessage> = sqs
        .peek(&queue, limit)
        .into_iter()
        .map(|p| {
            let (state, visible_at) = match p.state {
                MessageState::Ready => ("visible", None),
                MessageState::InFlight(at) => ("in_flight", Some(at)),
                MessageState::Delayed(at) => ("delayed", Some(at)),
            };
            let m = p.message;
            PeekedMessage {
                message_id: m.id.to_string(),
                body: m.body.to_string(),
                state,
                visible_at,
                receive_count: m.receive_count,
                sent_timestamp: m.sent_at,
                attributes: m
                    .attributes
                    .iter()
                    .map(|(k, v)| {
                        let value = match &v.value {
                            AttributeData::Text(s) => s.clone(),
                            AttributeData::Bytes(b) => {
                                base64::engine::general_purpose::STANDARD.encode(b)
                            }
                        };
                        (k.clone(), value)
                    })
                    .collect(),
                dead_letter_source_arn: m.dead_letter_source_arn().map(str::to_string),
                message_group_id: m.group_id.as_deref().map(str::to_string),
            }
        })
        .collect();
    Json(peeked).into_response()
}

/// `GET /_slipway/messages/{id}/history`.
pub async fn message_history(
    State(sqs): State<Arc<Sqs>>,
    Extension(history): Extension<Option<Arc<History>>>,
    Path(id): Path<String>,
) -> Response {
    let error = |status: StatusCode, message: String| {
        (status, Json(serde_json::json!({"error": message}))).into_response()
    };
    let Ok(message_id) = uuid::Uuid::parse_str(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not a message id (a UUID, as SendMessage returns)"),
        );
    };
    let Some(history) = history else {
        return error(
            StatusCode::NOT_FOUND,
            "this emulator keeps no message history (it was started with a capacity of 0)".into(),
        );
    };
    match history.get(message_id, sqs.now_micros()) {
        Some(view) => Json(view).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!(
                "no message {message_id} in the emulator's history (unknown, or forgotten: it keeps the last {} messages)",
                history.capacity()
            ),
        ),
    }
}
