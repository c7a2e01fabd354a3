//! Message histories: what happened to each message, kept in memory while the emulator runs,
//! for `GET /_slipway/messages/{id}/history` — and, for messages that carry a trace context,
//! the phases of their life handed to a [`PhaseSink`] (devstack turns them into spans in the
//! sender's trace).
//!
//! [`History`] is the core's [`LifeObserver`]: it keeps the last `capacity` messages it heard
//! of (the oldest forgotten first), each with its events (at most [`MAX_EVENTS`]; past that the
//! oldest after the first are dropped and counted) and its [`phases::Timeline`].
//!
//! - [`trace_context`]: reading `traceparent` and `AWSTraceHeader`.
//! - [`phases`]: cutting a life into delayed, waiting and in-flight phases.

pub mod phases;
pub mod trace_context;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;
use uuid::Uuid;

use crate::core::{LifeEvent, LifeEventKind, LifeObserver};
use phases::{Durations, Phase, PhaseKind, Timeline};
use trace_context::TraceContext;

/// How many messages a history keeps by default.
pub const DEFAULT_CAPACITY: usize = 50_000;

/// Most events kept per message (a message redelivered without end would grow without bound).
pub const MAX_EVENTS: usize = 200;

/// Where the phases of traced messages go.
pub trait PhaseSink: Send + Sync {
    /// Phases that ended, each with the trace of its message (sampled ones only). Called
    /// under a queue's lock: quick, and never back into the emulator.
    fn phases(&self, phases: Vec<(TraceContext, Phase)>);
}

/// The recorder.
pub struct History {
    capacity: usize,
    sink: Option<Arc<dyn PhaseSink>>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("capacity", &self.capacity)
            .field("spans", &self.sink.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    messages: HashMap<Uuid, Record>,
    order: VecDeque<Uuid>,
}

#[derive(Default)]
struct Record {
    carrier: Option<Arc<str>>,
    trace: Option<TraceContext>,
    events: Vec<Recorded>,
    dropped_events: u64,
    timeline: Timeline,
}

struct Recorded {
    at_micros: u64,
    queue: Arc<str>,
    kind: LifeEventKind,
}

impl History {
    /// Keeps the last `capacity` messages (at least one); with `sink`, hands it the phases
    /// of traced messages.
    pub fn new(capacity: usize, sink: Option<Arc<dyn PhaseSink>>) -> Self {
        Self {
            capacity: capacity.max(1),
            sink,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The history of one message, as of `now_micros`; `None` when it is not known.
    pub fn get(&self, message_id: Uuid, now_micros: u64) -> Option<MessageHistory> {
        let inner = self.inner.lock();
        let record = inner.messages.get(&message_id)?;
        Some(MessageHistory {
            message_id,
            trace_id: record.trace.map(|t| hex::encode(t.trace_id)),
            parent_span_id: record.trace.map(|t| hex::encode(t.parent_span_id)),
            trace_context: record.carrier.as_deref().map(str::to_string),
            queue: record.events.last().map(|e| e.queue.to_string()),
            phase: record.timeline.current().map(|(kind, _)| kind),
            durations: DurationsMs::from(record.timeline.durations_at(now_micros)),
            dropped_events: record.dropped_events,
            events: record.events.iter().map(EventView::from).collect(),
        })
    }

    /// How many messages it keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many messages it holds.
    pub fn len(&self) -> usize {
        self.inner.lock().messages.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    /// The record of `id`, made (and the oldest forgotten, past `capacity`) when new.
    fn record(&mut self, id: Uuid, capacity: usize) -> &mut Record {
        if !self.messages.contains_key(&id) {
            while self.order.len() >= capacity {
                match self.order.pop_front() {
                    Some(old) => self.messages.remove(&old),
                    None => break,
                };
            }
            self.order.push_back(id);
        }
        self.messages.entry(id).or_default()
    }
}

impl Record {
    fn push(&mut self, recorded: Recorded) {
        if self.events.len() >= MAX_EVENTS {
            self.events.remove(1);
            self.dropped_events += 1;
        }
        self.events.push(recorded);
    }
}

impl LifeObserver for History {
    fn observe(&self, queue_name: &str, _queue_arn: &str, now_micros: u64, events: Vec<LifeEvent>) {
        let queue: Arc<str> = Arc::from(queue_name);
        let mut traced = Vec::new();
        {
            let mut inner = self.inner.lock();
            for event in events {
                let at = event
                    .at_millis
                    .map_or(now_micros, |ms| ms.saturating_mul(1000));
                let record = inner.record(event.message_id, self.capacity);
                if let LifeEventKind::Sent { trace, .. } | LifeEventKind::MovedIn { trace, .. } =
                    &event.kind
                    && record.carrier.is_none()
                {
                    record.carrier = trace.clone();
                    record.trace = trace.as_deref().and_then(TraceContext::parse);
                }
                let phases = record
                    .timeline
                    .apply(event.message_id, &queue, at, &event.kind);
                if let (Some(_), Some(trace)) = (&self.sink, record.trace.filter(|t| t.sampled)) {
                    traced.extend(phases.into_iter().map(|p| (trace, p)));
                }
                record.push(Recorded {
                    at_micros: at,
                    queue: queue.clone(),
                    kind: event.kind,
                });
            }
        }
        if let (Some(sink), false) = (&self.sink, traced.is_empty()) {
            sink.phases(traced);
        }
    }
}

/// One message's history, as `GET /_slipway/messages/{id}/history` returns it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageHistory {
    /// The message.
    pub message_id: Uuid,
    /// The trace it belongs to (32 hex digits), when it carries a context.
    pub trace_id: Option<String>,
    /// The sender's span (16 hex digits), when it carries a context.
    pub parent_span_id: Option<String>,
    /// The context as carried (`traceparent` or `AWSTraceHeader`).
    pub trace_context: Option<String>,
    /// The queue of its latest event.
    pub queue: Option<String>,
    /// Where it is now: `delayed`, `waiting`, `in_flight`; `null` once gone.
    pub phase: Option<PhaseKind>,
    /// Time spent in each phase so far.
    pub durations: DurationsMs,
    /// Events left out between the first and the last [`MAX_EVENTS`].
    pub dropped_events: u64,
    /// What happened, oldest first.
    pub events: Vec<EventView>,
}

/// Time in each phase, in milliseconds (fractional).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DurationsMs {
    /// Delayed (sent with a delay, not yet visible).
    pub delayed_ms: f64,
    /// Visible and waiting for a receive.
    pub waiting_ms: f64,
    /// Received and not yet deleted or visible again.
    pub in_flight_ms: f64,
}

impl From<Durations> for DurationsMs {
    fn from(d: Durations) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            delayed_ms: ms(d.delayed_micros),
            waiting_ms: ms(d.waiting_micros),
            in_flight_ms: ms(d.in_flight_micros),
        }
    }
}

/// One event: when (RFC 3339 and µs since the epoch), on which queue, and what.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// When, RFC 3339 in UTC with microseconds.
    pub at: String,
    /// When, µs since the epoch.
    pub at_unix_micros: u64,
    /// The queue it happened on.
    pub queue: String,
    /// What happened (`event`, then its fields).
    #[serde(flatten)]
    pub what: LifeEventKind,
}

impl From<&Recorded> for EventView {
    fn from(r: &Recorded) -> Self {
        let time = UNIX_EPOCH + Duration::from_micros(r.at_micros);
        Self {
            at: humantime::format_rfc3339_micros(time).to_string(),
            at_unix_micros: r.at_micros,
            queue: r.queue.to_string(),
            what: r.kind.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    #[derive(Default)]
    struct Collect(StdMutex<Vec<(TraceContext, Phase)>>);

    impl PhaseSink for Collect {
        fn phases(&self, phases: Vec<(TraceContext, Phase)>) {
            self.0.lock().map(|mut v| v.extend(phases)).ok();
        }
    }

    fn event(id: Uuid, kind: LifeEventKind) -> LifeEvent {
        LifeEvent {
            message_id: id,
            at_millis: None,
            kind,
        }
    }

    const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn traced_messages_give_phases_and_every_message_a_history() {
        let sink = Arc::new(Collect::default());
        let history = History::new(10, Some(sink.clone()));
        let (traced, plain) = (Uuid::new_v4(), Uuid::new_v4());
        let sent = |trace: Option<&str>| LifeEventKind::Sent {
            delay_millis: 0,
            trace: trace.map(Arc::from),
        };
        history.observe(
            "q",
            "arn",
            1_000,
            vec![event(traced, sent(Some(TP))), event(plain, sent(None))],
        );
        let received = LifeEventKind::Received {
            receive_count: 1,
            visibility_millis: 30_000,
        };
        history.observe(
            "q",
            "arn",
            3_000,
            vec![event(traced, received.clone()), event(plain, received)],
        );
        let phases = sink.0.lock().map(|v| v.clone()).unwrap_or_default();
        assert_eq!(
            phases.len(),
            1,
            "only the traced message's wait: {phases:?}"
        );
        assert_eq!(phases[0].1.kind, PhaseKind::Waiting);
        assert_eq!(hex::encode(phases[0].0.parent_span_id), "b7ad6b7169203331");

        let view = history.get(plain, 4_000).expect("known");
        assert_eq!(view.trace_id, None);
        assert_eq!(view.phase, Some(PhaseKind::InFlight));
        assert_eq!(view.durations.waiting_ms, 2.0);
        assert_eq!(view.durations.in_flight_ms, 1.0);
        let json = serde_json::to_value(&view).unwrap_or_default();
        assert_eq!(json["events"][1]["event"], "received");
        assert_eq!(json["events"][1]["receive_count"], 1);
        assert_eq!(json["events"][0]["at"], "1970-01-01T00:00:00.001000Z");
    }

    #[test]
    fn keeps_the_last_capacity_messages_and_bounded_events() {
        let history = History::new(2, None);
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            history.observe("q", "arn", 0, vec![event(*id, LifeEventKind::Deleted)]);
        }
        assert_eq!(history.len(), 2);
        assert!(history.get(ids[0], 0).is_none());
        let changes = (0..MAX_EVENTS + 5)
            .map(|_| event(ids[2], LifeEventKind::VisibleAgain))
            .collect();
        history.observe("q", "arn", 0, changes);
        let view = history.get(ids[2], 0).expect("known");
        assert_eq!(view.events.len(), MAX_EVENTS);
        assert_eq!(view.dropped_events, 6);
        assert!(matches!(view.events[0].what, LifeEventKind::Deleted));
    }
}
