//! The queue's self-check: the indexes and counts agree with the messages. The proptests and
//! fuzzers call it after every operation.

use std::collections::HashMap;

use super::{Depths, MessageState, QueueState};

impl QueueState {
    /// Checks that the indexes and counts agree with the messages: each message is in exactly
    /// one state and indexed for that state only; the depths add up; FIFO groups count their
    /// in-flight messages right. For tests and fuzzing; returns what is wrong.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        let mut counted = Depths::default();
        let mut group_in_flight: HashMap<&str, usize> = HashMap::new();
        for (&seq, entry) in &self.entries {
            let in_ready = self.ready.contains(&seq);
            match entry.state {
                MessageState::Ready => {
                    counted.visible += 1;
                    if self.fifo == in_ready {
                        return Err(format!("ready message {seq}: in ready index = {in_ready}"));
                    }
                }
                MessageState::Delayed(at) | MessageState::InFlight(at) => {
                    if in_ready || !self.timers.contains(&(at, seq)) {
                        return Err(format!("{:?} message {seq} indexed wrongly", entry.state));
                    }
                    if let MessageState::InFlight(_) = entry.state {
                        counted.in_flight += 1;
                        let group = entry.message.group_id.as_deref().unwrap_or("");
                        *group_in_flight.entry(group).or_default() += 1;
                    } else {
                        counted.delayed += 1;
                    }
                }
            }
            if !self.expiry.contains(&(entry.message.sent_at, seq)) {
                return Err(format!("message {seq} missing from the retention index"));
            }
        }
        if counted != self.depths {
            return Err(format!(
                "depths {:?} but messages say {counted:?}",
                self.depths
            ));
        }
        let indexed = (self.ready.len(), self.timers.len(), self.expiry.len());
        let expected = (
            if self.fifo { 0 } else { counted.visible },
            counted.in_flight + counted.delayed,
            self.entries.len(),
        );
        if indexed != expected {
            return Err(format!("index sizes {indexed:?}, expected {expected:?}"));
        }
        if self.fifo {
            let grouped: usize = self.groups.values().map(|g| g.messages.len()).sum();
            if grouped != self.entries.len() {
                return Err(format!(
                    "{grouped} messages in groups, {} stored",
                    self.entries.len()
                ));
            }
            for (id, group) in &self.groups {
                let actual = group_in_flight.get(&**id).copied().unwrap_or(0);
                if group.in_flight != actual {
                    return Err(format!(
                        "group {id}: in_flight {} but {actual} are",
                        group.in_flight
                    ));
                }
            }
        }
        Ok(())
    }
}
