//! The core under random operation sequences (proptest): sends, batch sends, receives with
//! short visibility timeouts, deletes, visibility changes, purges and the clock moving, on a
//! standard and a FIFO queue that dead-letter after two receives.
//!
//! After every step the core's own invariants hold (each message in exactly one state and
//! indexed for it alone; depths add up; FIFO groups count their in-flight messages), and at the
//! end every message sent is accounted for exactly once: still queued (in its queue or the
//! DLQ), deleted, or purged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use sqs_emulator::core::{ManualClock, NewMessage, Queue, ReceiveRequest, Sqs, SqsSettings};

#[derive(Debug, Clone)]
enum Op {
    Send { delay: u64, group: u8 },
    SendBatch { count: usize, group: u8 },
    Receive { max: usize, visibility: u64 },
    Delete { index: usize },
    ChangeVisibility { index: usize, timeout: u64 },
    Advance { seconds: u64 },
    Purge,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u64, 0..3u8).prop_map(|(delay, group)| Op::Send { delay, group }),
        2 => (1..=10usize, 0..3u8).prop_map(|(count, group)| Op::SendBatch { count, group }),
        4 => (1..=10usize, 0..4u64).prop_map(|(max, visibility)| Op::Receive { max, visibility }),
        3 => any::<usize>().prop_map(|index| Op::Delete { index }),
        1 => (any::<usize>(), 0..4u64).prop_map(|(index, timeout)| Op::ChangeVisibility { index, timeout }),
        2 => (0..5u64).prop_map(|seconds| Op::Advance { seconds }),
        1 => Just(Op::Purge),
    ]
}

/// What the test knows happened, to account for every message at the end.
#[derive(Default)]
struct Ledger {
    sent: BTreeSet<String>,
    deleted: BTreeSet<String>,
    purged: BTreeSet<String>,
    /// Receipt handles handed out, with their bodies.
    handles: Vec<(String, String)>,
    next_body: usize,
}

impl Ledger {
    fn body(&mut self) -> String {
        self.next_body += 1;
        format!("m{}", self.next_body)
    }
}

fn create(sqs: &Sqs, name: &str, attributes: &[(&str, String)]) -> Arc<Queue> {
    let attributes: BTreeMap<String, String> = attributes
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    sqs.create_queue(&sqs.settings().scope(), name, &attributes, &BTreeMap::new())
        .unwrap()
}

fn queued_bodies(sqs: &Sqs, queue: &Queue) -> BTreeSet<String> {
    sqs.peek(queue, usize::MAX)
        .into_iter()
        .map(|p| p.message.body.to_string())
        .collect()
}

async fn run(fifo: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = ManualClock::default();
    let sqs = Sqs::new(SqsSettings::default(), Arc::new(clock.clone()));
    let suffix = if fifo { ".fifo" } else { "" };
    let fifo_attributes: Vec<(&str, String)> = if fifo {
        vec![
            ("FifoQueue", "true".into()),
            ("ContentBasedDeduplication", "true".into()),
        ]
    } else {
        Vec::new()
    };
    let dlq = create(&sqs, &format!("dlq{suffix}"), &fifo_attributes);
    let mut attributes = fifo_attributes.clone();
    attributes.push((
        "RedrivePolicy",
        format!(
            r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"2"}}"#,
            dlq.arn
        ),
    ));
    let queue = create(&sqs, &format!("work{suffix}"), &attributes);
    let mut ledger = Ledger::default();
    let message = |ledger: &mut Ledger, delay: u64, group: u8| {
        let body = ledger.body();
        ledger.sent.insert(body.clone());
        NewMessage {
            body,
            delay_seconds: (!fifo).then_some(delay),
            group_id: fifo.then(|| format!("g{group}")),
            ..NewMessage::default()
        }
    };
    for op in ops {
        match op {
            Op::Send { delay, group } => {
                let m = message(&mut ledger, delay, group);
                sqs.send(&queue, m).unwrap();
            }
            Op::SendBatch { count, group } => {
                let entries = (0..count)
                    .map(|i| (format!("e{i}"), message(&mut ledger, 0, group)))
                    .collect();
                for (_, result) in sqs.send_batch(&queue, entries).unwrap() {
                    result.unwrap();
                }
            }
            Op::Receive { max, visibility } => {
                for target in [&queue, &dlq] {
                    let request = ReceiveRequest {
                        max_messages: max,
                        visibility_timeout: Some(visibility),
                        wait_seconds: Some(0),
                    };
                    for delivery in sqs.receive(target, &request).await.unwrap() {
                        ledger
                            .handles
                            .push((delivery.receipt_handle, delivery.message.body.to_string()));
                    }
                }
            }
            Op::Delete { index } if !ledger.handles.is_empty() => {
                let (handle, body) = ledger.handles[index % ledger.handles.len()].clone();
                // A stale handle is accepted and deletes nothing: only count a delete when
                // the message is gone afterwards.
                for target in [&queue, &dlq] {
                    let before = queued_bodies(&sqs, target).contains(&body);
                    if sqs.delete_message(target, &handle).is_ok()
                        && before
                        && !queued_bodies(&sqs, target).contains(&body)
                    {
                        ledger.deleted.insert(body.clone());
                    }
                }
            }
            Op::ChangeVisibility { index, timeout } if !ledger.handles.is_empty() => {
                let (handle, _) = &ledger.handles[index % ledger.handles.len()];
                // Refused for stale handles and messages not in flight; either way nothing
                // may break.
                let _ = sqs.change_visibility(&queue, handle, timeout);
            }
            Op::Delete { .. } | Op::ChangeVisibility { .. } => {}
            Op::Advance { seconds } => clock.advance(Duration::from_secs(seconds)),
            Op::Purge => {
                let before = queued_bodies(&sqs, &queue);
                if sqs.purge_queue(&queue).is_ok() {
                    ledger.purged.extend(before);
                }
            }
        }
        for target in [&queue, &dlq] {
            if let Err(broken) = sqs.check_invariants(target) {
                return Err(TestCaseError::fail(format!("{}: {broken}", target.name)));
            }
        }
    }
    let in_queue = queued_bodies(&sqs, &queue);
    let in_dlq = queued_bodies(&sqs, &dlq);
    prop_assert!(in_queue.is_disjoint(&in_dlq), "a message is in both queues");
    let places = [&in_queue, &in_dlq, &ledger.deleted, &ledger.purged];
    for body in &ledger.sent {
        let found = places.iter().filter(|p| p.contains(body)).count();
        prop_assert_eq!(found, 1, "{} is accounted for {} times", body, found);
    }
    let total: usize = places.iter().map(|p| p.len()).sum();
    prop_assert_eq!(
        total,
        ledger.sent.len(),
        "nothing appears that was not sent"
    );
    Ok(())
}

fn block_on(
    future: impl std::future::Future<Output = Result<(), TestCaseError>>,
) -> Result<(), TestCaseError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(future)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_standard_queue_keeps_its_invariants_and_loses_nothing(ops in proptest::collection::vec(op(), 1..120)) {
        block_on(run(false, ops))?;
    }

    #[test]
    fn a_fifo_queue_keeps_its_invariants_and_loses_nothing(ops in proptest::collection::vec(op(), 1..120)) {
        block_on(run(true, ops))?;
    }
}
