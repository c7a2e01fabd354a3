//! A message's life cut into phases: delayed, waiting (visible, not yet received), in flight
//! (received, not yet deleted or visible again), and the instants between them (a visibility
//! change, the delete, the move to a dead-letter queue…). Each phase that ends becomes a
//! [`Phase`], in the sender's trace when the message carries one; the time spent in each is
//! totalled for the history endpoint.
//!
//! [`Timeline`] is the state of one message: which phase is open since when. It is fed the
//! message's events in order and answers with the phases they closed.

use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use crate::core::LifeEventKind;

/// What part of a message's life a phase is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// Sent with a delay, not yet visible.
    Delayed,
    /// Visible, waiting for a receive (after the send, the delay, or a visibility timeout).
    Waiting,
    /// Received; invisible until deleted or its visibility timeout runs out.
    InFlight,
    /// Its visibility timeout changed (an instant).
    VisibilityChange,
    /// Deleted (an instant).
    Deleted,
    /// Moved to the dead-letter queue (an instant, on the DLQ).
    DeadLettered,
    /// Moved by a message move task (an instant, on the destination).
    Moved,
    /// Dropped at the end of retention (an instant).
    Expired,
    /// Dropped by PurgeQueue (an instant).
    Purged,
}

impl PhaseKind {
    /// Its name in span names and in the `slipway.sqs.phase` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delayed => "delayed",
            Self::Waiting => "waiting",
            Self::InFlight => "in_flight",
            Self::VisibilityChange => "visibility_change",
            Self::Deleted => "deleted",
            Self::DeadLettered => "dead_lettered",
            Self::Moved => "moved",
            Self::Expired => "expired",
            Self::Purged => "purged",
        }
    }

    fn span_name(self) -> &'static str {
        match self {
            Self::Delayed => "delay",
            Self::Waiting => "wait",
            Self::InFlight => "in flight",
            Self::VisibilityChange => "change visibility",
            Self::Deleted => "delete",
            Self::DeadLettered => "dead letter",
            Self::Moved => "move",
            Self::Expired => "expire",
            Self::Purged => "purge",
        }
    }
}

/// One phase of one message, ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// The message.
    pub message_id: Uuid,
    /// The queue it was on (by name).
    pub queue: Arc<str>,
    /// What phase.
    pub kind: PhaseKind,
    /// Its own id (random, unique in practice), for the span.
    pub span_id: [u8; 8],
    /// The phase it happened within (a visibility change within its in-flight phase), if any;
    /// otherwise the span is a child of the sender's span.
    pub within: Option<[u8; 8]>,
    /// Start, µs since the epoch.
    pub start_micros: u64,
    /// End, µs since the epoch (the start, for an instant).
    pub end_micros: u64,
    /// The receive that began it (in flight) or the receives so far (waiting, dead letter).
    pub receive_count: Option<u32>,
    /// The visibility timeout set, in seconds (in flight, visibility change).
    pub visibility_timeout_seconds: Option<u64>,
    /// How an in-flight or waiting phase ended (`deleted`, `visibility_timeout`, …).
    pub ended_by: Option<&'static str>,
    /// The queue a dead letter came from (its ARN).
    pub source_queue_arn: Option<Arc<str>>,
    /// Why it failed, for a dead letter or an expiry.
    pub error: Option<String>,
}

impl Phase {
    /// The span's name: the queue, then the phase (`orders wait`, `orders-dlq dead letter`).
    pub fn span_name(&self) -> String {
        format!("{} {}", self.queue, self.kind.span_name())
    }
}

/// Time spent in each phase so far, in µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Durations {
    /// Delayed.
    pub delayed_micros: u64,
    /// Waiting to be received.
    pub waiting_micros: u64,
    /// In flight.
    pub in_flight_micros: u64,
}

#[derive(Debug, Clone)]
struct Open {
    kind: PhaseKind,
    queue: Arc<str>,
    since: u64,
    span_id: [u8; 8],
    receive_count: u32,
    visibility_timeout_seconds: Option<u64>,
}

/// One message's open phase and totals.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    open: Option<Open>,
    receive_count: u32,
    dead_letter_reason: Option<String>,
    /// Time in each phase.
    pub durations: Durations,
}

/// A fresh span id: random, never zero.
pub fn span_id() -> [u8; 8] {
    fastrand::u64(1..).to_be_bytes()
}

impl Timeline {
    /// Applies one event on `queue` at `at` (µs); returns the phases it ended or marked.
    pub fn apply(
        &mut self,
        message_id: Uuid,
        queue: &Arc<str>,
        at: u64,
        event: &LifeEventKind,
    ) -> Vec<Phase> {
        let mut out = Vec::new();
        match event {
            LifeEventKind::Sent { delay_millis, .. } => {
                let kind = match delay_millis {
                    0 => PhaseKind::Waiting,
                    _ => PhaseKind::Delayed,
                };
                self.start(kind, queue, at);
            }
            LifeEventKind::DelayEnded => {
                self.close(message_id, at, "delay_ended", &mut out);
                self.start(PhaseKind::Waiting, queue, at);
            }
            LifeEventKind::Received {
                receive_count,
                visibility_millis,
            } => {
                self.close(message_id, at, "received", &mut out);
                self.receive_count = *receive_count;
                self.start(PhaseKind::InFlight, queue, at);
                if let Some(open) = &mut self.open {
                    open.visibility_timeout_seconds = Some(visibility_millis / 1000);
                }
            }
            LifeEventKind::VisibilityChanged { timeout_millis } => {
                let mut instant = self.instant(message_id, PhaseKind::VisibilityChange, queue, at);
                instant.within = self.open.as_ref().map(|o| o.span_id);
                instant.visibility_timeout_seconds = Some(timeout_millis / 1000);
                out.push(instant);
                if *timeout_millis == 0 {
                    self.close(message_id, at, "visibility_changed", &mut out);
                    self.start(PhaseKind::Waiting, queue, at);
                }
            }
            LifeEventKind::VisibleAgain => {
                self.close(message_id, at, "visibility_timeout", &mut out);
                self.start(PhaseKind::Waiting, queue, at);
            }
            LifeEventKind::Deleted => {
                self.close(message_id, at, "deleted", &mut out);
                out.push(self.instant(message_id, PhaseKind::Deleted, queue, at));
            }
            LifeEventKind::DeadLettered {
                receive_count,
                max_receive_count,
            } => {
                self.close(message_id, at, "dead_lettered", &mut out);
                self.dead_letter_reason = Some(format!(
                    "received {receive_count} times; the queue's maxReceiveCount is {max_receive_count}"
                ));
            }
            LifeEventKind::MovedIn {
                dead_letter_from, ..
            } => {
                self.close(message_id, at, "moved", &mut out);
                let kind = match dead_letter_from {
                    Some(_) => PhaseKind::DeadLettered,
                    None => PhaseKind::Moved,
                };
                let mut instant = self.instant(message_id, kind, queue, at);
                instant.source_queue_arn = dead_letter_from.clone();
                instant.error = match kind {
                    PhaseKind::DeadLettered => Some(
                        self.dead_letter_reason
                            .take()
                            .unwrap_or_else(|| "moved to the dead-letter queue".into()),
                    ),
                    _ => None,
                };
                out.push(instant);
                if dead_letter_from.is_none() {
                    self.receive_count = 0;
                }
                self.start(PhaseKind::Waiting, queue, at);
            }
            LifeEventKind::MovedOut => self.close(message_id, at, "moved", &mut out),
            LifeEventKind::Expired | LifeEventKind::Purged => {
                let (kind, why) = match event {
                    LifeEventKind::Expired => (PhaseKind::Expired, "expired"),
                    _ => (PhaseKind::Purged, "purged"),
                };
                self.close(message_id, at, why, &mut out);
                let mut instant = self.instant(message_id, kind, queue, at);
                if kind == PhaseKind::Expired {
                    instant.error =
                        Some("dropped at the end of the queue's retention period".into());
                }
                out.push(instant);
            }
        }
        out
    }

    fn start(&mut self, kind: PhaseKind, queue: &Arc<str>, at: u64) {
        self.open = Some(Open {
            kind,
            queue: queue.clone(),
            since: at,
            span_id: span_id(),
            receive_count: self.receive_count,
            visibility_timeout_seconds: None,
        });
    }

    /// Ends the open phase at `at`, if any, counting its time.
    fn close(&mut self, message_id: Uuid, at: u64, ended_by: &'static str, out: &mut Vec<Phase>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let end = at.max(open.since);
        let spent = end - open.since;
        match open.kind {
            PhaseKind::Delayed => self.durations.delayed_micros += spent,
            PhaseKind::Waiting => self.durations.waiting_micros += spent,
            PhaseKind::InFlight => self.durations.in_flight_micros += spent,
            _ => {}
        }
        out.push(Phase {
            message_id,
            queue: open.queue,
            kind: open.kind,
            span_id: open.span_id,
            within: None,
            start_micros: open.since,
            end_micros: end,
            receive_count: Some(open.receive_count),
            visibility_timeout_seconds: open.visibility_timeout_seconds,
            ended_by: Some(ended_by),
            source_queue_arn: None,
            error: None,
        });
    }

    fn instant(&self, message_id: Uuid, kind: PhaseKind, queue: &Arc<str>, at: u64) -> Phase {
        Phase {
            message_id,
            queue: queue.clone(),
            kind,
            span_id: span_id(),
            within: None,
            start_micros: at,
            end_micros: at,
            receive_count: Some(self.receive_count),
            visibility_timeout_seconds: None,
            ended_by: None,
            source_queue_arn: None,
            error: None,
        }
    }

    /// Time in each phase, the open one counted up to `now` (µs).
    pub fn durations_at(&self, now: u64) -> Durations {
        let mut durations = self.durations;
        if let Some(open) = &self.open {
            let spent = now.saturating_sub(open.since);
            match open.kind {
                PhaseKind::Delayed => durations.delayed_micros += spent,
                PhaseKind::Waiting => durations.waiting_micros += spent,
                PhaseKind::InFlight => durations.in_flight_micros += spent,
                _ => {}
            }
        }
        durations
    }

    /// The open phase and since when (µs), if any.
    pub fn current(&self) -> Option<(PhaseKind, u64)> {
        self.open.as_ref().map(|o| (o.kind, o.since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[(u64, LifeEventKind)]) -> (Vec<Phase>, Timeline) {
        let mut timeline = Timeline::default();
        let queue: Arc<str> = Arc::from("orders");
        let id = Uuid::nil();
        let phases = events
            .iter()
            .flat_map(|(at, e)| timeline.apply(id, &queue, *at, e))
            .collect();
        (phases, timeline)
    }

    fn kinds(phases: &[Phase]) -> Vec<(PhaseKind, u64, u64)> {
        phases
            .iter()
            .map(|p| (p.kind, p.start_micros, p.end_micros))
            .collect()
    }

    #[test]
    fn a_retried_message_waits_flies_waits_again_and_is_deleted() {
        let (phases, timeline) = run(&[
            (
                100,
                LifeEventKind::Sent {
                    delay_millis: 0,
                    trace: None,
                },
            ),
            (
                150,
                LifeEventKind::Received {
                    receive_count: 1,
                    visibility_millis: 30_000,
                },
            ),
            (400, LifeEventKind::VisibleAgain),
            (
                500,
                LifeEventKind::Received {
                    receive_count: 2,
                    visibility_millis: 30_000,
                },
            ),
            (530, LifeEventKind::Deleted),
        ]);
        assert_eq!(
            kinds(&phases),
            vec![
                (PhaseKind::Waiting, 100, 150),
                (PhaseKind::InFlight, 150, 400),
                (PhaseKind::Waiting, 400, 500),
                (PhaseKind::InFlight, 500, 530),
                (PhaseKind::Deleted, 530, 530),
            ]
        );
        assert_eq!(phases[1].receive_count, Some(1));
        assert_eq!(phases[1].ended_by, Some("visibility_timeout"));
        assert_eq!(phases[1].visibility_timeout_seconds, Some(30));
        assert_eq!(phases[3].receive_count, Some(2));
        assert_eq!(
            timeline.durations,
            Durations {
                delayed_micros: 0,
                waiting_micros: 150,
                in_flight_micros: 280
            }
        );
    }

    #[test]
    fn a_delay_is_not_waiting() {
        let (phases, timeline) = run(&[
            (
                0,
                LifeEventKind::Sent {
                    delay_millis: 5_000,
                    trace: None,
                },
            ),
            (5_000, LifeEventKind::DelayEnded),
            (
                5_200,
                LifeEventKind::Received {
                    receive_count: 1,
                    visibility_millis: 1_000,
                },
            ),
        ]);
        assert_eq!(
            kinds(&phases),
            vec![
                (PhaseKind::Delayed, 0, 5_000),
                (PhaseKind::Waiting, 5_000, 5_200)
            ]
        );
        assert_eq!(timeline.current(), Some((PhaseKind::InFlight, 5_200)));
        assert_eq!(timeline.durations_at(5_300).in_flight_micros, 100);
    }

    #[test]
    fn a_dead_letter_says_why_and_where_from() {
        let (phases, _) = run(&[
            (
                0,
                LifeEventKind::Sent {
                    delay_millis: 0,
                    trace: None,
                },
            ),
            (
                10,
                LifeEventKind::Received {
                    receive_count: 1,
                    visibility_millis: 0,
                },
            ),
            (10, LifeEventKind::VisibleAgain),
            (
                20,
                LifeEventKind::DeadLettered {
                    receive_count: 1,
                    max_receive_count: 1,
                },
            ),
            (
                20,
                LifeEventKind::MovedIn {
                    dead_letter_from: Some(Arc::from("arn:aws:sqs:us-east-1:0:orders")),
                    trace: None,
                },
            ),
        ]);
        let dead = phases.iter().find(|p| p.kind == PhaseKind::DeadLettered);
        let dead = dead.expect("a dead-letter phase");
        assert_eq!(
            dead.source_queue_arn.as_deref(),
            Some("arn:aws:sqs:us-east-1:0:orders")
        );
        assert_eq!(
            dead.error.as_deref(),
            Some("received 1 times; the queue's maxReceiveCount is 1")
        );
    }

    #[test]
    fn a_visibility_change_is_marked_within_its_receive_and_zero_ends_it() {
        let (phases, _) = run(&[
            (
                0,
                LifeEventKind::Sent {
                    delay_millis: 0,
                    trace: None,
                },
            ),
            (
                10,
                LifeEventKind::Received {
                    receive_count: 1,
                    visibility_millis: 30_000,
                },
            ),
            (
                20,
                LifeEventKind::VisibilityChanged {
                    timeout_millis: 60_000,
                },
            ),
            (30, LifeEventKind::VisibilityChanged { timeout_millis: 0 }),
        ]);
        let in_flight = phases.iter().find(|p| p.kind == PhaseKind::InFlight);
        let in_flight = in_flight.expect("in flight ended");
        assert_eq!((in_flight.start_micros, in_flight.end_micros), (10, 30));
        assert_eq!(in_flight.ended_by, Some("visibility_changed"));
        let changes: Vec<&Phase> = phases
            .iter()
            .filter(|p| p.kind == PhaseKind::VisibilityChange)
            .collect();
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|c| c.within == Some(in_flight.span_id)));
        assert_eq!(changes[0].visibility_timeout_seconds, Some(60));
    }
}
