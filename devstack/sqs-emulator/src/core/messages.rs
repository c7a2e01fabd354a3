//! The message actions of [`Sqs`]: send (one or a batch), the long-polling receive with its
//! dead-letter move, delete, visibility, and the developer's peek and stats. Each runs on one
//! queue's state under its lock (`Sqs::locked`); the queue's own rules are
//! [`super::queue`].

use std::sync::Arc;
use std::time::Duration;

use super::error::{ErrorKind, Result, SqsError};
use super::queue::{self, Delivery, NewMessage, Peeked, SendOutcome};
use super::{AttributeData, Queue, QueueInner, QueueStats, ReceiveRequest, Sqs, limits};

impl Sqs {
    /// Sends a message.
    pub fn send(&self, queue: &Queue, message: NewMessage) -> Result<SendOutcome> {
        let now = self.now();
        let outcome = self.locked(queue, |inner| {
            let QueueInner { config, state, .. } = inner;
            state.send(config, message, &queue.sender, now)
        })?;
        queue.notify.notify_waiters();
        Ok(outcome)
    }

    /// Sends a batch: the batch is checked as a whole (size; on a FIFO queue, every entry's
    /// group and deduplication id, which AWS checks before any entry), then each entry on its
    /// own.
    pub fn send_batch(
        &self,
        queue: &Queue,
        entries: Vec<(String, NewMessage)>,
    ) -> Result<Vec<(String, Result<SendOutcome>)>> {
        limits::validate_batch_ids(
            "SendMessageBatchRequestEntry",
            entries.iter().map(|(id, _)| id.as_str()),
        )?;
        let config = queue.config();
        if config.fifo {
            if entries.iter().any(|(_, m)| m.group_id.is_none()) {
                return Err(SqsError::new(
                    ErrorKind::InvalidParameterValue,
                    "The request must contain the parameter MessageGroupId.",
                ));
            }
            if !config.content_based_deduplication
                && entries.iter().any(|(_, m)| m.dedup_id.is_none())
            {
                return Err(SqsError::new(
                    ErrorKind::InvalidParameterValue,
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
        }
        let total: usize = entries
            .iter()
            .map(|(_, m)| {
                m.body.len()
                    + m.attributes
                        .iter()
                        .map(|(k, v)| {
                            k.len()
                                + v.data_type.len()
                                + match &v.value {
                                    AttributeData::Text(s) => s.len(),
                                    AttributeData::Bytes(b) => b.len(),
                                }
                        })
                        .sum::<usize>()
            })
            .sum();
        if total > limits::MAX_MESSAGE_SIZE {
            return Err(SqsError::new(
                ErrorKind::BatchRequestTooLong,
                format!(
                    "Batch requests cannot be longer than {} bytes. You have sent {total} bytes.",
                    limits::MAX_MESSAGE_SIZE
                ),
            ));
        }
        let now = self.now();
        let results = self.locked(queue, |inner| {
            let QueueInner { config, state, .. } = inner;
            entries
                .into_iter()
                .map(|(id, m)| (id, state.send(config, m, &queue.sender, now)))
                .collect()
        });
        queue.notify.notify_waiters();
        Ok(results)
    }

    /// Receives messages, long-polling up to the wait time: parks until a send, a visibility
    /// expiry or the end of a delay, with no busy loop.
    pub async fn receive(
        &self,
        queue: &Arc<Queue>,
        request: &ReceiveRequest,
    ) -> Result<Vec<Delivery>> {
        let wait = request
            .wait_seconds
            .unwrap_or_else(|| queue.inner.lock().config.receive_wait_seconds);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        loop {
            let notified = queue.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (deliveries, next_wakeup) = self.receive_now(queue, request)?;
            let now = tokio::time::Instant::now();
            if !deliveries.is_empty() || now >= deadline {
                return Ok(deliveries);
            }
            let mut sleep_until = deadline;
            if let Some(at) = next_wakeup {
                let in_ms = at.saturating_sub(self.now());
                sleep_until = sleep_until.min(now + Duration::from_millis(in_ms.max(1)));
            }
            if !self
                .queues
                .read()
                .contains_key(&(queue.scope.clone(), queue.name.clone()))
            {
                return Err(SqsError::queue_does_not_exist());
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(sleep_until) => {}
            }
        }
    }

    /// One receive attempt without waiting; also returns when the next timer is due.
    fn receive_now(
        &self,
        queue: &Queue,
        request: &ReceiveRequest,
    ) -> Result<(Vec<Delivery>, Option<u64>)> {
        let policy = queue.inner.lock().config.redrive_policy.clone();
        let dlq = policy
            .as_ref()
            .and_then(|p| self.queue_by_arn(&p.dead_letter_target_arn));
        let max_receive_count = dlq
            .as_ref()
            .and(policy.as_ref())
            .map(|p| p.max_receive_count);
        let now = self.now();
        let (deliveries, dead, next_wakeup) = self.locked(queue, |inner| {
            let QueueInner { config, state, .. } = inner;
            let visibility = request
                .visibility_timeout
                .unwrap_or(config.visibility_timeout)
                * 1000;
            let terms = queue::Terms {
                max: request.max_messages.max(1),
                visibility_ms: visibility,
                max_receive_count,
                now,
            };
            let found = state.receive(config, terms);
            (found.delivered, found.dead, state.next_wakeup())
        });
        if let (Some(dlq), false) = (dlq, dead.is_empty()) {
            let source: Arc<str> = Arc::from(queue.arn.as_str());
            let seqs: Vec<u64> = dead.iter().map(|d| d.seq).collect();
            self.locked(&dlq, |inner| {
                for dead_letter in dead {
                    let mut message = dead_letter.message;
                    message.set_dead_letter_source_arn(Some(source.clone()));
                    inner.state.push_moved(message, now);
                }
            });
            // Only now that they are on the DLQ: a crash before this line leaves a
            // duplicate, never a loss.
            self.locked(queue, |inner| {
                for seq in seqs {
                    inner.state.record_removed(seq);
                }
            });
            dlq.notify.notify_waiters();
        }
        Ok((deliveries, next_wakeup))
    }

    /// Deletes a message by receipt handle.
    pub fn delete_message(&self, queue: &Queue, receipt_handle: &str) -> Result<()> {
        let now = self.now();
        self.locked(queue, |inner| {
            let QueueInner { config, state, .. } = inner;
            state.delete(config, receipt_handle, now)
        })
    }

    /// Changes a message's visibility timeout (seconds; 0 makes it visible now).
    pub fn change_visibility(
        &self,
        queue: &Queue,
        receipt_handle: &str,
        timeout_seconds: u64,
    ) -> Result<()> {
        let now = self.now();
        self.locked(queue, |inner| {
            let QueueInner { config, state, .. } = inner;
            state.change_visibility(config, receipt_handle, timeout_seconds * 1000, now)
        })?;
        queue.notify.notify_waiters();
        Ok(())
    }

    /// Messages without receiving them (developer peek).
    pub fn peek(&self, queue: &Queue, limit: usize) -> Vec<Peeked> {
        let now = self.now();
        self.locked(queue, |inner| {
            let QueueInner { config, state, .. } = inner;
            state.peek(config, now, limit)
        })
    }

    /// Depths, totals and rates of a queue, and the send time of its oldest message.
    pub fn stats(&self, queue: &Queue) -> QueueStats {
        let now = self.now();
        self.locked(queue, |inner| {
            let QueueInner { config, state, .. } = inner;
            QueueStats {
                depths: state.depths(config, now),
                totals: state.totals(),
                rates: state.rates(now),
                oldest_sent_at: state.oldest_sent_at(),
            }
        })
    }
}
