//! Receiving: which messages a receive takes, standard or FIFO, and what taking one means —
//! in flight with a fresh receipt handle, or, past the redrive policy's `maxReceiveCount`,
//! out of the queue for its dead-letter queue.
//!
//! A standard queue takes its oldest ready messages. A FIFO queue visits its groups
//! round-robin, starting after the last one served, skipping any with a message in flight,
//! and takes each group's messages in order until one is delayed.

use std::sync::Arc;

use super::{DeadLetter, Delivery, MessageState, QueueState, encode_receipt};
use crate::core::attributes::QueueConfig;
use crate::core::life::LifeEventKind;
use crate::core::limits::{MAX_IN_FLIGHT_FIFO, MAX_IN_FLIGHT_STANDARD};
use crate::core::rates::Event;
use crate::core::record::Change;

/// The terms of one receive.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    /// Most messages to take (1–10).
    pub max: usize,
    /// How long they stay invisible, ms.
    pub visibility_ms: u64,
    /// The redrive policy's `maxReceiveCount`, when the queue has a dead-letter queue.
    pub max_receive_count: Option<u32>,
    /// Now, ms since the epoch.
    pub now: u64,
}

/// What a receive found: messages delivered, and messages out of receives, removed for the
/// caller to put on the DLQ (and then to record as removed, see [`Change::Removed`]).
#[derive(Debug, Default)]
pub struct Found {
    /// Delivered, in flight now.
    pub delivered: Vec<Delivery>,
    /// Taken off for the dead-letter queue.
    pub dead: Vec<DeadLetter>,
}

enum Taken {
    Delivered(Delivery),
    Dead(DeadLetter),
}

impl Found {
    /// Adds what taking one message gave; whether it was delivered.
    fn add(&mut self, taken: Option<Taken>) -> bool {
        match taken {
            Some(Taken::Delivered(delivery)) => {
                self.delivered.push(delivery);
                true
            }
            Some(Taken::Dead(dead)) => {
                self.dead.push(dead);
                false
            }
            None => false,
        }
    }
}

impl QueueState {
    /// Receives under `terms`, after applying time.
    pub fn receive(&mut self, config: &QueueConfig, terms: Terms) -> Found {
        self.tick(config, terms.now);
        if self.fifo {
            return self.receive_fifo(terms);
        }
        let mut found = Found::default();
        while found.delivered.len() < terms.max && self.depths.in_flight < MAX_IN_FLIGHT_STANDARD {
            let Some(seq) = self.ready.first().copied() else {
                break;
            };
            let taken = self.take(seq, terms);
            found.add(taken);
        }
        found
    }

    fn receive_fifo(&mut self, terms: Terms) -> Found {
        let mut found = Found::default();
        for group_id in self.groups_from_cursor() {
            if found.delivered.len() >= terms.max || self.depths.in_flight >= MAX_IN_FLIGHT_FIFO {
                break;
            }
            // The group had nothing in flight when this receive began, so an in-flight
            // message in it now was taken by this receive: step over it. A delayed one
            // blocks the rest of the group, to keep order.
            let mut index = 0;
            while found.delivered.len() < terms.max {
                let Some(seq) = self
                    .groups
                    .get(&group_id)
                    .and_then(|g| g.messages.get(index).copied())
                else {
                    break;
                };
                match self.entries.get(&seq).map(|e| e.state) {
                    Some(MessageState::InFlight(_)) => index += 1,
                    Some(MessageState::Ready) => {
                        let taken = self.take(seq, terms);
                        if found.add(taken) {
                            index += 1;
                            self.group_cursor = Some(group_id.clone());
                        }
                    }
                    Some(MessageState::Delayed(_)) | None => break,
                }
            }
        }
        found
    }

    /// The groups with nothing in flight, in round-robin order after the last one served.
    fn groups_from_cursor(&self) -> Vec<Arc<str>> {
        let free = |(k, g): (&Arc<str>, &super::Group)| (g.in_flight == 0).then(|| k.clone());
        match &self.group_cursor {
            Some(cursor) => self
                .groups
                .range::<str, _>((
                    std::ops::Bound::Excluded(&**cursor),
                    std::ops::Bound::Unbounded,
                ))
                .chain(self.groups.range::<str, _>((
                    std::ops::Bound::Unbounded,
                    std::ops::Bound::Included(&**cursor),
                )))
                .filter_map(free)
                .collect(),
            None => self.groups.iter().filter_map(free).collect(),
        }
    }

    /// Delivers `seq`, or takes it off for the DLQ when its receive count is exhausted.
    fn take(&mut self, seq: u64, terms: Terms) -> Option<Taken> {
        let exhausted = match (terms.max_receive_count, self.entries.get(&seq)) {
            (Some(max), Some(entry)) => entry.message.receive_count >= max,
            (_, None) => return None,
            (None, Some(_)) => false,
        };
        if exhausted {
            self.note(seq, None, |m| LifeEventKind::DeadLettered {
                receive_count: m.receive_count,
                max_receive_count: terms.max_receive_count.unwrap_or_default(),
            });
            // Not recorded here: the caller records the removal once the message is on the
            // DLQ, so a crash in between duplicates it rather than losing it.
            return self
                .remove(seq)
                .map(|message| Taken::Dead(DeadLetter { seq, message }));
        }
        let nonce = self.next_nonce;
        self.next_nonce += 1;
        self.transition(seq, MessageState::InFlight(terms.now + terms.visibility_ms));
        let uid = self.uid;
        let entry = self.entries.get_mut(&seq)?;
        entry.receipt_nonce = nonce;
        entry.message.receive_count += 1;
        entry.message.first_received_at.get_or_insert(terms.now);
        let (receive_count, first_received_at) =
            (entry.message.receive_count, entry.message.first_received_at);
        let delivery = Delivery {
            message: entry.message.clone(),
            receipt_handle: encode_receipt(uid, seq, nonce),
        };
        self.totals.received += 1;
        self.rates.count(Event::Received, terms.now);
        self.record(|uid| Change::Received {
            uid,
            seq,
            receive_count,
            first_received_at,
        });
        self.note(seq, None, |_| LifeEventKind::Received {
            receive_count,
            visibility_millis: terms.visibility_ms,
        });
        Some(Taken::Delivered(delivery))
    }
}
