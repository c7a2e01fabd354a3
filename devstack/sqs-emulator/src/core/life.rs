//! A message's life as it happens: what the core reports to a [`LifeObserver`] — sent, delayed
//! until, received (with its receive count and visibility timeout), its visibility changed or
//! run out, deleted, dead-lettered, moved, expired, purged.
//!
//! This is the journal's feed ([`super::changes`]) for people rather than for disks: not
//! absolute states to replay but events with their times, for the message history endpoint
//! and the spans devstack puts in the sender's trace ([`crate::history`]). Events are taken
//! under the queue's lock, like changes, so an observer sees one message's events in the order
//! they happened; the core records none unless an observer is attached.

use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use super::message::{AttributeData, Message};

/// The message attribute holding a W3C `traceparent` (OpenTelemetry's convention for SQS).
pub const TRACEPARENT: &str = "traceparent";

/// One thing that happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifeEvent {
    /// The message.
    pub message_id: Uuid,
    /// When it happened, ms since the epoch, for what a timer caused (a delay or a visibility
    /// timeout running out is noticed at the next operation on the queue, not when it
    /// happened); `None` for what happened at the operation itself.
    pub at_millis: Option<u64>,
    /// What happened.
    pub kind: LifeEventKind,
}

/// What happened to a message; serialized (for the history endpoint) with an `event` tag in
/// snake case and its fields, the trace context left to the history's top level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LifeEventKind {
    /// Sent to this queue.
    Sent {
        /// Its delay, ms (0: visible at once).
        delay_millis: u64,
        /// The trace context it carries (see [`trace_of`]).
        #[serde(skip)]
        trace: Option<Arc<str>>,
    },
    /// Moved into this queue: dead-lettered from `dead_letter_from` (its ARN), or moved by a
    /// message move task (`None`).
    MovedIn {
        /// The queue it was dead-lettered from.
        dead_letter_from: Option<Arc<str>>,
        /// The trace context it carries.
        #[serde(skip)]
        trace: Option<Arc<str>>,
    },
    /// Its delay ended: it became visible.
    DelayEnded,
    /// Received.
    Received {
        /// Receives so far, this one included.
        receive_count: u32,
        /// The visibility timeout this receive set, ms.
        visibility_millis: u64,
    },
    /// Its visibility timeout was changed (0: visible again now).
    VisibilityChanged {
        /// The new timeout, from the change, ms.
        timeout_millis: u64,
    },
    /// Its visibility timeout ran out: visible again, to be redelivered.
    VisibleAgain,
    /// Deleted by its receipt handle.
    Deleted,
    /// Taken off this queue for its dead-letter queue: received `receive_count` times, the
    /// queue's `maxReceiveCount`.
    DeadLettered {
        /// Receives so far.
        receive_count: u32,
        /// The RedrivePolicy's `maxReceiveCount`.
        max_receive_count: u32,
    },
    /// Taken off this queue by a message move task.
    MovedOut,
    /// Dropped at the end of the queue's retention period.
    Expired,
    /// Dropped by PurgeQueue.
    Purged,
}

/// Where the core reports message events.
pub trait LifeObserver: Send + Sync {
    /// `events` happened on the queue `queue_name` (ARN `queue_arn`), in order; those without
    /// their own time happened at `now_micros` (µs since the epoch). Called under the queue's
    /// lock: it must be quick and must not call back into the emulator.
    fn observe(&self, queue_name: &str, queue_arn: &str, now_micros: u64, events: Vec<LifeEvent>);
}

/// The trace context a message carries: its `traceparent` String attribute (W3C), or else its
/// `AWSTraceHeader` system attribute (X-Ray's format).
pub fn trace_of(message: &Message) -> Option<Arc<str>> {
    let traceparent = message.attributes.get(TRACEPARENT).and_then(|value| {
        match (&value.value, value.data_type.starts_with("String")) {
            (AttributeData::Text(text), true) => Some(Arc::from(text.as_str())),
            _ => None,
        }
    });
    traceparent.or_else(|| message.trace_header().map(Arc::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::message::{AttributeValue, Attributes};

    fn message(attributes: Attributes, trace_header: Option<&str>) -> Message {
        let mut message = Message::new(Arc::from("body"), Arc::new(attributes), Arc::from("a"), 1);
        message.set_trace_header(trace_header.map(Arc::from));
        message
    }

    #[test]
    fn traceparent_comes_first_then_the_aws_trace_header() {
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let mut attributes = Attributes::new();
        attributes.insert(TRACEPARENT.into(), AttributeValue::string(tp));
        let both = message(attributes, Some("Root=1-5759e988-bd862e3fe1be46a994272793"));
        assert_eq!(trace_of(&both).as_deref(), Some(tp));
        let header_only = message(
            Attributes::new(),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793"),
        );
        assert_eq!(
            trace_of(&header_only).as_deref(),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(trace_of(&message(Attributes::new(), None)), None);
    }

    #[test]
    fn a_binary_traceparent_is_not_a_trace_context() {
        let mut attributes = Attributes::new();
        attributes.insert(
            TRACEPARENT.into(),
            AttributeValue {
                data_type: "Binary".into(),
                value: AttributeData::Bytes(vec![1, 2]),
            },
        );
        assert_eq!(trace_of(&message(attributes, None)), None);
    }
}
