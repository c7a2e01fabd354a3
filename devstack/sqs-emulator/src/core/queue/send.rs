//! Sending: validating a message against the queue's rules (size, delay, FIFO group and
//! deduplication), answering a duplicate inside the deduplication window with the first
//! send's outcome, and enqueueing — or, for a dead letter or a move task, enqueueing a
//! message moved from another queue.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{DedupRecord, MessageState, NewMessage, QueueState, SendOutcome};
use crate::core::attributes::QueueConfig;
use crate::core::error::{ErrorKind, Result, SqsError};
use crate::core::life::{self, LifeEventKind};
use crate::core::limits::{self, DEDUP_WINDOW_MILLIS};
use crate::core::message::{self, Attributes, Message};
use crate::core::rates::Event;
use crate::core::record::Change;

impl QueueState {
    /// Validates and enqueues a message.
    pub fn send(
        &mut self,
        config: &QueueConfig,
        new: NewMessage,
        sender_id: &Arc<str>,
        now: u64,
    ) -> Result<SendOutcome> {
        self.tick(config, now);
        let prepared = prepare(config, new)?;
        let body_md5 = message::md5_hex(prepared.new.body.as_bytes());
        let attributes_md5 = message::attributes_md5(&prepared.new.attributes);
        let system_attributes_md5 = prepared.new.trace_header.as_ref().and_then(|t| {
            let mut system = Attributes::new();
            system.insert(
                "AWSTraceHeader".into(),
                message::AttributeValue::string(t.clone()),
            );
            message::attributes_md5(&system)
        });
        if let Some(key) = &prepared.dedup_key
            && let Some(record) = self.dedup.get(key)
        {
            return Ok(SendOutcome {
                message_id: record.message_id,
                body_md5,
                attributes_md5,
                system_attributes_md5,
                sequence_number: record.sequence_number,
            });
        }
        let NewMessage {
            body,
            attributes,
            trace_header,
            group_id,
            ..
        } = prepared.new;
        let sequence_number = self.fifo.then(|| {
            self.next_sequence_number += 1;
            self.next_sequence_number
        });
        let attributes = if attributes.is_empty() {
            message::no_attributes()
        } else {
            Arc::new(attributes)
        };
        let mut message = Message::new(Arc::from(body), attributes, sender_id.clone(), now);
        message.group_id = group_id.map(Arc::from);
        if trace_header.is_some() {
            message.set_trace_header(trace_header.map(Arc::from));
        }
        if self.fifo {
            message.set_dedup_id(prepared.dedup_id.map(Arc::from));
            message.set_sequence_number(sequence_number);
        }
        if let Some(key) = prepared.dedup_key {
            self.remember_dedup(key, now + DEDUP_WINDOW_MILLIS, &message);
        }
        let message_id = message.id;
        let delay = prepared.delay_seconds * 1000;
        let state = if delay > 0 {
            MessageState::Delayed(now + delay)
        } else {
            MessageState::Ready
        };
        let seq = self.insert_recorded(message, state);
        self.note(seq, None, |m| LifeEventKind::Sent {
            delay_millis: delay,
            trace: life::trace_of(m),
        });
        self.totals.sent += 1;
        self.rates.count(Event::Sent, now);
        Ok(SendOutcome {
            message_id,
            body_md5,
            attributes_md5,
            system_attributes_md5,
            sequence_number,
        })
    }

    /// Adds a message moved from another queue (a dead-letter move or a redrive): ready at
    /// once, send time kept. A dead letter keeps its receive count, as in SQS; a message a
    /// move task brings back starts again from none.
    pub fn push_moved(&mut self, mut message: Message, now: u64) {
        if message.dead_letter_source_arn().is_none() {
            message.receive_count = 0;
            message.first_received_at = None;
        }
        if self.fifo {
            self.next_sequence_number += 1;
            message.set_sequence_number(Some(self.next_sequence_number));
            if message.group_id.is_none() {
                message.group_id = Some(Arc::from("default"));
            }
        }
        let seq = self.insert_recorded(message, MessageState::Ready);
        self.note(seq, None, |m| LifeEventKind::MovedIn {
            dead_letter_from: m.dead_letter_source_arn().map(Arc::from),
            trace: life::trace_of(m),
        });
        self.totals.sent += 1;
        self.rates.count(Event::Sent, now);
    }

    /// Inserts a new message and records it for the journal; returns its place.
    fn insert_recorded(&mut self, message: Message, state: MessageState) -> u64 {
        let journaled = self.changes.is_some().then(|| message.clone());
        let seq = self.insert(message, state);
        if let Some(message) = journaled {
            let delayed_until = match state {
                MessageState::Delayed(at) => Some(at),
                MessageState::Ready | MessageState::InFlight(_) => None,
            };
            self.record(|uid| Change::Put {
                uid,
                seq,
                message,
                delayed_until,
            });
        }
        seq
    }

    pub(super) fn remember_dedup(&mut self, key: String, expires_at: u64, message: &Message) {
        self.dedup.insert(
            key.clone(),
            DedupRecord {
                expires_at,
                message_id: message.id,
                sequence_number: message.sequence_number(),
            },
        );
        self.dedup_expiry.push_back((expires_at, key));
    }
}

struct Prepared {
    new: NewMessage,
    delay_seconds: u64,
    dedup_id: Option<String>,
    dedup_key: Option<String>,
}

/// Checks a new message against the queue's rules and works out its delay and dedup key.
fn prepare(config: &QueueConfig, new: NewMessage) -> Result<Prepared> {
    if new.body.is_empty() {
        return Err(SqsError::missing_parameter("MessageBody"));
    }
    limits::validate_body_chars(&new.body)?;
    let attributes_size = message::validate_attributes(&new.attributes)?;
    if new.body.len() + attributes_size > config.maximum_message_size {
        return Err(SqsError::new(
            ErrorKind::InvalidParameterValue,
            format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
                config.maximum_message_size
            ),
        ));
    }
    if let Some(group) = &new.group_id {
        limits::validate_fifo_token("MessageGroupId", group)?;
    }
    if let Some(dedup) = &new.dedup_id {
        limits::validate_fifo_token("MessageDeduplicationId", dedup)?;
    }
    if !config.fifo {
        let delay_seconds = new.delay_seconds.unwrap_or(config.delay_seconds);
        return Ok(Prepared {
            new,
            delay_seconds,
            dedup_id: None,
            dedup_key: None,
        });
    }
    if let Some(delay) = new.delay_seconds.filter(|d| *d > 0) {
        return Err(SqsError::invalid_parameter(
            "DelaySeconds",
            delay,
            "The request include parameter that is not valid for this queue type.",
        ));
    }
    let Some(group) = new.group_id.clone() else {
        return Err(SqsError::missing_parameter("MessageGroupId"));
    };
    let dedup_id = match (&new.dedup_id, config.content_based_deduplication) {
        (Some(id), _) => id.clone(),
        (None, true) => hex::encode(Sha256::digest(new.body.as_bytes())),
        (None, false) => {
            return Err(SqsError::new(
                ErrorKind::InvalidParameterValue,
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
    };
    let dedup_key = if config.deduplication_scope == "messageGroup" {
        format!("{group}\u{0}{dedup_id}")
    } else {
        dedup_id.clone()
    };
    Ok(Prepared {
        new,
        delay_seconds: config.delay_seconds,
        dedup_id: Some(dedup_id),
        dedup_key: Some(dedup_key),
    })
}
