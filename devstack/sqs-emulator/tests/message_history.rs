//! A message's life as the history endpoint and the phase sink tell it, driven by the real
//! AWS SDK: a redelivered message, a dead letter, a delay, and what happens without a trace.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use serde_json::Value;
use sqs_emulator::history::PhaseSink;
use sqs_emulator::history::phases::{Phase, PhaseKind};
use sqs_emulator::history::trace_context::TraceContext;
use sqs_emulator::server::Emulator;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[derive(Default)]
struct Collect(Mutex<Vec<(TraceContext, Phase)>>);

impl PhaseSink for Collect {
    fn phases(&self, phases: Vec<(TraceContext, Phase)>) {
        self.0.lock().unwrap().extend(phases);
    }
}

impl Collect {
    fn of(&self, message_id: &str) -> Vec<(TraceContext, Phase)> {
        let phases = self.0.lock().unwrap();
        phases
            .iter()
            .filter(|(_, p)| p.message_id.to_string() == message_id)
            .cloned()
            .collect()
    }
}

async fn start(sink: Arc<Collect>) -> common::TestSqs {
    let emulator = Emulator::builder()
        .phases(sink)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = common::client_for(&emulator.endpoint());
    common::TestSqs { emulator, client }
}

fn traceparent() -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(format!("00-{TRACE_ID}-{PARENT}-01"))
        .build()
        .unwrap()
}

async fn fetch_history(sqs: &common::TestSqs, id: &str) -> (u16, Value) {
    let response = reqwest::get(format!(
        "{}/_slipway/messages/{id}/history",
        sqs.emulator.endpoint()
    ))
    .await
    .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn events(history: &Value) -> Vec<String> {
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["queue"].as_str().unwrap(),
                e["event"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_redelivered_message_shows_two_receives_and_its_phases_in_the_senders_trace() {
    let sink = Arc::new(Collect::default());
    let sqs = start(sink.clone()).await;
    let url = sqs.create("orders").await;
    let sent = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("order")
        .message_attributes("traceparent", traceparent())
        .send()
        .await
        .unwrap();
    let id = sent.message_id.unwrap();
    let receive = || {
        sqs.client
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(30)
            .send()
    };
    let first = receive().await.unwrap().messages.unwrap();
    let handle = first[0].receipt_handle.clone().unwrap();
    // The worker gives up on this try: visible again at once.
    sqs.client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&handle)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let second = receive().await.unwrap().messages.unwrap();
    sqs.client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(second[0].receipt_handle.clone().unwrap())
        .send()
        .await
        .unwrap();

    let (status, history) = fetch_history(&sqs, &id).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(
        events(&history),
        [
            "orders sent",
            "orders received",
            "orders visibility_changed",
            "orders received",
            "orders deleted"
        ]
    );
    assert_eq!(history["events"][1]["receive_count"], 1);
    assert_eq!(history["events"][1]["visibility_millis"], 30_000);
    assert_eq!(history["events"][3]["receive_count"], 2);
    assert_eq!(history["trace_id"], TRACE_ID);
    assert_eq!(history["parent_span_id"], PARENT);
    assert_eq!(history["phase"], Value::Null, "deleted: no phase open");
    assert!(history["durations"]["in_flight_ms"].as_f64().unwrap() > 0.0);

    let phases = sink.of(&id);
    let kinds: Vec<PhaseKind> = phases.iter().map(|(_, p)| p.kind).collect();
    assert_eq!(
        kinds,
        [
            PhaseKind::Waiting,
            PhaseKind::VisibilityChange,
            PhaseKind::InFlight,
            PhaseKind::Waiting,
            PhaseKind::InFlight,
            PhaseKind::Deleted
        ]
    );
    assert!(
        phases
            .iter()
            .all(|(t, _)| hex::encode(t.trace_id) == TRACE_ID)
    );
    assert!(
        phases
            .iter()
            .all(|(t, _)| hex::encode(t.parent_span_id) == PARENT)
    );
    let in_flight: Vec<&Phase> = phases
        .iter()
        .map(|(_, p)| p)
        .filter(|p| p.kind == PhaseKind::InFlight)
        .collect();
    assert_eq!(in_flight[0].receive_count, Some(1));
    assert_eq!(in_flight[0].ended_by, Some("visibility_changed"));
    assert_eq!(in_flight[1].receive_count, Some(2));
    assert_eq!(in_flight[1].ended_by, Some("deleted"));
    assert_eq!(phases[1].1.within, Some(in_flight[0].span_id));
    // One phase ends where the next begins: the message is always somewhere.
    assert_eq!(phases[0].1.end_micros, in_flight[0].start_micros);
    assert_eq!(in_flight[0].end_micros, phases[3].1.start_micros);
    assert_eq!(phases[3].1.end_micros, in_flight[1].start_micros);
}

#[tokio::test]
async fn a_dead_letter_is_moved_with_its_reason_and_a_delay_is_not_waiting() {
    let sink = Arc::new(Collect::default());
    let sqs = start(sink.clone()).await;
    let dlq = sqs.create("orders-dlq").await;
    let dlq_arn = sqs.arn(&dlq).await;
    let url = sqs
        .client
        .create_queue()
        .queue_name("orders")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let id = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("poison")
        .message_attributes("traceparent", traceparent())
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap();
    let receive = |queue: String| {
        let client = sqs.client.clone();
        async move {
            client
                .receive_message()
                .queue_url(queue)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default()
        }
    };
    assert_eq!(receive(url.clone()).await.len(), 1);
    // Its one receive is spent: the next receive moves it to the DLQ instead.
    assert!(receive(url.clone()).await.is_empty());
    assert_eq!(receive(dlq.clone()).await.len(), 1);

    let (_, history) = fetch_history(&sqs, &id).await;
    assert_eq!(
        events(&history),
        [
            "orders sent",
            "orders received",
            "orders visible_again",
            "orders dead_lettered",
            "orders-dlq moved_in",
            "orders-dlq received",
        ]
    );
    assert_eq!(history["events"][3]["max_receive_count"], 1);
    let dead = sink
        .of(&id)
        .into_iter()
        .map(|(_, p)| p)
        .find(|p| p.kind == PhaseKind::DeadLettered)
        .expect("a dead-letter phase");
    assert_eq!(&*dead.queue, "orders-dlq");
    assert!(
        dead.source_queue_arn
            .as_deref()
            .unwrap()
            .ends_with(":orders")
    );
    assert!(
        dead.error
            .as_deref()
            .unwrap()
            .contains("maxReceiveCount is 1")
    );

    let delayed = sqs
        .client
        .send_message()
        .queue_url(&dlq)
        .message_body("later")
        .delay_seconds(1)
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap();
    let (_, history) = fetch_history(&sqs, &delayed).await;
    assert_eq!(history["phase"], "delayed");
    assert_eq!(history["events"][0]["delay_millis"], 1_000);
    assert_eq!(history["trace_id"], Value::Null);
    assert!(sink.of(&delayed).is_empty(), "no trace, no phases");
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_refused_clearly() {
    let sqs = common::start().await;
    let (status, body) = fetch_history(&sqs, "not-a-uuid").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("not a message id"));
    let (status, body) = fetch_history(&sqs, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("history"));

    let off = Emulator::builder()
        .message_history(0)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let response = reqwest::get(format!(
        "{}/_slipway/messages/{}/history",
        off.endpoint(),
        uuid::Uuid::new_v4()
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 404);
    let _: HashMap<String, String> = response.json().await.unwrap();
}
