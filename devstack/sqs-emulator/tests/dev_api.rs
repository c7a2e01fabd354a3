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
