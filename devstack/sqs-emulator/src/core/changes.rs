//! Durable changes: how the core hands its [`Change`]s to a journal, and how a journal's
//! records rebuild it ([`Restorer`]). The records themselves are [`super::record`].
//!
//! Every change that must survive a restart is a [`Change`], emitted in the order it happened
//! (per queue, under the queue's lock). Each one is *absolute*, not relative — "message 7 has
//! been received 3 times", never "once more" — so replaying a record twice, or replaying a
//! record over a snapshot that already holds it, gives the same state. That is what lets
//! [`crate::persist`] compact the log while the emulator keeps serving.
//!
//! Visibility timeouts are not recorded: a restart makes every in-flight message visible again,
//! as a crashed SQS host would. Move tasks and statistics are not recorded either.

use std::collections::HashMap;
use std::sync::Arc;

use super::attributes::QueueConfig;
use super::queue::QueueState;
use super::record::{Change, QueueRecord};
use super::{Queue, QueueInner, Sqs};

/// Where the core sends its changes: the journal of a persistent emulator.
pub trait ChangeSink: Send + Sync {
    /// Appends `changes`, in order. Called under the lock of the queue they belong to, so that
    /// per queue the journal's order is the order they happened in.
    fn append(&self, changes: Vec<Change>);

    /// When requests must wait for their changes to reach the disk (fsync on every write):
    /// how many changes were appended so far, and a receiver of how many are on disk.
    fn durability(&self) -> Option<(u64, tokio::sync::watch::Receiver<Synced>)>;
}

/// How far a journal has synced to disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// Changes on disk (a count of appends).
    pub appended: u64,
    /// Why writing stopped, if it did.
    pub failed: Option<String>,
}

impl QueueInner {
    pub(crate) fn record(&self, queue: &Queue) -> QueueRecord {
        let (next_seq, next_sequence_number) = self.state.counters();
        QueueRecord {
            uid: self.state.uid(),
            region: queue.scope.region.clone(),
            account: queue.scope.account.clone(),
            name: queue.name.clone(),
            config: self.config.clone(),
            tags: self.tags.clone(),
            permissions: self.permissions.clone(),
            created_at: self.created_at,
            last_modified_at: self.last_modified_at,
            next_seq,
            next_sequence_number,
        }
    }
}

impl Sqs {
    /// Replaces every queue and message with those `changes` describe (an image's, see
    /// [`crate::persist::image`]): the queues there are now are dropped (their long polls
    /// return), then `changes` are applied in order. Returns how many queues there are now.
    ///
    /// Nothing is journaled: a persistent emulator compacts right after, so its data
    /// directory holds the new state.
    pub fn replace_all(&self, changes: Vec<Change>) -> usize {
        let dropped: Vec<Arc<Queue>> = {
            let mut queues = self.queues.write();
            let dropped = queues.values().cloned().collect();
            queues.clear();
            dropped
        };
        for queue in dropped {
            queue.notify.notify_waiters();
        }
        let mut restorer = Restorer::new(self);
        for change in changes {
            restorer.apply(change);
        }
        restorer.queues()
    }
}

/// Rebuilds an emulator from a journal's records, in the order they were written.
pub struct Restorer<'a> {
    sqs: &'a Sqs,
    by_uid: HashMap<u64, Arc<Queue>>,
}

impl<'a> Restorer<'a> {
    /// Restores into `sqs`, which should be empty and not yet serving.
    pub fn new(sqs: &'a Sqs) -> Self {
        Self {
            sqs,
            by_uid: HashMap::new(),
        }
    }

    /// The region of queues whose records name none (data of format 1 and before).
    pub fn default_region(&self) -> &str {
        &self.sqs.settings().region
    }

    /// Applies one record. Records of queues that no longer exist are skipped.
    pub fn apply(&mut self, change: Change) {
        let now = self.sqs.now();
        match change {
            Change::Queue(record) => {
                let uid = record.uid;
                match self.by_uid.get(&uid) {
                    Some(queue) => {
                        let mut inner = queue.inner.lock();
                        inner.config = record.config;
                        inner.tags = record.tags;
                        inner.permissions = record.permissions;
                        inner.last_modified_at = record.last_modified_at;
                        inner
                            .state
                            .resume(record.next_seq, record.next_sequence_number, now);
                    }
                    None => {
                        let queue = self.sqs.insert_restored(record, now);
                        self.by_uid.insert(uid, queue);
                    }
                }
            }
            Change::QueueDeleted { uid } => {
                if let Some(queue) = self.by_uid.remove(&uid) {
                    self.sqs.remove_restored(&queue);
                }
            }
            Change::Put {
                uid,
                seq,
                message,
                delayed_until,
            } => self.with_state(uid, |state, config| {
                state.restore_put(config, seq, message, delayed_until);
            }),
            Change::Received {
                uid,
                seq,
                receive_count,
                first_received_at,
            } => self.with_state(uid, |state, _| {
                state.restore_received(seq, receive_count, first_received_at);
            }),
            Change::Removed { uid, seq } => {
                self.with_state(uid, |state, _| state.restore_removed(seq));
            }
            Change::Purged { uid } => self.with_state(uid, |state, _| state.purge()),
        }
    }

    fn with_state(&self, uid: u64, f: impl FnOnce(&mut QueueState, &QueueConfig)) {
        if let Some(queue) = self.by_uid.get(&uid) {
            let mut inner = queue.inner.lock();
            let QueueInner { config, state, .. } = &mut *inner;
            f(state, config);
        }
    }

    /// How many queues were restored.
    pub fn queues(&self) -> usize {
        self.by_uid.len()
    }
}
