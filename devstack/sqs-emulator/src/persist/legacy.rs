//! Records of older formats, read to be upgraded: a build reads every format it ever wrote,
//! and the compaction that follows every start rewrites them in the current one.
//!
//! Format 1 (and the headerless format 0 before it) had no region in a queue's record: every
//! queue was in the emulator's one region. Its records are read as [`ChangeV1`], which
//! mirrors [`Change`] as it was (postcard encodes variants by position and fields in order,
//! so the mirror must keep both), and upgraded into the emulator's default region.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::core::attributes::QueueConfig;
use crate::core::{Change, Message, Permission, QueueRecord};

/// A queue's record in format 1: [`QueueRecord`] without its region.
#[derive(Debug, Deserialize)]
pub struct QueueRecordV1 {
    uid: u64,
    account: String,
    name: String,
    config: QueueConfig,
    tags: BTreeMap<String, String>,
    permissions: BTreeMap<String, Permission>,
    created_at: u64,
    last_modified_at: u64,
    next_seq: u64,
    next_sequence_number: u128,
}

/// A change in format 1; only [`ChangeV1::Queue`] differs from today's [`Change`].
#[derive(Debug, Deserialize)]
pub enum ChangeV1 {
    /// A queue was created or changed.
    Queue(QueueRecordV1),
    /// A queue was deleted.
    QueueDeleted {
        /// The queue.
        uid: u64,
    },
    /// A message was sent or moved in.
    Put {
        /// The queue.
        uid: u64,
        /// Its place.
        seq: u64,
        /// The message.
        message: Message,
        /// When its delay ends.
        delayed_until: Option<u64>,
    },
    /// A message was received.
    Received {
        /// The queue.
        uid: u64,
        /// Its place.
        seq: u64,
        /// Receives so far.
        receive_count: u32,
        /// First receive.
        first_received_at: Option<u64>,
    },
    /// A message was removed.
    Removed {
        /// The queue.
        uid: u64,
        /// Its place.
        seq: u64,
    },
    /// A queue was purged.
    Purged {
        /// The queue.
        uid: u64,
    },
}

impl ChangeV1 {
    /// Today's change, its queue in `region`.
    pub fn upgrade(self, region: &str) -> Change {
        match self {
            Self::Queue(q) => Change::Queue(QueueRecord {
                uid: q.uid,
                region: region.to_string(),
                account: q.account,
                name: q.name,
                config: q.config,
                tags: q.tags,
                permissions: q.permissions,
                created_at: q.created_at,
                last_modified_at: q.last_modified_at,
                next_seq: q.next_seq,
                next_sequence_number: q.next_sequence_number,
            }),
            Self::QueueDeleted { uid } => Change::QueueDeleted { uid },
            Self::Put {
                uid,
                seq,
                message,
                delayed_until,
            } => Change::Put {
                uid,
                seq,
                message,
                delayed_until,
            },
            Self::Received {
                uid,
                seq,
                receive_count,
                first_received_at,
            } => Change::Received {
                uid,
                seq,
                receive_count,
                first_received_at,
            },
            Self::Removed { uid, seq } => Change::Removed { uid, seq },
            Self::Purged { uid } => Change::Purged { uid },
        }
    }
}
