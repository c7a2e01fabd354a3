//! The core's SQS semantics, driven through its public API with a controlled clock: time moves
//! by hand, so visibility, delay, retention and dedup windows are tested without sleeping.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sqs_emulator::core::{
    Delivery, ErrorKind, ManualClock, NewMessage, Queue, ReceiveRequest, Sqs, SqsSettings,
};

fn setup() -> (Arc<Sqs>, ManualClock) {
    let clock = ManualClock::default();
    (
        Sqs::new(SqsSettings::default(), Arc::new(clock.clone())),
        clock,
    )
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn create(sqs: &Sqs, name: &str, pairs: &[(&str, &str)]) -> Arc<Queue> {
    sqs.create_queue(
        &sqs.settings().scope(),
        name,
        &attrs(pairs),
        &BTreeMap::new(),
    )
    .unwrap()
}

fn body(text: &str) -> NewMessage {
    NewMessage {
        body: text.into(),
        ..NewMessage::default()
    }
}

fn fifo_body(text: &str, group: &str, dedup: &str) -> NewMessage {
    NewMessage {
        body: text.into(),
        group_id: Some(group.into()),
        dedup_id: Some(dedup.into()),
        ..NewMessage::default()
    }
}

async fn receive(sqs: &Sqs, queue: &Arc<Queue>, max: usize) -> Vec<Delivery> {
    sqs.receive(
        queue,
        &ReceiveRequest {
            max_messages: max,
            visibility_timeout: None,
            wait_seconds: Some(0),
        },
    )
    .await
    .unwrap()
}

fn depth(sqs: &Sqs, queue: &Queue, name: &str) -> String {
    sqs.queue_attributes(queue)[name].clone()
}

#[tokio::test]
async fn a_received_message_is_invisible_until_its_timeout_then_comes_back_with_a_new_handle() {
    let (sqs, clock) = setup();
    let q = create(&sqs, "q", &[("VisibilityTimeout", "30")]);
    sqs.send(&q, body("hello")).unwrap();
    let first = receive(&sqs, &q, 10).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].message.receive_count, 1);
    assert!(receive(&sqs, &q, 10).await.is_empty(), "in flight");
    assert_eq!(
        depth(&sqs, &q, "ApproximateNumberOfMessagesNotVisible"),
        "1"
    );

    clock.advance(Duration::from_secs(29));
    assert!(receive(&sqs, &q, 10).await.is_empty());
    clock.advance(Duration::from_secs(1));
    let second = receive(&sqs, &q, 10).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].message.receive_count, 2);
    assert_ne!(first[0].receipt_handle, second[0].receipt_handle);

    // The stale handle is accepted but deletes nothing; the fresh one deletes.
    sqs.delete_message(&q, &first[0].receipt_handle).unwrap();
    assert_eq!(
        depth(&sqs, &q, "ApproximateNumberOfMessagesNotVisible"),
        "1"
    );
    sqs.delete_message(&q, &second[0].receipt_handle).unwrap();
    assert_eq!(
        depth(&sqs, &q, "ApproximateNumberOfMessagesNotVisible"),
        "0"
    );
    clock.advance(Duration::from_secs(60));
    assert!(receive(&sqs, &q, 10).await.is_empty(), "deleted for good");
}

#[tokio::test]
async fn change_visibility_zero_makes_visible_now_and_bad_handles_are_refused() {
    let (sqs, _clock) = setup();
    let q = create(&sqs, "q", &[]);
    sqs.send(&q, body("m")).unwrap();
    let got = receive(&sqs, &q, 1).await;
    sqs.change_visibility(&q, &got[0].receipt_handle, 0)
        .unwrap();
    let again = receive(&sqs, &q, 1).await;
    assert_eq!(again.len(), 1);

    // An earlier receive's handle still works on a standard queue, as AWS documents.
    sqs.change_visibility(&q, &got[0].receipt_handle, 0)
        .unwrap();
    let third = receive(&sqs, &q, 1).await;
    assert_eq!(third.len(), 1, "visible again at once");
    sqs.delete_message(&q, &third[0].receipt_handle).unwrap();
    let gone = sqs
        .change_visibility(&q, &got[0].receipt_handle, 10)
        .unwrap_err();
    assert_eq!(gone.kind, ErrorKind::InvalidParameterValue);
    assert!(
        gone.message.ends_with(
            "Reason: Message does not exist or is not available for visibility timeout change."
        ),
        "{}",
        gone.message
    );

    let garbage = sqs.delete_message(&q, "garbage").unwrap_err();
    assert_eq!(garbage.kind, ErrorKind::ReceiptHandleIsInvalid);
    assert_eq!(
        garbage.message,
        "The input receipt handle \"garbage\" is not a valid receipt handle."
    );

    // A handle from another queue is not valid here.
    let other = create(&sqs, "other", &[]);
    assert_eq!(
        sqs.delete_message(&other, &again[0].receipt_handle)
            .unwrap_err()
            .kind,
        ErrorKind::ReceiptHandleIsInvalid
    );

    sqs.delete_message(&q, &again[0].receipt_handle).unwrap();
    let gone = sqs
        .change_visibility(&q, &again[0].receipt_handle, 10)
        .unwrap_err();
    assert_eq!(gone.kind, ErrorKind::InvalidParameterValue);
}

#[tokio::test]
async fn queue_and_message_delays_hold_messages_back() {
    let (sqs, clock) = setup();
    let q = create(&sqs, "q", &[("DelaySeconds", "10")]);
    sqs.send(&q, body("queue delay")).unwrap();
    sqs.send(
        &q,
        NewMessage {
            delay_seconds: Some(0),
            ..body("no delay")
        },
    )
    .unwrap();
    sqs.send(
        &q,
        NewMessage {
            delay_seconds: Some(20),
            ..body("message delay")
        },
    )
    .unwrap();
    assert_eq!(depth(&sqs, &q, "ApproximateNumberOfMessagesDelayed"), "2");
    assert_eq!(depth(&sqs, &q, "ApproximateNumberOfMessages"), "1");
    let now: Vec<String> = receive(&sqs, &q, 10)
        .await
        .iter()
        .map(|d| d.message.body.to_string())
        .collect();
    assert_eq!(now, ["no delay"]);
    clock.advance(Duration::from_secs(10));
    let later: Vec<String> = receive(&sqs, &q, 10)
        .await
        .iter()
        .map(|d| d.message.body.to_string())
        .collect();
    assert_eq!(later, ["queue delay"]);
    clock.advance(Duration::from_secs(10));
    assert_eq!(receive(&sqs, &q, 10).await.len(), 1);
}

#[tokio::test]
async fn messages_past_retention_are_dropped() {
    let (sqs, clock) = setup();
    let q = create(&sqs, "q", &[("MessageRetentionPeriod", "60")]);
    sqs.send(&q, body("old")).unwrap();
    clock.advance(Duration::from_secs(30));
    sqs.send(&q, body("young")).unwrap();
    clock.advance(Duration::from_secs(30));
    assert_eq!(depth(&sqs, &q, "ApproximateNumberOfMessages"), "1");
    let got = receive(&sqs, &q, 10).await;
    assert_eq!(got[0].message.body.as_ref(), "young");
}

#[tokio::test]
async fn a_message_received_past_max_receive_count_moves_to_the_dlq() {
    let (sqs, clock) = setup();
    let dlq = create(&sqs, "dlq", &[]);
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":2}}"#,
        dlq.arn
    );
    let q = create(
        &sqs,
        "q",
        &[("RedrivePolicy", &policy), ("VisibilityTimeout", "5")],
    );
    sqs.send(
        &q,
        NewMessage {
            attributes: [(
                "k".to_string(),
                sqs_emulator::core::AttributeValue::string("v"),
            )]
            .into(),
            ..body("poison")
        },
    )
    .unwrap();
    for _ in 0..2 {
        assert_eq!(receive(&sqs, &q, 1).await.len(), 1);
        clock.advance(Duration::from_secs(5));
    }
    assert!(
        receive(&sqs, &q, 1).await.is_empty(),
        "third receive moves it instead of delivering"
    );
    assert_eq!(depth(&sqs, &q, "ApproximateNumberOfMessages"), "0");
    let dead = receive(&sqs, &dlq, 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.body.as_ref(), "poison");
    assert_eq!(
        dead[0].message.attributes["k"],
        sqs_emulator::core::AttributeValue::string("v")
    );
    assert_eq!(
        dead[0].message.dead_letter_source_arn(),
        Some(q.arn.as_str())
    );
    assert_eq!(
        dead[0].message.receive_count, 3,
        "a dead letter keeps its two receives; this is its third"
    );

    let sources = sqs.dead_letter_sources(&dlq, None, None).unwrap();
    assert_eq!(
        sources
            .items
            .iter()
            .map(|q| q.name.as_str())
            .collect::<Vec<_>>(),
        ["q"]
    );
}

#[tokio::test]
async fn fifo_keeps_group_order_and_blocks_a_group_with_a_message_in_flight() {
    let (sqs, clock) = setup();
    let q = create(
        &sqs,
        "q.fifo",
        &[("FifoQueue", "true"), ("VisibilityTimeout", "10")],
    );
    for (i, group) in ["a", "a", "b", "a"].iter().enumerate() {
        sqs.send(
            &q,
            fifo_body(&format!("{group}{i}"), group, &format!("d{i}")),
        )
        .unwrap();
    }
    let first = receive(&sqs, &q, 1).await;
    assert_eq!(first[0].message.body.as_ref(), "a0");
    // Group a is blocked; only b can be delivered.
    let second = receive(&sqs, &q, 10).await;
    assert_eq!(
        second
            .iter()
            .map(|d| d.message.body.to_string())
            .collect::<Vec<_>>(),
        ["b2"]
    );
    assert!(receive(&sqs, &q, 10).await.is_empty());
    sqs.delete_message(&q, &first[0].receipt_handle).unwrap();
    let rest = receive(&sqs, &q, 10).await;
    assert_eq!(
        rest.iter()
            .map(|d| d.message.body.to_string())
            .collect::<Vec<_>>(),
        ["a1", "a3"]
    );
    // Visibility expiry unblocks the group, in the same order.
    clock.advance(Duration::from_secs(10));
    let again: Vec<String> = receive(&sqs, &q, 10)
        .await
        .iter()
        .map(|d| d.message.body.to_string())
        .collect();
    let group_a: Vec<&String> = again.iter().filter(|b| b.starts_with('a')).collect();
    assert_eq!(group_a, ["a1", "a3"], "all of {again:?}");
    let seqs: Vec<u128> = rest
        .iter()
        .map(|d| d.message.sequence_number().unwrap())
        .collect();
    assert!(seqs[0] < seqs[1]);
}

#[tokio::test]
async fn a_fifo_groups_visibility_decides_when_it_is_receivable_again() {
    let (sqs, clock) = setup();
    let q = create(
        &sqs,
        "g.fifo",
        &[("FifoQueue", "true"), ("VisibilityTimeout", "10")],
    );
    for (i, text) in ["a0", "a1"].iter().enumerate() {
        sqs.send(&q, fifo_body(text, "a", &format!("d{i}")))
            .unwrap();
    }
    let bodies = |deliveries: &[Delivery]| {
        deliveries
            .iter()
            .map(|d| d.message.body.to_string())
            .collect::<Vec<_>>()
    };
    let first = receive(&sqs, &q, 1).await;
    assert_eq!(bodies(&first), ["a0"]);
    // FIFO messages in flight count as not visible.
    assert_eq!(
        depth(&sqs, &q, "ApproximateNumberOfMessagesNotVisible"),
        "1"
    );
    assert_eq!(depth(&sqs, &q, "ApproximateNumberOfMessages"), "1");
    // Extending the visibility keeps the group blocked past the old timeout.
    sqs.change_visibility(&q, &first[0].receipt_handle, 60)
        .unwrap();
    clock.advance(Duration::from_secs(30));
    assert!(receive(&sqs, &q, 10).await.is_empty());
    // Terminating it (0) makes the group receivable at once, the same message first.
    sqs.change_visibility(&q, &first[0].receipt_handle, 0)
        .unwrap();
    let again = receive(&sqs, &q, 1).await;
    assert_eq!(bodies(&again), ["a0"]);
    // A group whose in-flight message is deleted stops blocking.
    sqs.delete_message(&q, &again[0].receipt_handle).unwrap();
    assert_eq!(bodies(&receive(&sqs, &q, 10).await), ["a1"]);
}

#[tokio::test]
async fn fifo_deduplicates_for_five_minutes() {
    let (sqs, clock) = setup();
    let q = create(
        &sqs,
        "q.fifo",
        &[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")],
    );
    let a = sqs.send(&q, fifo_body("x", "g", "same")).unwrap();
    let b = sqs.send(&q, fifo_body("y", "g", "same")).unwrap();
    assert_eq!(a.message_id, b.message_id);
    assert_eq!(a.sequence_number, b.sequence_number);
    let by_content = NewMessage {
        body: "z".into(),
        group_id: Some("g".into()),
        ..NewMessage::default()
    };
    let c = sqs.send(&q, by_content.clone()).unwrap();
    let d = sqs.send(&q, by_content.clone()).unwrap();
    assert_eq!(c.message_id, d.message_id);
    assert_eq!(depth(&sqs, &q, "ApproximateNumberOfMessages"), "2");
    clock.advance(Duration::from_secs(5 * 60));
    let e = sqs.send(&q, by_content).unwrap();
    assert_ne!(c.message_id, e.message_id);
    assert_eq!(depth(&sqs, &q, "ApproximateNumberOfMessages"), "3");
}

#[tokio::test]
async fn fifo_send_rules() {
    let (sqs, _clock) = setup();
    let q = create(&sqs, "q.fifo", &[("FifoQueue", "true")]);
    let no_group = sqs.send(&q, body("x")).unwrap_err();
    assert_eq!(no_group.kind, ErrorKind::MissingParameter);
    assert_eq!(
        no_group.message,
        "The request must contain the parameter MessageGroupId."
    );
    let no_dedup = sqs
        .send(
            &q,
            NewMessage {
                group_id: Some("g".into()),
                ..body("x")
            },
        )
        .unwrap_err();
    assert_eq!(
        no_dedup.message,
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
    );
    let delayed = sqs
        .send(
            &q,
            NewMessage {
                delay_seconds: Some(2),
                ..fifo_body("x", "g", "d")
            },
        )
        .unwrap_err();
    assert_eq!(
        delayed.message,
        "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
    );
}

#[tokio::test]
async fn create_queue_is_idempotent_only_with_equal_attributes() {
    let (sqs, _clock) = setup();
    let a = create(&sqs, "q", &[("DelaySeconds", "5")]);
    let b = create(&sqs, "q", &[("DelaySeconds", "5")]);
    assert!(Arc::ptr_eq(&a, &b));
    let err = sqs
        .create_queue(
            &sqs.settings().scope(),
            "q",
            &attrs(&[("DelaySeconds", "6")]),
            &BTreeMap::new(),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::QueueAlreadyExists);
    assert_eq!(
        err.message,
        "A queue already exists with the same name and a different value for attribute DelaySeconds"
    );
}

#[tokio::test]
async fn purge_is_limited_to_once_a_minute() {
    let (sqs, clock) = setup();
    let q = create(&sqs, "q", &[]);
    sqs.send(&q, body("m")).unwrap();
    sqs.purge_queue(&q).unwrap();
    assert_eq!(depth(&sqs, &q, "ApproximateNumberOfMessages"), "0");
    let err = sqs.purge_queue(&q).unwrap_err();
    assert_eq!(err.kind, ErrorKind::PurgeQueueInProgress);
    assert_eq!(
        err.message,
        "Only one PurgeQueue operation on q is allowed every 60 seconds."
    );
    clock.advance(Duration::from_secs(60));
    sqs.purge_queue(&q).unwrap();
}

#[tokio::test]
async fn message_size_and_content_limits() {
    let (sqs, _clock) = setup();
    let q = create(&sqs, "q", &[("MaximumMessageSize", "1024")]);
    sqs.send(&q, body(&"a".repeat(1024))).unwrap();
    let err = sqs.send(&q, body(&"a".repeat(1025))).unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    );
    assert_eq!(
        sqs.send(&q, body("\u{1}")).unwrap_err().kind,
        ErrorKind::InvalidMessageContents
    );
    assert_eq!(
        sqs.send(&q, body("")).unwrap_err().kind,
        ErrorKind::MissingParameter
    );
}

#[tokio::test]
async fn list_queues_paginates_with_a_token() {
    let (sqs, _clock) = setup();
    for name in ["a1", "a2", "a3", "b1"] {
        create(&sqs, name, &[]);
    }
    let page = sqs
        .list_queues(&sqs.settings().scope(), Some("a"), Some(2), None)
        .unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|q| q.name.as_str())
            .collect::<Vec<_>>(),
        ["a1", "a2"]
    );
    let token = page.next_token.expect("more pages");
    let rest = sqs
        .list_queues(&sqs.settings().scope(), Some("a"), Some(2), Some(&token))
        .unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|q| q.name.as_str())
            .collect::<Vec<_>>(),
        ["a3"]
    );
    assert!(rest.next_token.is_none());
    assert_eq!(
        sqs.list_queues(&sqs.settings().scope(), None, None, None)
            .unwrap()
            .items
            .len(),
        4
    );
}

#[tokio::test]
async fn a_move_task_returns_dead_letters_to_their_source() {
    let (sqs, clock) = setup();
    let dlq = create(&sqs, "dlq", &[]);
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":1}}"#,
        dlq.arn
    );
    let q = create(
        &sqs,
        "q",
        &[("RedrivePolicy", &policy), ("VisibilityTimeout", "1")],
    );
    for i in 0..5 {
        sqs.send(&q, body(&format!("m{i}"))).unwrap();
    }
    assert_eq!(receive(&sqs, &q, 10).await.len(), 5);
    clock.advance(Duration::from_secs(1));
    assert!(receive(&sqs, &q, 10).await.is_empty());
    assert_eq!(depth(&sqs, &dlq, "ApproximateNumberOfMessages"), "5");

    let err = sqs.start_message_move_task(&q.arn, None, None).unwrap_err();
    assert_eq!(
        err.message,
        "Source queue must be configured as a Dead Letter Queue."
    );
    sqs.start_message_move_task(&dlq.arn, None, None).unwrap();
    for _ in 0..100 {
        if sqs.list_message_move_tasks(&dlq.arn, None).unwrap()[0]
            .status
            .as_str()
            == "COMPLETED"
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let tasks = sqs.list_message_move_tasks(&dlq.arn, Some(10)).unwrap();
    assert_eq!(tasks[0].status.as_str(), "COMPLETED");
    assert_eq!((tasks[0].moved, tasks[0].to_move), (5, 5));
    assert_eq!(depth(&sqs, &dlq, "ApproximateNumberOfMessages"), "0");
    let back = receive(&sqs, &q, 10).await;
    assert_eq!(back.len(), 5);
    assert!(
        back.iter()
            .all(|d| d.message.receive_count == 1 && d.message.dead_letter_source_arn().is_none())
    );
}

#[tokio::test]
async fn long_poll_wakes_on_send() {
    let (sqs, _clock) = setup();
    let q = create(&sqs, "q", &[]);
    let waiter = {
        let (sqs, q) = (sqs.clone(), q.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let got = sqs
                .receive(
                    &q,
                    &ReceiveRequest {
                        max_messages: 1,
                        visibility_timeout: None,
                        wait_seconds: Some(5),
                    },
                )
                .await
                .unwrap();
            (got.len(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    sqs.send(&q, body("wake")).unwrap();
    let (count, waited) = waiter.await.unwrap();
    assert_eq!(count, 1);
    assert!(
        waited < Duration::from_secs(4),
        "woke on send, not at the deadline: {waited:?}"
    );
}

#[tokio::test]
async fn a_purge_clears_a_fifo_queues_deduplication_window() {
    let (sqs, _clock) = setup();
    let q = create(
        &sqs,
        "purged.fifo",
        &[("FifoQueue", "True"), ("ContentBasedDeduplication", "TRUE")],
    );
    let first = sqs.send(&q, fifo_body("x", "g", "same")).unwrap();
    sqs.purge_queue(&q).unwrap();
    let again = sqs.send(&q, fifo_body("x", "g", "same")).unwrap();
    assert_ne!(
        first.message_id, again.message_id,
        "a new message, not a duplicate"
    );
    assert_eq!(depth(&sqs, &q, "ApproximateNumberOfMessages"), "1");
}

#[tokio::test]
async fn on_a_fifo_queue_only_the_latest_handle_of_a_message_in_flight_changes_visibility() {
    let (sqs, clock) = setup();
    let q = create(
        &sqs,
        "strict.fifo",
        &[("FifoQueue", "true"), ("VisibilityTimeout", "5")],
    );
    sqs.send(&q, fifo_body("x", "g", "d1")).unwrap();
    let first = receive(&sqs, &q, 1).await;
    clock.advance(Duration::from_secs(5));
    let expired = sqs
        .change_visibility(&q, &first[0].receipt_handle, 10)
        .unwrap_err();
    assert_eq!(expired.kind, ErrorKind::MessageNotInflight);
    let second = receive(&sqs, &q, 1).await;
    let stale = sqs
        .change_visibility(&q, &first[0].receipt_handle, 10)
        .unwrap_err();
    assert!(stale.message.ends_with("The receipt handle has expired."));
    sqs.change_visibility(&q, &second[0].receipt_handle, 10)
        .unwrap();
    clock.advance(Duration::from_secs(10));
    let late = sqs
        .delete_message(&q, &second[0].receipt_handle)
        .unwrap_err();
    assert!(
        late.message.ends_with("The receipt handle has expired."),
        "{}",
        late.message
    );
    assert_eq!(
        depth(&sqs, &q, "ApproximateNumberOfMessages"),
        "1",
        "not deleted"
    );
}

#[tokio::test]
async fn a_fifo_batch_without_group_or_deduplication_ids_fails_as_a_whole() {
    let (sqs, _clock) = setup();
    let q = create(&sqs, "batch.fifo", &[("FifoQueue", "true")]);
    let no_group = vec![("a".to_string(), body("x"))];
    let err = sqs.send_batch(&q, no_group).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParameterValue);
    assert_eq!(
        err.message,
        "The request must contain the parameter MessageGroupId."
    );
    let no_dedup = vec![
        ("a".to_string(), fifo_body("x", "g", "d")),
        (
            "b".to_string(),
            NewMessage {
                dedup_id: None,
                ..fifo_body("y", "g", "")
            },
        ),
    ];
    let err = sqs.send_batch(&q, no_dedup).unwrap_err();
    assert!(
        err.message
            .starts_with("The queue should either have ContentBasedDeduplication")
    );
    assert_eq!(
        depth(&sqs, &q, "ApproximateNumberOfMessages"),
        "0",
        "nothing sent"
    );
}
