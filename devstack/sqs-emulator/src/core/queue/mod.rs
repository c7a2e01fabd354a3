//! The messages of one queue and their life cycle: ready → in flight → deleted, with delays,
//! visibility timeouts, retention, FIFO groups and deduplication.
//!
//! Nothing here scans every message. A standard queue keeps its ready messages in a
//! `BTreeSet` by arrival (receive pops the first); delayed and in-flight messages sit in one
//! timer set ordered by the instant they become visible, promoted lazily by each operation;
//! retention is a set ordered by send time. A FIFO queue keeps, per group, its messages in
//! order and how many are in flight; a group with one in flight delivers nothing more.
//! Receiving is [`receive`]; the journal's view (snapshot, replay) is `journal.rs`, the
//! self-check `invariants.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use indexmap::IndexMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::attributes::QueueConfig;
use super::error::{ErrorKind, Result, SqsError};
use super::life::{LifeEvent, LifeEventKind};
use super::message::{Attributes, Message};
use super::rates::{Event, RateMeter, Rates};
use super::record::Change;

mod invariants;
mod journal;
pub mod receive;
pub mod send;

pub use receive::{Found, Terms};

/// Where a message is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Can be received.
    Ready,
    /// Sent with a delay; visible at the given instant (ms).
    Delayed(u64),
    /// Received; visible again at the given instant (ms).
    InFlight(u64),
}

#[derive(Debug)]
struct Entry {
    message: Message,
    state: MessageState,
    /// Bumped on each receive; a receipt handle names the receive it came from.
    receipt_nonce: u64,
}

#[derive(Debug, Default)]
struct Group {
    /// The group's messages in send order, whatever their state.
    messages: VecDeque<u64>,
    in_flight: usize,
}

#[derive(Debug, Clone)]
struct DedupRecord {
    expires_at: u64,
    message_id: uuid::Uuid,
    sequence_number: Option<u128>,
}

/// Counts of messages by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depths {
    /// `ApproximateNumberOfMessages`.
    pub visible: usize,
    /// `ApproximateNumberOfMessagesNotVisible`.
    pub in_flight: usize,
    /// `ApproximateNumberOfMessagesDelayed`.
    pub delayed: usize,
}

/// Totals since the queue was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages accepted by send (deduplicated ones excluded).
    pub sent: u64,
    /// Deliveries by receive.
    pub received: u64,
    /// Messages deleted by a receipt handle.
    pub deleted: u64,
}

/// A message to send, validated by [`QueueState::send`].
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    /// The body.
    pub body: String,
    /// User attributes.
    pub attributes: Attributes,
    /// The `AWSTraceHeader` system attribute.
    pub trace_header: Option<String>,
    /// Per-message delay, seconds (standard queues only).
    pub delay_seconds: Option<u64>,
    /// `MessageGroupId`.
    pub group_id: Option<String>,
    /// `MessageDeduplicationId`.
    pub dedup_id: Option<String>,
}

/// What a send returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// The message id (the original's, for a deduplicated FIFO send).
    pub message_id: uuid::Uuid,
    /// MD5 of the body.
    pub body_md5: String,
    /// MD5 of the user attributes.
    pub attributes_md5: Option<String>,
    /// MD5 of the system attributes.
    pub system_attributes_md5: Option<String>,
    /// FIFO sequence number.
    pub sequence_number: Option<u128>,
}

/// A message handed out by a receive.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The message, with its receive count and first-receive time updated.
    pub message: Message,
    /// The receipt handle of this receive.
    pub receipt_handle: String,
}

/// A message as seen without receiving it (developer peek).
#[derive(Debug, Clone)]
pub struct Peeked {
    /// The message.
    pub message: Message,
    /// Its state now.
    pub state: MessageState,
}

/// A message a receive found out of receives: removed from this queue, for the caller to put
/// on the dead-letter queue and then record as removed (see [`Change::Removed`]).
#[derive(Debug)]
pub struct DeadLetter {
    /// Its place in the queue it left.
    pub seq: u64,
    /// The message.
    pub message: Message,
}

/// The messages of one queue.
///
/// Entries live in an `IndexMap` (a dense vector plus an index), not a `HashMap`: at a
/// million messages a `HashMap` of these entries costs twice the memory.
#[derive(Debug)]
pub struct QueueState {
    uid: u64,
    fifo: bool,
    entries: IndexMap<u64, Entry>,
    ready: BTreeSet<u64>,
    timers: BTreeSet<(u64, u64)>,
    expiry: BTreeSet<(u64, u64)>,
    groups: BTreeMap<Arc<str>, Group>,
    group_cursor: Option<Arc<str>>,
    dedup: HashMap<String, DedupRecord>,
    dedup_expiry: VecDeque<(u64, String)>,
    next_seq: u64,
    next_nonce: u64,
    next_sequence_number: u128,
    depths: Depths,
    totals: Totals,
    rates: RateMeter,
    /// Durable changes not yet taken by the journal; `None` when nothing is journaled.
    changes: Option<Vec<Change>>,
    /// Message events not yet taken by the observer; `None` when nothing observes them.
    events: Option<Vec<LifeEvent>>,
}

impl QueueState {
    /// An empty queue; `uid` ties receipt handles to this queue.
    pub fn new(uid: u64, fifo: bool) -> Self {
        Self {
            uid,
            fifo,
            entries: IndexMap::new(),
            ready: BTreeSet::new(),
            timers: BTreeSet::new(),
            expiry: BTreeSet::new(),
            groups: BTreeMap::new(),
            group_cursor: None,
            dedup: HashMap::new(),
            dedup_expiry: VecDeque::new(),
            next_seq: 1,
            next_nonce: 1,
            next_sequence_number: 18_849_496_460_467_696_128,
            depths: Depths::default(),
            totals: Totals::default(),
            rates: RateMeter::default(),
            changes: None,
            events: None,
        }
    }

    /// The id receipt handles and journal records name this queue by.
    pub fn uid(&self) -> u64 {
        self.uid
    }

    /// Starts recording durable changes for a journal.
    pub fn record_changes(&mut self) {
        self.changes.get_or_insert_with(Vec::new);
    }

    /// The changes recorded since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<Change> {
        self.changes
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn record(&mut self, change: impl FnOnce(u64) -> Change) {
        if let Some(changes) = &mut self.changes {
            changes.push(change(self.uid));
        }
    }

    /// Starts recording message events for an observer.
    pub fn record_events(&mut self) {
        self.events.get_or_insert_with(Vec::new);
    }

    /// The message events recorded since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<LifeEvent> {
        self.events.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Records an event of the message at `seq`, when events are observed.
    fn note(
        &mut self,
        seq: u64,
        at_millis: Option<u64>,
        kind: impl FnOnce(&Message) -> LifeEventKind,
    ) {
        if let (Some(events), Some(entry)) = (&mut self.events, self.entries.get(&seq)) {
            events.push(LifeEvent {
                message_id: entry.message.id,
                at_millis,
                kind: kind(&entry.message),
            });
        }
    }

    /// The next sequence numbers, to keep across a restart.
    pub fn counters(&self) -> (u64, u128) {
        (self.next_seq, self.next_sequence_number)
    }

    /// Counts by state, after applying time.
    pub fn depths(&mut self, config: &QueueConfig, now: u64) -> Depths {
        self.tick(config, now);
        self.depths
    }

    /// Totals since creation.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Sends, receives and deletes per second, recently.
    pub fn rates(&self, now: u64) -> Rates {
        self.rates.rates(now)
    }

    /// The instant (ms) the next delayed or in-flight message becomes visible, if any.
    pub fn next_wakeup(&self) -> Option<u64> {
        self.timers.first().map(|&(at, _)| at)
    }

    /// The oldest message's send time (ms), if any.
    pub fn oldest_sent_at(&self) -> Option<u64> {
        self.expiry.first().map(|&(at, _)| at)
    }

    /// Applies time: promotes delayed and in-flight messages whose time has come, drops
    /// messages past retention, forgets expired dedup ids.
    pub fn tick(&mut self, config: &QueueConfig, now: u64) {
        while let Some(&(at, seq)) = self.timers.first() {
            if at > now {
                break;
            }
            if self.events.is_some() {
                let delayed = self
                    .entries
                    .get(&seq)
                    .is_some_and(|e| matches!(e.state, MessageState::Delayed(_)));
                self.note(seq, Some(at), |_| match delayed {
                    true => LifeEventKind::DelayEnded,
                    false => LifeEventKind::VisibleAgain,
                });
            }
            self.transition(seq, MessageState::Ready);
        }
        let retention = config.retention_seconds * 1000;
        while let Some(&(sent_at, seq)) = self.expiry.first() {
            if sent_at.saturating_add(retention) > now {
                break;
            }
            self.note(seq, Some(sent_at.saturating_add(retention)), |_| {
                LifeEventKind::Expired
            });
            self.remove(seq);
            self.record(|uid| Change::Removed { uid, seq });
        }
        while let Some((expires_at, _)) = self.dedup_expiry.front() {
            if *expires_at > now {
                break;
            }
            if let Some((expires_at, key)) = self.dedup_expiry.pop_front()
                && self
                    .dedup
                    .get(&key)
                    .is_some_and(|r| r.expires_at == expires_at)
            {
                self.dedup.remove(&key);
            }
        }
    }

    /// Deletes the message a receipt handle names. A well-formed handle of a message that is
    /// gone, or that was received again since, is accepted and changes nothing (as in SQS).
    /// On a FIFO queue a handle whose visibility timeout ran out is refused as expired: the
    /// message is its group's next again, and may be someone else's.
    pub fn delete(&mut self, config: &QueueConfig, handle: &str, now: u64) -> Result<()> {
        self.tick(config, now);
        let (seq, nonce) = self.decode_receipt(handle)?;
        if self.fifo
            && self.entries.get(&seq).is_some_and(|e| {
                e.receipt_nonce != nonce || !matches!(e.state, MessageState::InFlight(_))
            })
        {
            return Err(SqsError::receipt_handle_expired(handle));
        }
        if self
            .entries
            .get(&seq)
            .is_some_and(|e| e.receipt_nonce == nonce)
        {
            self.note(seq, None, |_| LifeEventKind::Deleted);
            self.remove(seq);
            self.record(|uid| Change::Removed { uid, seq });
            self.totals.deleted += 1;
            self.rates.count(Event::Deleted, now);
        }
        Ok(())
    }

    /// Sets the visibility of a received message: visible again `timeout_ms` from now.
    ///
    /// On a standard queue, as AWS documents, any handle of a message still there works — one
    /// whose visibility timeout ran out, or an earlier receive's — and the change applies; a
    /// message gone is `InvalidParameterValue`. A FIFO queue takes only the latest receive's
    /// handle, of a message still in flight (its group's order depends on it).
    pub fn change_visibility(
        &mut self,
        config: &QueueConfig,
        handle: &str,
        timeout_ms: u64,
        now: u64,
    ) -> Result<()> {
        self.tick(config, now);
        let (seq, nonce) = self.decode_receipt(handle)?;
        let gone = || {
            SqsError::invalid_parameter(
                "ReceiptHandle",
                handle,
                "Message does not exist or is not available for visibility timeout change.",
            )
        };
        let Some(entry) = self.entries.get(&seq) else {
            return Err(gone());
        };
        if self.fifo && entry.receipt_nonce != nonce {
            return Err(SqsError::receipt_handle_expired(handle));
        }
        match entry.state {
            MessageState::InFlight(_) => {}
            MessageState::Ready if !self.fifo => {}
            MessageState::Ready => {
                return Err(SqsError::new(
                    ErrorKind::MessageNotInflight,
                    "Message does not exist or is not available for visibility timeout change.",
                ));
            }
            MessageState::Delayed(_) => return Err(gone()),
        }
        let state = if timeout_ms == 0 {
            MessageState::Ready
        } else {
            MessageState::InFlight(now + timeout_ms)
        };
        self.note(seq, None, |_| LifeEventKind::VisibilityChanged {
            timeout_millis: timeout_ms,
        });
        self.transition(seq, state);
        Ok(())
    }

    /// Removes every message, and a FIFO queue's deduplication ids with them (as in SQS: a
    /// message sent again after a purge is accepted).
    pub fn purge(&mut self) {
        let seqs: Vec<u64> = self.entries.keys().copied().collect();
        for seq in seqs {
            self.note(seq, None, |_| LifeEventKind::Purged);
            self.remove(seq);
        }
        self.dedup.clear();
        self.dedup_expiry.clear();
        self.record(|uid| Change::Purged { uid });
    }

    /// Up to `limit` messages in send order without changing them.
    pub fn peek(&mut self, config: &QueueConfig, now: u64, limit: usize) -> Vec<Peeked> {
        self.tick(config, now);
        self.expiry
            .iter()
            .filter_map(|(_, seq)| self.entries.get(seq))
            .take(limit)
            .map(|e| Peeked {
                message: e.message.clone(),
                state: e.state,
            })
            .collect()
    }

    /// Removes and returns the ready message sent first, for a move task. In-flight and
    /// delayed messages wait. Like a dead letter, the removal is for the caller to record
    /// once the message is in its new queue.
    pub fn take_ready_for_move(&mut self, config: &QueueConfig, now: u64) -> Option<DeadLetter> {
        self.tick(config, now);
        let seq = if self.fifo {
            self.groups
                .values()
                .filter(|g| g.in_flight == 0)
                .filter_map(|g| g.messages.front().copied())
                .find(|s| {
                    self.entries
                        .get(s)
                        .is_some_and(|e| e.state == MessageState::Ready)
                })?
        } else {
            self.ready.first().copied()?
        };
        self.note(seq, None, |_| LifeEventKind::MovedOut);
        self.remove(seq).map(|message| DeadLetter { seq, message })
    }

    /// Number of messages, whatever their state.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the queue holds no message.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, message: Message, state: MessageState) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.insert_at(seq, message, state);
        seq
    }

    fn insert_at(&mut self, seq: u64, message: Message, state: MessageState) {
        self.expiry.insert((message.sent_at, seq));
        if self.fifo {
            let group = message.group_id.clone().unwrap_or_else(|| Arc::from(""));
            self.groups
                .entry(group)
                .or_default()
                .messages
                .push_back(seq);
        }
        self.entries.insert(
            seq,
            Entry {
                message,
                state: MessageState::Ready,
                receipt_nonce: 0,
            },
        );
        self.depths.visible += 1;
        if !self.fifo {
            self.ready.insert(seq);
        }
        if state != MessageState::Ready {
            self.transition(seq, state);
        }
    }

    /// Moves `seq` to `state`, keeping the indexes and counts in step.
    fn transition(&mut self, seq: u64, state: MessageState) {
        let Some(entry) = self.entries.get_mut(&seq) else {
            return;
        };
        let old = std::mem::replace(&mut entry.state, state);
        let group = if self.fifo {
            entry.message.group_id.clone()
        } else {
            None
        };
        self.leave(seq, old, group.as_deref());
        self.enter(seq, state, group.as_deref());
    }

    fn leave(&mut self, seq: u64, state: MessageState, group: Option<&str>) {
        match state {
            MessageState::Ready => {
                self.depths.visible -= 1;
                if !self.fifo {
                    self.ready.remove(&seq);
                }
            }
            MessageState::Delayed(at) => {
                self.depths.delayed -= 1;
                self.timers.remove(&(at, seq));
            }
            MessageState::InFlight(at) => {
                self.depths.in_flight -= 1;
                self.timers.remove(&(at, seq));
                if self.fifo
                    && let Some(g) = self.groups.get_mut(group.unwrap_or(""))
                {
                    g.in_flight -= 1;
                }
            }
        }
    }

    fn enter(&mut self, seq: u64, state: MessageState, group: Option<&str>) {
        match state {
            MessageState::Ready => {
                self.depths.visible += 1;
                if !self.fifo {
                    self.ready.insert(seq);
                }
            }
            MessageState::Delayed(at) => {
                self.depths.delayed += 1;
                self.timers.insert((at, seq));
            }
            MessageState::InFlight(at) => {
                self.depths.in_flight += 1;
                self.timers.insert((at, seq));
                if self.fifo
                    && let Some(g) = self.groups.get_mut(group.unwrap_or(""))
                {
                    g.in_flight += 1;
                }
            }
        }
    }

    fn remove(&mut self, seq: u64) -> Option<Message> {
        let entry = self.entries.get(&seq)?;
        let (state, group, sent_at) = (
            entry.state,
            entry.message.group_id.clone(),
            entry.message.sent_at,
        );
        let group = if self.fifo {
            Some(group.unwrap_or_else(|| Arc::from("")))
        } else {
            None
        };
        self.leave(seq, state, group.as_deref());
        self.expiry.remove(&(sent_at, seq));
        if let Some(group_id) = group
            && let Some(g) = self.groups.get_mut(&group_id)
        {
            if let Some(position) = g.messages.iter().position(|s| *s == seq) {
                g.messages.remove(position);
            }
            if g.messages.is_empty() {
                self.groups.remove(&group_id);
            }
        }
        self.entries.swap_remove(&seq).map(|e| e.message)
    }

    fn decode_receipt(&self, handle: &str) -> Result<(u64, u64)> {
        let invalid = || SqsError::receipt_handle_invalid(handle);
        let bytes = BASE64.decode(handle.as_bytes()).map_err(|_| invalid())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
        let mut parts = text.split(':');
        let (Some("v1"), Some(uid), Some(seq), Some(nonce), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(invalid());
        };
        let parse = |s: &str| u64::from_str_radix(s, 16).map_err(|_| invalid());
        if parse(uid)? != self.uid {
            return Err(invalid());
        }
        Ok((parse(seq)?, parse(nonce)?))
    }
}

fn encode_receipt(uid: u64, seq: u64, nonce: u64) -> String {
    BASE64.encode(format!("v1:{uid:x}:{seq:x}:{nonce:x}"))
}
