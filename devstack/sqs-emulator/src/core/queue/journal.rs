//! The queue as a journal sees it: a snapshot of its messages as [`Change`]s, and the replay
//! of recorded changes after a restart (in-flight messages come back visible, receive counts
//! and FIFO deduplication ids survive).

use super::{MessageState, QueueState};
use crate::core::attributes::QueueConfig;
use crate::core::limits::DEDUP_WINDOW_MILLIS;
use crate::core::message::Message;
use crate::core::record::Change;

impl QueueState {
    /// Records the removal of a message taken by a receive or a move, once it is safe.
    pub fn record_removed(&mut self, seq: u64) {
        self.record(|uid| Change::Removed { uid, seq });
    }

    /// Every message as a journal snapshot records it: in-flight ones as visible again,
    /// delayed ones with their delay. In send order.
    pub fn snapshot(&self) -> impl Iterator<Item = Change> + '_ {
        self.expiry.iter().filter_map(|&(_, seq)| {
            let entry = self.entries.get(&seq)?;
            let delayed_until = match entry.state {
                MessageState::Delayed(at) => Some(at),
                MessageState::Ready | MessageState::InFlight(_) => None,
            };
            Some(Change::Put {
                uid: self.uid,
                seq,
                message: entry.message.clone(),
                delayed_until,
            })
        })
    }

    /// Replays a recorded `Put`: the message, at its place, visible (or delayed); a message
    /// already there is replaced. FIFO deduplication ids still in their window are
    /// remembered again.
    pub fn restore_put(
        &mut self,
        config: &QueueConfig,
        seq: u64,
        message: Message,
        delayed_until: Option<u64>,
    ) {
        self.remove(seq);
        if let Some(number) = message.sequence_number() {
            self.next_sequence_number = self.next_sequence_number.max(number);
        }
        if let (true, Some(dedup_id)) = (self.fifo, message.dedup_id()) {
            let key = if config.deduplication_scope == "messageGroup" {
                format!(
                    "{}\u{0}{dedup_id}",
                    message.group_id.as_deref().unwrap_or_default()
                )
            } else {
                dedup_id.to_string()
            };
            self.remember_dedup(key, message.sent_at + DEDUP_WINDOW_MILLIS, &message);
        }
        let state = delayed_until.map_or(MessageState::Ready, MessageState::Delayed);
        self.insert_at(seq, message, state);
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Replays a recorded `Received`: the receive count and first receive survive; the
    /// message stays visible (a restart ends every visibility timeout).
    pub fn restore_received(
        &mut self,
        seq: u64,
        receive_count: u32,
        first_received_at: Option<u64>,
    ) {
        if let Some(entry) = self.entries.get_mut(&seq) {
            entry.message.receive_count = receive_count;
            entry.message.first_received_at = first_received_at;
        }
    }

    /// Replays a recorded `Removed`.
    pub fn restore_removed(&mut self, seq: u64) {
        self.remove(seq);
    }

    /// Continues the counters after a restart. Receipt nonces start from the clock, so a
    /// handle from before the restart never names a receive after it.
    pub fn resume(&mut self, next_seq: u64, next_sequence_number: u128, now: u64) {
        self.next_seq = self.next_seq.max(next_seq);
        self.next_sequence_number = self.next_sequence_number.max(next_sequence_number);
        self.next_nonce = self.next_nonce.max(now << 20);
    }
}
