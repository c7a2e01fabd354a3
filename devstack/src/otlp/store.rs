//! The spans devstack's collector keeps: a ring in arrival order, bounded by count and by
//! bytes (the oldest go first), queried by trace id, order id or message id.
//!
//! Queries scan the ring rather than keep indices: ingest (the hot path, tens of thousands of
//! spans a second) then costs one push, and a query — a person at `devstack trace` or the TUI —
//! reads at most the bound (100,000 spans by default) in a few milliseconds.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;

use slipway_contracts::trace::{MESSAGE_ID, ORDER_ID, Span, SpanLink, TraceQuery, TraceSummary};

/// How much the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Most spans.
    pub max_spans: usize,
    /// Most bytes (an estimate of the spans' size in memory).
    pub max_bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            max_spans: 100_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The store.
#[derive(Debug)]
pub struct SpanStore {
    ring: Mutex<Ring>,
}

#[derive(Debug)]
struct Ring {
    spans: VecDeque<(usize, Span)>,
    bytes: usize,
    bounds: Bounds,
    received: u64,
    dropped: u64,
}

/// What the store holds and has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Spans held.
    pub spans: usize,
    /// Their estimated size.
    pub bytes: usize,
    /// Spans received since the start.
    pub received: u64,
    /// Spans dropped to stay within the bounds.
    pub dropped: u64,
}

impl SpanStore {
    /// An empty store within `bounds`.
    pub fn new(bounds: Bounds) -> Self {
        Self {
            ring: Mutex::new(Ring {
                spans: VecDeque::new(),
                bytes: 0,
                bounds,
                received: 0,
                dropped: 0,
            }),
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `spans`, dropping the oldest beyond the bounds.
    pub fn insert(&self, spans: impl IntoIterator<Item = Span>) {
        let mut ring = self.ring();
        for span in spans {
            let size = estimate(&span);
            ring.bytes += size;
            ring.received += 1;
            ring.spans.push_back((size, span));
            while ring.spans.len() > ring.bounds.max_spans
                || (ring.bytes > ring.bounds.max_bytes && ring.spans.len() > 1)
            {
                if let Some((size, _)) = ring.spans.pop_front() {
                    ring.bytes -= size;
                    ring.dropped += 1;
                }
            }
        }
    }

    /// The spans of the traces `query` selects, ordered by start time.
    pub fn find(&self, query: &TraceQuery) -> Vec<Span> {
        let ring = self.ring();
        let traces: BTreeSet<&str> = match query {
            TraceQuery::TraceId(id) => BTreeSet::from([id.as_str()]),
            TraceQuery::OrderId(id) => traces_with(&ring, ORDER_ID, id),
            TraceQuery::MessageId(id) => traces_with(&ring, MESSAGE_ID, id),
        };
        let mut found: Vec<Span> = ring
            .spans
            .iter()
            .filter(|(_, s)| traces.contains(s.trace_id.as_str()))
            .map(|(_, s)| s.clone())
            .collect();
        found.sort_by_key(|s| (s.start_unix_nano, s.end_unix_nano));
        found
    }

    /// The `limit` traces with the latest spans received, newest first.
    pub fn recent(&self, limit: usize) -> Vec<TraceSummary> {
        let ring = self.ring();
        let mut order: Vec<&str> = Vec::new();
        for (_, span) in ring.spans.iter().rev() {
            if order.len() == limit {
                break;
            }
            if !order.contains(&span.trace_id.as_str()) {
                order.push(&span.trace_id);
            }
        }
        let mut by_trace: HashMap<&str, Vec<&Span>> = HashMap::new();
        for (_, span) in &ring.spans {
            if let Some(id) = order.iter().find(|id| **id == span.trace_id) {
                by_trace.entry(id).or_default().push(span);
            }
        }
        order
            .iter()
            .filter_map(|id| TraceSummary::of(by_trace.get(id)?))
            .collect()
    }

    /// What it holds and has seen.
    pub fn stats(&self) -> StoreStats {
        let ring = self.ring();
        StoreStats {
            spans: ring.spans.len(),
            bytes: ring.bytes,
            received: ring.received,
            dropped: ring.dropped,
        }
    }
}

fn traces_with<'a>(ring: &'a Ring, key: &str, value: &str) -> BTreeSet<&'a str> {
    ring.spans
        .iter()
        .filter(|(_, s)| s.attribute(key) == Some(value))
        .map(|(_, s)| s.trace_id.as_str())
        .collect()
}

/// A span's size in memory, roughly: its strings and attributes plus the struct.
fn estimate(span: &Span) -> usize {
    let attributes: usize = span
        .attributes
        .iter()
        .map(|(k, v)| k.len() + v.to_string().len() + 48)
        .sum();
    std::mem::size_of::<Span>()
        + span.trace_id.len()
        + span.span_id.len()
        + span.parent_span_id.as_ref().map_or(0, String::len)
        + span.name.len()
        + span.service.len()
        + span.status_message.as_ref().map_or(0, String::len)
        + attributes
        + span.links.len() * (std::mem::size_of::<SpanLink>() + 48)
}

#[cfg(test)]
mod tests {
    use slipway_contracts::trace::{SpanKind, SpanStatus};

    use super::*;

    fn span(trace: &str, id: &str, start: u64, attributes: &[(&str, &str)]) -> Span {
        Span {
            trace_id: trace.into(),
            span_id: id.into(),
            parent_span_id: None,
            name: "x".into(),
            service: "s".into(),
            kind: SpanKind::Internal,
            start_unix_nano: start,
            end_unix_nano: start + 1,
            status: SpanStatus::Unset,
            status_message: None,
            links: Vec::new(),
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
                .collect(),
        }
    }

    #[test]
    fn journeys_are_found_by_trace_order_and_message() {
        let store = SpanStore::new(Bounds::default());
        store.insert([
            span("t1", "a", 3, &[]),
            span("t1", "b", 1, &[(ORDER_ID, "o-1")]),
            span("t2", "c", 2, &[(MESSAGE_ID, "m-1")]),
            span("t3", "d", 4, &[(ORDER_ID, "o-1")]),
        ]);
        let ids = |query| {
            store
                .find(&query)
                .into_iter()
                .map(|s| s.span_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(TraceQuery::TraceId("t1".into())),
            ["b", "a"],
            "by start"
        );
        assert_eq!(ids(TraceQuery::OrderId("o-1".into())), ["b", "a", "d"]);
        assert_eq!(ids(TraceQuery::MessageId("m-1".into())), ["c"]);
        assert!(ids(TraceQuery::OrderId("nope".into())).is_empty());
        let recent: Vec<(String, usize)> = store
            .recent(2)
            .into_iter()
            .map(|t| (t.trace_id, t.spans))
            .collect();
        assert_eq!(recent, [("t3".into(), 1), ("t2".into(), 1)], "newest first");
        assert_eq!(store.recent(10)[2].spans, 2);
    }

    #[test]
    fn the_oldest_go_first_past_either_bound() {
        let store = SpanStore::new(Bounds {
            max_spans: 3,
            max_bytes: usize::MAX,
        });
        store.insert((0..5).map(|i| span("t", &i.to_string(), i, &[])));
        let stats = store.stats();
        assert_eq!((stats.spans, stats.received, stats.dropped), (3, 5, 2));
        assert_eq!(store.find(&TraceQuery::TraceId("t".into()))[0].span_id, "2");

        let one = estimate(&span("t", "0", 0, &[]));
        let store = SpanStore::new(Bounds {
            max_spans: 100,
            max_bytes: one * 2,
        });
        store.insert((0..5).map(|i| span("t", &i.to_string(), i, &[])));
        assert!(store.stats().bytes <= one * 2);
        assert_eq!(store.stats().spans, 2);
    }
}
