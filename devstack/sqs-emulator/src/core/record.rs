//! What a journal records: a queue's definition ([`QueueRecord`]) and each durable
//! [`Change`]. Data only, with no behaviour: the queue emits these ([`super::queue`]) and the
//! restorer replays them ([`super::changes`]), and neither needs the other to name them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Permission;
use super::attributes::QueueConfig;
use super::message::Message;

/// A queue's definition: everything about it but its messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueRecord {
    /// The id message records name the queue by (also in receipt handles).
    pub uid: u64,
    /// Region (format 2 on; queues of older data are in the emulator's default region).
    pub region: String,
    /// Owning account.
    pub account: String,
    /// Name.
    pub name: String,
    /// Attributes.
    pub config: QueueConfig,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Permissions by label.
    pub permissions: BTreeMap<String, Permission>,
    /// Created, ms since epoch.
    pub created_at: u64,
    /// Last attribute change, ms since epoch.
    pub last_modified_at: u64,
    /// The next message sequence (so numbers are not reused).
    pub next_seq: u64,
    /// The next FIFO sequence number.
    pub next_sequence_number: u128,
}

/// One durable change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Change {
    /// A queue was created or changed (attributes, tags, permissions).
    Queue(QueueRecord),
    /// A queue was deleted, with its messages.
    QueueDeleted {
        /// The queue.
        uid: u64,
    },
    /// A message was sent or moved in, or (in a snapshot) is there.
    Put {
        /// The queue.
        uid: u64,
        /// Its place in the queue.
        seq: u64,
        /// The message, with its receive count.
        message: Message,
        /// When its delay ends, ms since epoch.
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
        /// First receive, ms since epoch.
        first_received_at: Option<u64>,
    },
    /// A message was deleted, expired, or moved out.
    Removed {
        /// The queue.
        uid: u64,
        /// Its place.
        seq: u64,
    },
    /// Every message of a queue was purged.
    Purged {
        /// The queue.
        uid: u64,
    },
}
