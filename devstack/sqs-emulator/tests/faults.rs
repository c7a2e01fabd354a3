//! Fault rules through HTTP and the real aws-sdk-sqs: an injected error reaches the SDK with
//! its code and status, over both protocols; latency delays; a dropped connection ends with no
//! answer; a duplicate delivery hands a message out twice; rules run out, are listed with
//! their firings, removed, and refused with a reason when wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

use common::TestSqs;

/// A client that does not retry, so each injected error is seen once.
fn no_retries(endpoint: &str) -> Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

async fn add_rule(sqs: &TestSqs, rule: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/_slipway/faults", sqs.emulator.endpoint()))
        .json(&rule)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn rules(sqs: &TestSqs) -> Vec<Value> {
    reqwest::get(format!("{}/_slipway/faults", sqs.emulator.endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_error_rule_reaches_the_sdk_with_its_code_until_it_runs_out() {
    let sqs = common::start().await;
    let url = sqs.create("orders").await;
    let client = no_retries(&sqs.emulator.endpoint());
    let (status, rule) = add_rule(
        &sqs,
        json!({"actions": ["SendMessage", "SendMessageBatch"], "queue": "orders", "probability": 1.0,
               "error": {"code": "ServiceUnavailable", "status": 503}, "count": 2}),
    )
    .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["remaining"], 2);
    for _ in 0..2 {
        let error = client
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .send()
            .await
            .unwrap_err();
        let raw = error.raw_response().map(|r| r.status().as_u16());
        assert_eq!(raw, Some(503));
        assert_eq!(
            error.into_service_error().meta().code(),
            Some("ServiceUnavailable")
        );
    }
    // Other actions were never touched; the rule is used up and gone.
    client
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap();
    client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .send()
        .await
        .unwrap();
    assert!(rules(&sqs).await.is_empty());
    let stats: Vec<Value> = reqwest::get(format!("{}/_slipway/queues", sqs.emulator.endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats[0]["faults_fired"], 2);
}

#[tokio::test]
async fn an_error_over_the_query_protocol_is_an_error_response() {
    let sqs = common::start().await;
    sqs.create("q").await;
    add_rule(
        &sqs,
        json!({"queue": "q", "error": {"code": "ThrottlingException", "message": "slow down"}}),
    )
    .await;
    let response = reqwest::Client::new()
        .post(sqs.emulator.endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=ReceiveMessage&QueueUrl=q")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert!(body.contains("<Code>ThrottlingException</Code>"), "{body}");
    assert!(body.contains("<Type>Sender</Type>"), "{body}");
    assert!(body.contains("<Message>slow down</Message>"), "{body}");
}

#[tokio::test]
async fn latency_delays_and_a_dropped_connection_gets_no_answer() {
    let sqs = common::start().await;
    let url = sqs.create("slow").await;
    add_rule(
        &sqs,
        json!({"actions": ["GetQueueAttributes"], "latency": {"ms": 300}, "count": 1}),
    )
    .await;
    let started = Instant::now();
    sqs.attribute(&url, "QueueArn").await;
    assert!(started.elapsed() >= Duration::from_millis(300));

    add_rule(
        &sqs,
        json!({"actions": ["ListQueues"], "drop_connection": true, "count": 1}),
    )
    .await;
    let dropped = reqwest::Client::new()
        .post(sqs.emulator.endpoint())
        .header("x-amz-target", "AmazonSQS.ListQueues")
        .header("content-type", "application/x-amz-json-1.0")
        .body("{}")
        .send()
        .await;
    let error = dropped.expect_err("a dropped connection answered");
    assert!(!error.is_status(), "{error}");
    // The rule fired once; the next request is served.
    let listed = no_retries(&sqs.emulator.endpoint())
        .list_queues()
        .send()
        .await
        .unwrap();
    assert_eq!(listed.queue_urls().len(), 1);
}

#[tokio::test]
async fn a_duplicate_delivery_hands_a_message_out_twice() {
    let sqs = common::start().await;
    let url = sqs.create("twice").await;
    sqs.client
        .send_message()
        .queue_url(&url)
        .message_body("once")
        .send()
        .await
        .unwrap();
    add_rule(
        &sqs,
        json!({"actions": ["ReceiveMessage"], "queue": "twice", "duplicate": true, "count": 1}),
    )
    .await;
    let receive = || async {
        sqs.client
            .receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
    };
    let first = receive().await;
    let second = receive().await;
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1, "the duplicate was not delivered");
    assert_eq!(first[0].message_id, second[0].message_id);
    // Both consumers can delete: the first handle still works.
    sqs.client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(first[0].receipt_handle.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert!(receive().await.is_empty());
}

#[tokio::test]
async fn rules_are_listed_removed_and_refused_with_a_reason() {
    let sqs = common::start().await;
    let endpoint = sqs.emulator.endpoint();
    for (bad, says) in [
        (
            json!({"actions": ["Fly"], "drop_connection": true}),
            "unknown action",
        ),
        (json!({"probability": 3, "duplicate": true}), "probability"),
        (json!({"queue": "q"}), "exactly one effect"),
        (json!({"error": {"code": "X", "status": 302}}), "400 to 599"),
    ] {
        let (status, body) = add_rule(&sqs, bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{bad}: {body}"
        );
    }
    let (_, first) = add_rule(
        &sqs,
        json!({"queue": "a*", "latency": {"min_ms": 1, "max_ms": 2}, "duration": "1h"}),
    )
    .await;
    add_rule(&sqs, json!({"drop_connection": true, "probability": 0})).await;
    let listed = rules(&sqs).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["queue"], "a*");
    assert_eq!(listed[0]["fired"], 0);
    assert!(listed[0]["expires_in_ms"].as_u64().unwrap() > 3_000_000);
    let client = reqwest::Client::new();
    let id = first["id"].as_str().unwrap();
    let removed = client
        .delete(format!("{endpoint}/_slipway/faults/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let again = client
        .delete(format!("{endpoint}/_slipway/faults/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let cleared: Value = client
        .delete(format!("{endpoint}/_slipway/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["removed"], 1);
    assert!(rules(&sqs).await.is_empty());
}
