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
/// The attribute of the emulator's spans naming the part of a message's life they cover:
/// `waiting`, `delayed`, `in_flight`, `visibility_change`, `deleted`, `dead_lettered`,
/// `moved`, `expired`, `purged`.
pub const QUEUE_PHASE: &str = "slipway.sqs.phase";
/// The attribute of the emulator's spans holding the message's receive count.
pub const RECEIVE_COUNT: &str = "slipway.sqs.receive_count";

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
    /// Spans it is linked to (OpenTelemetry span links), often in other traces: a message
    /// processed in a batch links to the span its batch's work ran under.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<SpanLink>,
}

/// A link from one span to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanLink {
    /// The linked span's trace, 32 lowercase hex digits.
    pub trace_id: String,
    /// The linked span, 16 lowercase hex digits.
    pub span_id: String,
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

    /// The glyph a waterfall draws this span's bar with: the queue's phases as what they are
    /// (waiting `░`, delayed `·`, in flight `▓`, a dead letter or a loss `✖`, a delete `✓`, a
    /// visibility change `↺`), any other span `█`.
    pub fn bar_glyph(&self) -> &'static str {
        match self.attribute(QUEUE_PHASE) {
            Some("waiting") => "░",
            Some("delayed") => "·",
            Some("in_flight") => "▓",
            Some("dead_lettered" | "expired" | "purged") => "✖",
            Some("deleted") => "✓",
            Some("visibility_change") => "↺",
            _ => "█",
        }
    }

    /// For the emulator's in-flight span of a redelivered message: its receive count (2 for
    /// the first redelivery).
    pub fn redelivery(&self) -> Option<u64> {
        let count = self.attributes.get(RECEIVE_COUNT)?.as_u64()?;
        (self.attribute(QUEUE_PHASE) == Some("in_flight") && count > 1).then_some(count)
    }
}

/// One trace in a list of recent ones (the TUI's Traces view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// Its id.
    pub trace_id: String,
    /// The root span's name (the earliest span's when the root was not received).
    pub root: String,
    /// The services that took part, in order of first appearance.
    pub services: Vec<String>,
    /// The earliest start, in ns since the epoch.
    pub start_unix_nano: u64,
    /// From the earliest start to the latest end, in ns.
    pub duration_nanos: u64,
    /// Spans received.
    pub spans: usize,
    /// Spans with an error status.
    pub errors: usize,
    /// The order it is about, when a span says ([`ORDER_ID`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

impl TraceSummary {
    /// The summary of one trace's spans (`spans` all share a trace id; none is empty).
    pub fn of(spans: &[&Span]) -> Option<Self> {
        let first = spans.iter().min_by_key(|s| s.start_unix_nano)?;
        let start = first.start_unix_nano;
        let end = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(start);
        let root = spans
            .iter()
            .find(|s| s.parent_span_id.is_none())
            .unwrap_or(first);
        let mut services: Vec<String> = Vec::new();
        let mut by_start: Vec<&&Span> = spans.iter().collect();
        by_start.sort_by_key(|s| s.start_unix_nano);
        for span in by_start {
            if !services.contains(&span.service) {
                services.push(span.service.clone());
            }
        }
        Some(Self {
            trace_id: first.trace_id.clone(),
            root: root.name.clone(),
            services,
            start_unix_nano: start,
            duration_nanos: end.saturating_sub(start),
            spans: spans.len(),
            errors: spans
                .iter()
                .filter(|s| s.status == SpanStatus::Error)
                .count(),
            order_id: spans
                .iter()
                .find_map(|s| s.attribute(ORDER_ID))
                .map(str::to_string),
        })
    }
}

/// One row of a waterfall: which span, how deep under its parent, and where its bar lies on
/// the trace's time line (fractions of the whole, 0.0–1.0). `devstack trace` and the TUI draw
/// the same rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaterfallRow {
    /// The span's index in the slice given.
    pub index: usize,
    /// 0 for a root; a span whose parent was not received is drawn as a root.
    pub depth: usize,
    /// Where its bar starts.
    pub offset: f64,
    /// How long its bar is.
    pub width: f64,
}

/// The rows of one trace's spans: each span under its parent (children by start time), depth
/// first.
pub fn waterfall(spans: &[Span]) -> Vec<WaterfallRow> {
    use std::collections::{HashMap, HashSet};
    let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
    let end = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(start);
    let total = end.saturating_sub(start).max(1) as f64;
    let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
    for (index, span) in spans.iter().enumerate() {
        let parent = span
            .parent_span_id
            .as_deref()
            .filter(|p| ids.contains(p) && *p != span.span_id);
        children.entry(parent).or_default().push(index);
    }
    for list in children.values_mut() {
        list.sort_by_key(|&i| (spans[i].start_unix_nano, spans[i].end_unix_nano));
    }
    let mut rows = Vec::with_capacity(spans.len());
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|&i| (i, 0)).collect())
        .unwrap_or_default();
    let mut seen = HashSet::new();
    while let Some((index, depth)) = stack.pop() {
        if !seen.insert(index) {
            continue;
        }
        let span = &spans[index];
        rows.push(WaterfallRow {
            index,
            depth,
            offset: span.start_unix_nano.saturating_sub(start) as f64 / total,
            width: span.duration_nanos() as f64 / total,
        });
        if let Some(kids) = children.get(&Some(span.span_id.as_str())) {
            stack.extend(kids.iter().rev().map(|&i| (i, depth + 1)));
        }
    }
    rows
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

    fn span(id: &str, parent: Option<&str>, start: u64, end: u64) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(String::from),
            name: id.into(),
            service: if id == "c" { "worker" } else { "api" }.into(),
            kind: SpanKind::Internal,
            start_unix_nano: start,
            end_unix_nano: end,
            status: if id == "c" {
                SpanStatus::Error
            } else {
                SpanStatus::Unset
            },
            status_message: None,
            links: Vec::new(),
            attributes: serde_json::Map::new(),
        }
    }

    #[test]
    fn a_waterfall_nests_children_by_start_and_places_bars_on_the_time_line() {
        let spans = [
            span("c", Some("b"), 50, 100),
            span("a", None, 0, 100),
            span("b", Some("a"), 10, 60),
            span("d", Some("a"), 5, 8),
            span("lost", Some("gone"), 90, 100),
        ];
        let rows = waterfall(&spans);
        let order: Vec<(&str, usize)> = rows
            .iter()
            .map(|r| (spans[r.index].span_id.as_str(), r.depth))
            .collect();
        assert_eq!(order, [("a", 0), ("d", 1), ("b", 1), ("c", 2), ("lost", 0)]);
        let c = rows.iter().find(|r| spans[r.index].span_id == "c").unwrap();
        assert!((c.offset - 0.5).abs() < 1e-9 && (c.width - 0.5).abs() < 1e-9);
        let refs: Vec<&Span> = spans.iter().collect();
        let summary = TraceSummary::of(&refs).unwrap();
        assert_eq!(summary.root, "a");
        assert_eq!(summary.services, ["api", "worker"]);
        assert_eq!(
            (summary.spans, summary.errors, summary.duration_nanos),
            (5, 1, 100)
        );
    }

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
            links: Vec::new(),
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
