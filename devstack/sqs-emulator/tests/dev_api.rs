//! The developer endpoints: stats and peek show every state and change nothing.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::Value;

#[tokio::test]
async fn stats_and_peek_see_every_state_without_changing_anything() {
    let sqs = common::start().await;
    let url = sqs.create("peeked").await;
    for body in ["a", "b"] {
        sqs.client
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    sqs.client
        .send_message()
        .queue_url(&url)
        .message_body("later")
        .delay_seconds(60)
        .send()
        .await
        .unwrap();
    let taken = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(taken.messages().len(), 1);

    let base = sqs.emulator.endpoint();
    let stats: Value = reqwest::get(format!("{base}/_slipway/queues"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let queue = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "peeked")
        .unwrap();
    assert_eq!(
        (
            queue["visible"].as_u64(),
            queue["in_flight"].as_u64(),
            queue["delayed"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        (
            queue["sent"].as_u64(),
            queue["received"].as_u64(),
            queue["deleted"].as_u64()
        ),
        (Some(3), Some(1), Some(0))
    );
    assert!(queue["oldest_age_seconds"].as_f64().unwrap() >= 0.0);

    for _ in 0..2 {
        let peeked: Value = reqwest::get(format!("{base}/_slipway/queues/peeked/messages"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut states: Vec<&str> = peeked
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["state"].as_str().unwrap())
            .collect();
        states.sort_unstable();
        assert_eq!(states, ["delayed", "in_flight", "visible"]);
    }
    // Peeking twice received nothing: the visible message is still on its first receive.
    let got = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.messages()[0].attributes().unwrap()
            [&MessageSystemAttributeName::ApproximateReceiveCount],
        "1"
    );

    let missing = reqwest::get(format!("{base}/_slipway/queues/nope/messages"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad = reqwest::get(format!("{base}/_slipway/queues/peeked/messages?limit=0"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn stats_report_rates_over_the_last_ten_seconds() {
    let clock = sqs_emulator::core::ManualClock::new(1_700_000_000_000);
    let emulator = sqs_emulator::server::Emulator::builder()
        .clock(std::sync::Arc::new(clock.clone()))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = common::client_for(&emulator.endpoint());
    let url = client
        .create_queue()
        .queue_name("rated")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // 30 sends and 10 receives-and-deletes, spread over ten seconds.
    for _ in 0..10 {
        for body in ["a", "b", "c"] {
            client
                .send_message()
                .queue_url(&url)
                .message_body(body)
                .send()
                .await
                .unwrap();
        }
        let got = client
            .receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap();
        let handle = got.messages()[0].receipt_handle().unwrap().to_string();
        client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(handle)
            .send()
            .await
            .unwrap();
        clock.advance(std::time::Duration::from_secs(1));
    }
    let stats: Value = reqwest::get(format!("{}/_slipway/queues", emulator.endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rates = &stats[0]["rates"];
    assert_eq!(rates["sent_per_second"].as_f64(), Some(3.0), "{rates}");
    assert_eq!(rates["received_per_second"].as_f64(), Some(1.0), "{rates}");
    assert_eq!(rates["deleted_per_second"].as_f64(), Some(1.0), "{rates}");
    // A quiet minute later the rates are back to zero.
    clock.advance(std::time::Duration::from_secs(60));
    let stats: Value = reqwest::get(format!("{}/_slipway/queues", emulator.endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats[0]["rates"]["sent_per_second"].as_f64(), Some(0.0));
}
