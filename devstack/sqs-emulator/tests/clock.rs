//! The virtual clock, through HTTP and the real aws-sdk-sqs: `POST /_slipway/clock/advance`
//! moves the emulator's time, and visibility timeouts, delays, retention, redrive and long
//! polls follow it; `GET /_slipway/clock` reads it; bad steps are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{Value, json};

use common::TestSqs;

async fn advance(sqs: &TestSqs, seconds: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/_slipway/clock/advance",
            sqs.emulator.endpoint()
        ))
        .json(&json!({ "seconds": seconds }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn create(sqs: &TestSqs, name: &str, attributes: &[(QueueAttributeName, &str)]) -> String {
    let mut request = sqs.client.create_queue().queue_name(name);
    for (name, value) in attributes {
        request = request.attributes(name.clone(), *value);
    }
    request.send().await.unwrap().queue_url.unwrap()
}

async fn receive(sqs: &TestSqs, url: &str, wait: i32) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.client
        .receive_message()
        .queue_url(url)
        .wait_time_seconds(wait)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

async fn send(sqs: &TestSqs, url: &str, body: &str, delay: i32) {
    sqs.client
        .send_message()
        .queue_url(url)
        .message_body(body)
        .delay_seconds(delay)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn visibility_delay_and_retention_follow_the_clock() {
    let sqs = common::start().await;
    let url = create(
        &sqs,
        "clocked",
        &[(QueueAttributeName::VisibilityTimeout, "300")],
    )
    .await;
    send(&sqs, &url, "in flight", 0).await;
    assert_eq!(receive(&sqs, &url, 0).await.len(), 1);
    assert!(receive(&sqs, &url, 0).await.is_empty());
    let (status, clock) = advance(&sqs, json!(301)).await;
    assert_eq!(status, 200, "{clock}");
    assert_eq!(clock["offset_ms"], 301_000);
    let again = receive(&sqs, &url, 0).await;
    assert_eq!(again.len(), 1);
    let attributes = again[0].attributes.as_ref().unwrap();
    assert_eq!(
        attributes[&MessageSystemAttributeName::ApproximateReceiveCount],
        "2"
    );
    sqs.client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(again[0].receipt_handle.clone().unwrap())
        .send()
        .await
        .unwrap();

    send(&sqs, &url, "delayed", 900).await;
    assert!(receive(&sqs, &url, 0).await.is_empty());
    advance(&sqs, json!(900)).await;
    let delayed = receive(&sqs, &url, 0).await;
    assert_eq!(delayed[0].body(), Some("delayed"));
    // Sent in virtual time: SentTimestamp is past the wall clock by the offset.
    let sent: u64 = delayed[0].attributes.as_ref().unwrap()
        [&MessageSystemAttributeName::SentTimestamp]
        .parse()
        .unwrap();
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(sent > wall + 300_000, "sent {sent}, wall {wall}");

    let short = create(
        &sqs,
        "short-lived",
        &[(QueueAttributeName::MessageRetentionPeriod, "60")],
    )
    .await;
    send(&sqs, &short, "expires", 0).await;
    advance(&sqs, json!(61.5)).await;
    assert_eq!(
        sqs.attribute(&short, "ApproximateNumberOfMessages").await,
        "0"
    );
    assert!(receive(&sqs, &short, 0).await.is_empty());
}

#[tokio::test]
async fn retries_reach_the_dead_letter_queue_without_waiting() {
    let sqs = common::start().await;
    let dlq = create(&sqs, "retries-dlq", &[]).await;
    let dlq_arn = sqs.arn(&dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"3"}}"#);
    let url = create(
        &sqs,
        "retries",
        &[
            (QueueAttributeName::VisibilityTimeout, "120"),
            (QueueAttributeName::RedrivePolicy, &policy),
        ],
    )
    .await;
    send(&sqs, &url, "poison", 0).await;
    for _ in 0..3 {
        assert_eq!(receive(&sqs, &url, 0).await.len(), 1);
        advance(&sqs, json!(120)).await;
    }
    // The fourth receive finds the count exceeded and moves the message.
    assert!(receive(&sqs, &url, 0).await.is_empty());
    let dead = receive(&sqs, &dlq, 0).await;
    assert_eq!(dead[0].body(), Some("poison"));
}

#[tokio::test]
async fn a_long_poll_returns_when_the_clock_makes_its_message_visible() {
    let sqs = common::start().await;
    let url = create(
        &sqs,
        "polled",
        &[(QueueAttributeName::VisibilityTimeout, "600")],
    )
    .await;
    send(&sqs, &url, "later", 0).await;
    assert_eq!(receive(&sqs, &url, 0).await.len(), 1);
    let poll = {
        let (client, url) = (sqs.client.clone(), url.clone());
        tokio::spawn(async move {
            client
                .receive_message()
                .queue_url(url)
                .wait_time_seconds(20)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    advance(&sqs, json!(600)).await;
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), poll)
        .await
        .expect("the long poll did not return after the clock moved")
        .unwrap();
    assert_eq!(got[0].body(), Some("later"));
}

#[tokio::test]
async fn the_clock_reads_and_refuses_bad_steps() {
    let sqs = common::start().await;
    let read = || async {
        reqwest::get(format!("{}/_slipway/clock", sqs.emulator.endpoint()))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = read().await;
    assert_eq!(before["offset_ms"], 0);
    assert!(before["now_unix_ms"].as_u64().unwrap() > 1_700_000_000_000);
    for bad in [json!(-1), json!("ten"), json!(null), json!(1e12)] {
        let (status, body) = advance(&sqs, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].as_str().unwrap().len() > 10, "{body}");
    }
    advance(&sqs, json!(0.25)).await;
    let (_, after) = advance(&sqs, json!(10)).await;
    assert_eq!(after["offset_ms"], 10_250);
    assert_eq!(read().await["offset_ms"], 10_250);
}

#[tokio::test]
async fn a_rate_limited_move_task_follows_the_clock() {
    let sqs = common::start().await;
    // A move task's source is a dead-letter queue: of `moved-to`, here.
    let source = create(&sqs, "moved-from", &[]).await;
    let source_arn = sqs.arn(&source).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{source_arn}","maxReceiveCount":"5"}}"#);
    let target = create(
        &sqs,
        "moved-to",
        &[(QueueAttributeName::RedrivePolicy, &policy)],
    )
    .await;
    let target_arn = sqs.arn(&target).await;
    for i in 0..30 {
        send(&sqs, &source, &format!("m{i}"), 0).await;
    }
    sqs.client
        .start_message_move_task()
        .source_arn(&source_arn)
        .destination_arn(&target_arn)
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .unwrap();
    // At one a second the task would take 30 s of wall time; 30 s of the emulator's time
    // takes none.
    advance(&sqs, json!(30)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let task = sqs
            .client
            .list_message_move_tasks()
            .source_arn(&source_arn)
            .send()
            .await
            .unwrap()
            .results
            .unwrap()
            .remove(0);
        if task.status() == Some("COMPLETED") {
            assert_eq!(task.approximate_number_of_messages_moved(), 30);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the task did not follow the clock: {task:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        sqs.attribute(&target, "ApproximateNumberOfMessages").await,
        "30"
    );
}
