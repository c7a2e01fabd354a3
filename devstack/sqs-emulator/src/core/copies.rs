//! Copies of an image's queues under new names, beside the queues there are: what
//! `POST /_slipway/snapshot?suffix=S` does, so that each test can start from its own copy of a
//! snapshot's queues and messages (`devstack::testing::TestStack::from_snapshot`).
//!
//! Each copy is named as its original with the suffix (before `.fifo`), gets a new uid (so
//! receipt handles of the two never mix), and a dead-letter target among the copied queues
//! points at that target's copy. Nothing is added when one new name is taken or invalid.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::limits::validate_queue_name;
use super::record::Change;
use super::{Restorer, Scope, Sqs};

/// A queue copied: its name in the image and the copy's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    /// The original's name.
    pub from: String,
    /// The copy's name.
    pub name: String,
}

/// Why no copy was added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyError {
    /// A copy's name would not be a valid queue name.
    #[error("{0}")]
    Invalid(String),
    /// A copy's name is taken.
    #[error("a queue named {0} exists already")]
    Taken(String),
}

/// `orders` + `-t1` is `orders-t1`; `jobs.fifo` + `-t1` is `jobs-t1.fifo`.
pub fn with_suffix(name: &str, suffix: &str) -> String {
    match name.strip_suffix(".fifo") {
        Some(stem) => format!("{stem}{suffix}.fifo"),
        None => format!("{name}{suffix}"),
    }
}

impl Sqs {
    /// Adds a copy of every queue (and its messages) `changes` describe, named with `suffix`;
    /// the error says why nothing was added.
    pub fn add_copies(&self, changes: Vec<Change>, suffix: &str) -> Result<Vec<Copied>, CopyError> {
        let mut uids = HashMap::new();
        let mut arns = HashMap::new();
        let mut copied = Vec::new();
        for change in &changes {
            let Change::Queue(record) = change else {
                continue;
            };
            if uids.contains_key(&record.uid) {
                continue;
            }
            let name = with_suffix(&record.name, suffix);
            validate_queue_name(&name, record.config.fifo)
                .map_err(|e| CopyError::Invalid(format!("{name}: {}", e.message)))?;
            let scope = Scope::new(record.region.clone(), record.account.clone());
            if self
                .queues
                .read()
                .contains_key(&(scope.clone(), name.clone()))
            {
                return Err(CopyError::Taken(name));
            }
            let uid = self.next_uid.fetch_add(1, Ordering::Relaxed) ^ (self.now() << 16);
            uids.insert(record.uid, uid);
            arns.insert(scope.arn(&record.name), scope.arn(&name));
            copied.push(Copied {
                from: record.name.clone(),
                name,
            });
        }
        let mut restorer = Restorer::new(self);
        for change in changes {
            if let Some(change) = renamed(change, &uids, &arns, suffix) {
                restorer.apply(change);
            }
        }
        Ok(copied)
    }
}

/// `change` about the copies: new uid, new name, dead-letter target among the copies.
fn renamed(
    change: Change,
    uids: &HashMap<u64, u64>,
    arns: &HashMap<String, String>,
    suffix: &str,
) -> Option<Change> {
    Some(match change {
        Change::Queue(mut record) => {
            record.uid = *uids.get(&record.uid)?;
            record.name = with_suffix(&record.name, suffix);
            if let Some(policy) = &mut record.config.redrive_policy
                && let Some(copy) = arns.get(&policy.dead_letter_target_arn)
            {
                policy.dead_letter_target_arn = copy.clone();
            }
            Change::Queue(record)
        }
        Change::QueueDeleted { uid } => Change::QueueDeleted {
            uid: *uids.get(&uid)?,
        },
        Change::Put {
            uid,
            seq,
            message,
            delayed_until,
        } => Change::Put {
            uid: *uids.get(&uid)?,
            seq,
            message,
            delayed_until,
        },
        Change::Received {
            uid,
            seq,
            receive_count,
            first_received_at,
        } => Change::Received {
            uid: *uids.get(&uid)?,
            seq,
            receive_count,
            first_received_at,
        },
        Change::Removed { uid, seq } => Change::Removed {
            uid: *uids.get(&uid)?,
            seq,
        },
        Change::Purged { uid } => Change::Purged {
            uid: *uids.get(&uid)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suffix_goes_before_fifo() {
        assert_eq!(with_suffix("orders", "-t1"), "orders-t1");
        assert_eq!(with_suffix("jobs.fifo", "-t1"), "jobs-t1.fifo");
    }
}
