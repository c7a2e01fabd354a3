//! Traces as devstack's collector keeps them and hands them out: one [`Span`] per operation,
//! in the shape `devstack trace --json` prints (an array of them) and the control channel
//! carries to the TUI. The fields follow OTLP's span (ids in lowercase hex, times in ns since
//! the epoch), flattened for scripts: the resource's `service.name` becomes `service`, the
//! attributes an object of plain JSON values.
//!
//! The attributes that find a journey: [`ORDER_ID`] (set by the service on every span about
//! an order) and [`MESSAGE_ID`] (OpenTelemetry's `messaging.message.id`, set on SQS spans and
//! by the emulator).

use serde::{Deserialize, Serialize};

/// The span attribute holding the order an operation is about.
pub const ORDER_ID: &str = "order.id";
/// The span attribute holding an SQS message id (OpenTelemetry's messaging conventions).
pub const MESSAGE_ID: &str = "messaging.message.id";

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanStatus {
    /// Not said.
    #[default]
    Unset,
    /// Succeeded.
    Ok,
    /// Failed.
    Error,
}

/// What part a span plays (OTLP's `SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// Inside a process.
    #[default]
    Internal,
    /// Serving a request.
    Server,
    /// Making a request.
    Client,
    /// Sending a message.
    Producer,
    /// Receiving or processing a message.
    Consumer,
}

/// One span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// The parent's span id; `null` at a root.
    pub parent_span_id: Option<String>,
    /// What it did (`POST /v1/orders`, `orders send`, `process`, …).
    pub name: String,
    /// The resource's `service.name` (`unknown_service` when the sender set none).
    pub service: String,
    /// Its kind.
    #[serde(default)]
    pub kind: SpanKind,
    /// Start, in ns since the epoch.
    pub start_unix_nano: u64,
    /// End, in ns since the epoch.
    pub end_unix_nano: u64,
    /// How it ended.
    pub status: SpanStatus,
    /// The status's description, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Its attributes, as plain JSON values (arrays for arrays, strings for bytes in hex).
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

impl Span {
    /// How long it took, in ns.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    /// A string attribute, if set.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(serde_json::Value::as_str)
    }
}

/// Which journey to look up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "id", rename_all = "snake_case")]
pub enum TraceQuery {
    /// Every span of one trace.
    TraceId(String),
    /// Every span of the traces that hold a span with [`ORDER_ID`] = this.
    OrderId(String),
    /// Every span of the traces that hold a span with [`MESSAGE_ID`] = this.
    MessageId(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_is_flat_json_with_a_null_parent_at_a_root() {
        let span = Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "b7ad6b7169203331".into(),
            parent_span_id: None,
            name: "POST /v1/orders".into(),
            service: "service".into(),
            kind: SpanKind::Server,
            start_unix_nano: 1,
            end_unix_nano: 5,
            status: SpanStatus::Ok,
            status_message: None,
            attributes: serde_json::Map::from_iter([(
                ORDER_ID.to_string(),
                serde_json::Value::from("o-1"),
            )]),
        };
        let json = serde_json::to_value(&span).unwrap();
        assert_eq!(json["parent_span_id"], serde_json::Value::Null);
        assert_eq!(json["status"], "ok");
        assert_eq!(json["attributes"]["order.id"], "o-1");
        assert_eq!(span.duration_nanos(), 4);
        let query = serde_json::to_string(&TraceQuery::OrderId("o-1".into())).unwrap();
        assert_eq!(query, r#"{"by":"order_id","id":"o-1"}"#);
    }
}
