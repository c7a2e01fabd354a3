//! `GET|PUT /_slipway/snapshot` with the real SDK: an image taken, the emulator changed, the
//! image loaded — queues with their attributes, messages (an in-flight one visible again with
//! its receive count, a FIFO queue's order), and the queues made since gone; a damaged or
//! foreign image refused with nothing changed; a persistent emulator keeps what was loaded
//! across a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use sqs_emulator::persist::PersistOptions;
use sqs_emulator::server::Emulator;

use common::{TestSqs, client_for};

async fn take(sqs: &TestSqs) -> Vec<u8> {
    let url = format!("{}/_slipway/snapshot", sqs.emulator.endpoint());
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

async fn put(sqs: &TestSqs, image: Vec<u8>) -> (u16, String) {
    let url = format!("{}/_slipway/snapshot", sqs.emulator.endpoint());
    let response = reqwest::Client::new()
        .put(url)
        .body(image)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn bodies_with_counts(sqs: &TestSqs, url: &str) -> Vec<(String, String)> {
    let received = sqs
        .client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    received
        .messages()
        .iter()
        .map(|m| {
            let count =
                &m.attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount];
            (m.body().unwrap().to_string(), count.clone())
        })
        .collect()
}

/// The bodies received now from queue `name`, in the order received.
async fn bodies_of(sqs: &TestSqs, name: &str) -> Vec<String> {
    let url = sqs
        .client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap();
    bodies_with_counts(sqs, url.queue_url().unwrap())
        .await
        .into_iter()
        .map(|(body, _)| body)
        .collect()
}

/// A standard queue with a visibility timeout, three messages, one in flight; a FIFO queue.
async fn seed(sqs: &TestSqs) -> (String, String) {
    let standard = sqs.create("work").await;
    sqs.client
        .set_queue_attributes()
        .queue_url(&standard)
        .attributes(QueueAttributeName::VisibilityTimeout, "120")
        .send()
        .await
        .unwrap();
    for body in ["a", "b", "c"] {
        let send = sqs
            .client
            .send_message()
            .queue_url(&standard)
            .message_body(body);
        send.send().await.unwrap();
    }
    let taken = sqs
        .client
        .receive_message()
        .queue_url(&standard)
        .send()
        .await
        .unwrap();
    assert_eq!(taken.messages().len(), 1);
    let fifo = sqs
        .client
        .create_queue()
        .queue_name("ordered.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for body in ["1", "2", "3"] {
        let send = sqs
            .client
            .send_message()
            .queue_url(&fifo)
            .message_body(body);
        send.message_group_id("g").send().await.unwrap();
    }
    (standard, fifo)
}

#[tokio::test]
async fn an_image_brings_back_queues_and_messages_and_drops_what_came_after() {
    let sqs = common::start().await;
    let (standard, fifo) = seed(&sqs).await;
    let image = take(&sqs).await;

    sqs.client
        .purge_queue()
        .queue_url(&standard)
        .send()
        .await
        .unwrap();
    sqs.client
        .delete_queue()
        .queue_url(&fifo)
        .send()
        .await
        .unwrap();
    sqs.create("newcomer").await;
    let (status, body) = put(&sqs, image).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"queues\":2"), "{body}");

    let gone = sqs
        .client
        .get_queue_url()
        .queue_name("newcomer")
        .send()
        .await;
    assert!(gone.is_err(), "a queue made after the image is gone");
    assert_eq!(sqs.attribute(&standard, "VisibilityTimeout").await, "120");
    let mut got = bodies_with_counts(&sqs, &standard).await;
    got.sort();
    let want = [("a", "2"), ("b", "1"), ("c", "1")].map(|(b, c)| (b.to_string(), c.to_string()));
    assert_eq!(
        got, want,
        "the in-flight message is visible again, its count kept"
    );
    assert_eq!(bodies_of(&sqs, "ordered.fifo").await, ["1", "2", "3"]);
}

#[tokio::test]
async fn a_damaged_or_foreign_image_is_refused_and_changes_nothing() {
    let sqs = common::start().await;
    let (standard, _) = seed(&sqs).await;
    let image = take(&sqs).await;
    let mut cut = image.clone();
    cut.truncate(image.len() - 5);
    let mut newer = image;
    newer[8] = 77;
    for (bad, why) in [
        (b"{\"queues\": []}".to_vec(), "not an SQS emulator image"),
        (cut, "damaged"),
        (newer, "format 77"),
    ] {
        let (status, body) = put(&sqs, bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body.contains(why) && body.contains("nothing was changed"),
            "{body}"
        );
    }
    assert_eq!(
        sqs.attribute(&standard, "ApproximateNumberOfMessages")
            .await,
        "2"
    );
    assert_eq!(
        sqs.attribute(&standard, "ApproximateNumberOfMessagesNotVisible")
            .await,
        "1"
    );
}

#[tokio::test]
async fn a_persistent_emulator_keeps_a_loaded_image_across_a_restart() {
    let source = common::start().await;
    seed(&source).await;
    let image = take(&source).await;
    let dir = tempfile::tempdir().unwrap();
    let start = || async {
        let emulator = Emulator::builder()
            .persist(PersistOptions::new(dir.path()))
            .bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let client = client_for(&emulator.endpoint());
        TestSqs { emulator, client }
    };
    let first = start().await;
    first.create("replaced").await;
    let (status, body) = put(&first, image).await;
    assert_eq!(status, 200, "{body}");
    first.emulator.shutdown().await.unwrap();

    let second = start().await;
    let replaced = second
        .client
        .get_queue_url()
        .queue_name("replaced")
        .send()
        .await;
    assert!(replaced.is_err(), "the queue the image replaced stays gone");
    let work = second
        .client
        .get_queue_url()
        .queue_name("work")
        .send()
        .await
        .unwrap();
    let depth = second
        .attribute(work.queue_url().unwrap(), "ApproximateNumberOfMessages")
        .await;
    assert_eq!(depth, "3");
}

#[tokio::test]
async fn copies_of_an_image_queues_sit_beside_the_others_with_their_dead_letter_targets() {
    let sqs = common::start().await;
    let (standard, _) = seed(&sqs).await;
    let dlq = sqs.create("work-dlq").await;
    let dlq_arn = sqs.arn(&dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"3"}}"#);
    sqs.client
        .set_queue_attributes()
        .queue_url(&standard)
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await
        .unwrap();
    let image = take(&sqs).await;
    let post = |suffix: &str, image: Vec<u8>| {
        let url = format!(
            "{}/_slipway/snapshot?suffix={suffix}",
            sqs.emulator.endpoint()
        );
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .body(image)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, body) = post("-t1", image.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#"{"from":"ordered.fifo","name":"ordered-t1.fifo"}"#),
        "{body}"
    );

    let copy = sqs
        .client
        .get_queue_url()
        .queue_name("work-t1")
        .send()
        .await
        .unwrap();
    let copy = copy.queue_url().unwrap();
    assert_eq!(
        sqs.attribute(copy, "ApproximateNumberOfMessages").await,
        "3"
    );
    let redrive = sqs.attribute(copy, "RedrivePolicy").await;
    assert!(redrive.contains("work-dlq-t1"), "{redrive}");
    assert_eq!(bodies_of(&sqs, "ordered-t1.fifo").await, ["1", "2", "3"]);
    // The originals are untouched.
    assert_eq!(
        sqs.attribute(&standard, "ApproximateNumberOfMessages")
            .await,
        "2"
    );

    let (status, body) = post("-t1", image.clone()).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = post("!bad", image).await;
    assert_eq!(status, 400, "{body}");
    let listed = sqs.client.list_queues().send().await.unwrap();
    assert_eq!(listed.queue_urls().len(), 6, "nothing more was added");
}

#[tokio::test]
async fn messages_loaded_later_are_as_old_as_when_the_image_was_taken() {
    let sqs = common::start().await;
    let (standard, _) = seed(&sqs).await;
    let url = format!("{}/_slipway/snapshot", sqs.emulator.endpoint());
    let response = reqwest::get(&url).await.unwrap();
    let taken_at: u64 = response.headers()["x-slipway-taken-at-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let image = response.bytes().await.unwrap().to_vec();
    // Five days later: past the default retention period of four days.
    let advance = format!("{}/_slipway/clock/advance", sqs.emulator.endpoint());
    let advanced = reqwest::Client::new()
        .post(advance)
        .body(r#"{"seconds": 432000}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), 200);

    let (status, body) = put(&sqs, image.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sqs.attribute(&standard, "ApproximateNumberOfMessages")
            .await,
        "0",
        "loaded as they were sent, they are past their retention"
    );
    let shifted = reqwest::Client::new()
        .put(format!("{url}?taken_at_ms={taken_at}"))
        .body(image)
        .send()
        .await
        .unwrap();
    assert_eq!(shifted.status(), 200);
    assert_eq!(
        sqs.attribute(&standard, "ApproximateNumberOfMessages")
            .await,
        "3"
    );
}
