//! Every action of the emulator, driven over HTTP by the real `aws-sdk-sqs` crate: the same
//! client code a service runs against Amazon SQS.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use common::start;

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .unwrap()
}

#[tokio::test]
async fn queue_lifecycle_create_get_list_delete() {
    let sqs = start().await;
    let url = sqs.create("orders").await;
    assert_eq!(
        url,
        format!("{}/000000000000/orders", sqs.emulator.endpoint())
    );
    // Idempotent with the same attributes.
    assert_eq!(sqs.create("orders").await, url);
    sqs.create("orders-dlq").await;
    sqs.create("payments").await;

    let got = sqs
        .client
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(got.queue_url.as_deref(), Some(url.as_str()));

    let listed = sqs
        .client
        .list_queues()
        .queue_name_prefix("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.queue_urls().len(), 2);
    let page = sqs
        .client
        .list_queues()
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.queue_urls().len(), 1);
    let next = sqs
        .client
        .list_queues()
        .max_results(5)
        .next_token(page.next_token.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(next.queue_urls().len(), 2);

    sqs.client
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    let err = sqs
        .client
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_queue_does_not_exist(), "{service:?}");
    assert_eq!(
        service.message(),
        Some("The specified queue does not exist.")
    );
}

#[tokio::test]
async fn create_queue_with_other_attributes_is_queue_already_exists() {
    let sqs = start().await;
    sqs.client
        .create_queue()
        .queue_name("q")
        .attributes(QueueAttributeName::DelaySeconds, "1")
        .send()
        .await
        .unwrap();
    let err = sqs
        .client
        .create_queue()
        .queue_name("q")
        .attributes(QueueAttributeName::DelaySeconds, "2")
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_queue_name_exists(), "{service:?}");
    assert_eq!(service.code(), Some("QueueAlreadyExists"));
}

#[tokio::test]
async fn queue_attributes_get_set_and_validate() {
    let sqs = start().await;
    let url = sqs.create("q").await;
    let all = sqs
        .client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = all.attributes.unwrap();
    for name in [
        "VisibilityTimeout",
        "DelaySeconds",
        "MessageRetentionPeriod",
        "MaximumMessageSize",
        "QueueArn",
        "CreatedTimestamp",
        "ApproximateNumberOfMessages",
    ] {
        assert!(
            attributes.contains_key(&QueueAttributeName::from(name)),
            "{name} missing"
        );
    }
    assert_eq!(
        attributes[&QueueAttributeName::QueueArn],
        "arn:aws:sqs:us-east-1:000000000000:q"
    );

    sqs.client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "45")
        .send()
        .await
        .unwrap();
    assert_eq!(sqs.attribute(&url, "VisibilityTimeout").await, "45");

    let err = sqs
        .client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "50000")
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_invalid_attribute_value(), "{service:?}");
    assert_eq!(
        service.message(),
        Some("Invalid value for the parameter VisibilityTimeout.")
    );
}

#[tokio::test]
async fn send_receive_delete_with_attributes_and_md5s() {
    let sqs = start().await;
    let url = sqs.create("q").await;
    let sent = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("hello")
        .message_attributes("customer", string_attribute("c-42"))
        .message_attributes(
            "blob",
            MessageAttributeValue::builder()
                .data_type("Binary")
                .binary_value(Blob::new(vec![0, 1, 2]))
                .build()
                .unwrap(),
        )
        .message_attributes(
            "price",
            MessageAttributeValue::builder()
                .data_type("Number.cents")
                .string_value("1250")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body(),
        Some("5d41402abc4b2a76b9719d911017c592")
    );
    assert!(sent.md5_of_message_attributes().is_some());

    let received = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = received.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.body(), Some("hello"));
    assert_eq!(m.message_id(), sent.message_id());
    assert_eq!(
        m.md5_of_message_attributes(),
        sent.md5_of_message_attributes()
    );
    let attributes = m.message_attributes().unwrap();
    assert_eq!(attributes["customer"].string_value(), Some("c-42"));
    assert_eq!(
        attributes["blob"].binary_value().unwrap().as_ref(),
        &[0, 1, 2]
    );
    assert_eq!(attributes["price"].data_type(), "Number.cents");
    let system = m.attributes().unwrap();
    assert_eq!(
        system[&MessageSystemAttributeName::ApproximateReceiveCount],
        "1"
    );
    assert!(system.contains_key(&MessageSystemAttributeName::SentTimestamp));
    assert!(system.contains_key(&MessageSystemAttributeName::SenderId));

    // Selecting attributes by name narrows the set and its MD5.
    sqs.client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(m.receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let again = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("customer")
        .send()
        .await
        .unwrap();
    let again = &again.messages()[0];
    assert_eq!(again.message_attributes().unwrap().len(), 1);
    assert_ne!(
        again.md5_of_message_attributes(),
        sent.md5_of_message_attributes()
    );

    sqs.client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(again.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        sqs.attribute(&url, "ApproximateNumberOfMessages").await,
        "0"
    );
    assert_eq!(
        sqs.attribute(&url, "ApproximateNumberOfMessagesNotVisible")
            .await,
        "0"
    );
}

#[tokio::test]
async fn send_rejects_bad_input_with_aws_codes() {
    let sqs = start().await;
    let url = sqs.create("q").await;
    let err = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1_048_577))
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert_eq!(service.code(), Some("InvalidParameterValue"));
    assert_eq!(
        service.message(),
        Some(
            "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
        )
    );

    let err = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("bad \u{1} char")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_message_contents());

    let err = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_attributes("ErrorDetails", string_attribute(""))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().message(),
        Some(
            "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'."
        )
    );

    let err = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(11)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().message(),
        Some(
            "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
        )
    );
}

#[tokio::test]
async fn batches_succeed_and_fail_per_entry() {
    let sqs = start().await;
    let url = sqs.create("q").await;
    let entries: Vec<_> = (0..10)
        .map(|i| {
            let body = if i == 3 {
                "bad \u{1}".to_string()
            } else {
                format!("m{i}")
            };
            SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(body)
                .build()
                .unwrap()
        })
        .collect();
    let sent = sqs
        .client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.successful().len(), 9);
    assert_eq!(sent.failed().len(), 1);
    assert_eq!(sent.failed()[0].id(), "e3");
    assert_eq!(sent.failed()[0].code(), "InvalidMessageContents");
    assert!(sent.failed()[0].sender_fault());

    let too_many: Vec<_> = (0..11)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body("x")
                .build()
                .unwrap()
        })
        .collect();
    let err = sqs
        .client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(too_many))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.into_service_error()
            .is_too_many_entries_in_batch_request()
    );

    let same_id: Vec<_> = (0..2)
        .map(|_| {
            SendMessageBatchRequestEntry::builder()
                .id("dup")
                .message_body("x")
                .build()
                .unwrap()
        })
        .collect();
    let err = sqs
        .client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(same_id))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_batch_entry_ids_not_distinct());

    let received = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let handles: Vec<String> = received
        .messages()
        .iter()
        .map(|m| m.receipt_handle().unwrap().to_string())
        .collect();
    assert_eq!(handles.len(), 9);

    let visibility: Vec<_> = handles
        .iter()
        .enumerate()
        .map(|(i, h)| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(format!("v{i}"))
                .receipt_handle(h)
                .visibility_timeout(60)
                .build()
                .unwrap()
        })
        .chain(std::iter::once(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("bad")
                .receipt_handle("garbage")
                .visibility_timeout(60)
                .build()
                .unwrap(),
        ))
        .collect();
    let changed = sqs
        .client
        .change_message_visibility_batch()
        .queue_url(&url)
        .set_entries(Some(visibility))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.successful().len(), 9);
    assert_eq!(changed.failed()[0].code(), "ReceiptHandleIsInvalid");

    let deletes: Vec<_> = handles
        .iter()
        .enumerate()
        .map(|(i, h)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(h)
                .build()
                .unwrap()
        })
        .collect();
    let deleted = sqs
        .client
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(deletes))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.successful().len(), 9);
    assert!(deleted.failed().is_empty());
    assert_eq!(
        sqs.attribute(&url, "ApproximateNumberOfMessagesNotVisible")
            .await,
        "0"
    );
}

#[tokio::test]
async fn invalid_receipt_handles_are_refused() {
    let sqs = start().await;
    let url = sqs.create("q").await;
    let err = sqs
        .client
        .delete_message()
        .queue_url(&url)
        .receipt_handle("garbage")
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_receipt_handle_is_invalid(), "{service:?}");
    let err = sqs
        .client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle("garbage")
        .visibility_timeout(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().code(),
        Some("ReceiptHandleIsInvalid")
    );
}

#[tokio::test]
async fn visibility_timeout_expires_for_real() {
    let sqs = start().await;
    let url = sqs.create("q").await;
    sqs.client
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .send()
        .await
        .unwrap();
    let first = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.messages().len(), 1);
    let started = Instant::now();
    // A long poll parks until the visibility timeout ends, then returns the message.
    let second = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    assert_eq!(second.messages().len(), 1);
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "woke at the visibility expiry: {:?}",
        started.elapsed()
    );
    let count = &second.messages()[0];
    assert_ne!(count.receipt_handle(), first.messages()[0].receipt_handle());
}

#[tokio::test]
async fn long_poll_wakes_on_send_and_at_the_end_of_a_delay() {
    let sqs = start().await;
    let url = sqs.create("q").await;
    let poller = {
        let (client, url) = (sqs.client.clone(), url.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let out = client
                .receive_message()
                .queue_url(&url)
                .wait_time_seconds(2)
                .send()
                .await
                .unwrap();
            (out.messages().len(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    sqs.client
        .send_message()
        .queue_url(&url)
        .message_body("now")
        .send()
        .await
        .unwrap();
    let (count, waited) = poller.await.unwrap();
    assert_eq!(count, 1);
    assert!(waited < Duration::from_millis(1500), "{waited:?}");

    sqs.client
        .send_message()
        .queue_url(&url)
        .message_body("later")
        .delay_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sqs.attribute(&url, "ApproximateNumberOfMessagesDelayed")
            .await,
        "1"
    );
    let started = Instant::now();
    let delayed = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    assert_eq!(delayed.messages().len(), 1);
    assert_eq!(delayed.messages()[0].body(), Some("later"));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_millis(1900),
        "{waited:?}"
    );

    // Nothing to receive: the wait is honored, then an empty answer.
    let started = Instant::now();
    let empty = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(empty.messages().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn purge_queue_and_its_limit() {
    let sqs = start().await;
    let url = sqs.create("q").await;
    sqs.client
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .send()
        .await
        .unwrap();
    sqs.client
        .purge_queue()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sqs.attribute(&url, "ApproximateNumberOfMessages").await,
        "0"
    );
    let err = sqs
        .client
        .purge_queue()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_purge_queue_in_progress(), "{service:?}");
}

#[tokio::test]
async fn tags_and_permissions() {
    let sqs = start().await;
    let url = sqs
        .client
        .create_queue()
        .queue_name("q")
        .tags("team", "orders")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.client
        .tag_queue()
        .queue_url(&url)
        .tags("env", "dev")
        .send()
        .await
        .unwrap();
    let tags = sqs
        .client
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap();
    assert_eq!(
        tags,
        HashMap::from([
            ("team".to_string(), "orders".to_string()),
            ("env".to_string(), "dev".to_string())
        ])
    );
    sqs.client
        .untag_queue()
        .queue_url(&url)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = sqs
        .client
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap();
    assert_eq!(tags.len(), 1);

    sqs.client
        .add_permission()
        .queue_url(&url)
        .label("crossaccountpermission")
        .aws_account_ids("111122223333")
        .actions("SendMessage")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(&sqs.attribute(&url, "Policy").await).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Sid"], "crossaccountpermission");
    assert_eq!(
        statement["Action"], "SQS:SendMessage",
        "one action: a string"
    );
    assert_eq!(
        statement["Principal"]["AWS"],
        "arn:aws:iam::111122223333:root"
    );
    sqs.client
        .add_permission()
        .queue_url(&url)
        .label("two")
        .aws_account_ids("111122223333")
        .aws_account_ids("444455556666")
        .actions("SendMessage")
        .actions("ReceiveMessage")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(&sqs.attribute(&url, "Policy").await).unwrap();
    let two = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "two")
        .unwrap();
    assert_eq!(
        two["Action"].as_array().map(Vec::len),
        Some(2),
        "several: an array"
    );
    assert_eq!(two["Principal"]["AWS"].as_array().map(Vec::len), Some(2));
    let err = sqs
        .client
        .add_permission()
        .queue_url(&url)
        .label("crossaccountpermission")
        .aws_account_ids("111122223333")
        .actions("SendMessage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().message(),
        Some(
            "Value crossaccountpermission for parameter Label is invalid. Reason: Already exists."
        )
    );
    sqs.client
        .remove_permission()
        .queue_url(&url)
        .label("crossaccountpermission")
        .send()
        .await
        .unwrap();
    let err = sqs
        .client
        .remove_permission()
        .queue_url(&url)
        .label("crossaccountpermission2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().message(),
        Some(
            "Value crossaccountpermission2 for parameter Label is invalid. Reason: can't find label."
        )
    );
}

#[tokio::test]
async fn redrive_to_dlq_then_move_task_back() {
    let sqs = start().await;
    let dlq_url = sqs.create("orders-dlq").await;
    let dlq_arn = sqs.arn(&dlq_url).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#);
    let url = sqs
        .client
        .create_queue()
        .queue_name("orders")
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let sources = sqs
        .client
        .list_dead_letter_source_queues()
        .queue_url(&dlq_url)
        .send()
        .await
        .unwrap();
    assert_eq!(sources.queue_urls(), std::slice::from_ref(&url));

    for i in 0..3 {
        sqs.client
            .send_message()
            .queue_url(&url)
            .message_body(format!("poison {i}"))
            .send()
            .await
            .unwrap();
    }
    let received = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages().len(), 3);
    // Received once each (maxReceiveCount 1) and visible again: the next receive moves them.
    let moved = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert!(moved.messages().is_empty());
    let dead = sqs
        .client
        .receive_message()
        .queue_url(&dlq_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::DeadLetterQueueSourceArn)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(dead.messages().len(), 3);
    let source_arn = sqs.arn(&url).await;
    assert_eq!(
        dead.messages()[0].attributes().unwrap()
            [&MessageSystemAttributeName::DeadLetterQueueSourceArn],
        source_arn
    );

    let err = sqs
        .client
        .start_message_move_task()
        .source_arn(&source_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().message(),
        Some("Source queue must be configured as a Dead Letter Queue.")
    );
    let err = sqs
        .client
        .start_message_move_task()
        .source_arn("arn:aws:sqs:us-east-1:000000000000:nope")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());

    let task = sqs
        .client
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(100)
        .send()
        .await
        .unwrap();
    assert!(task.task_handle.is_some());
    let deadline = Instant::now() + Duration::from_secs(2);
    let status = loop {
        let tasks = sqs
            .client
            .list_message_move_tasks()
            .source_arn(&dlq_arn)
            .send()
            .await
            .unwrap();
        let latest = tasks.results()[0].clone();
        if latest.status() != Some("RUNNING") || Instant::now() > deadline {
            break latest;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.status(), Some("COMPLETED"));
    assert_eq!(status.approximate_number_of_messages_moved(), 3);
    assert_eq!(status.approximate_number_of_messages_to_move(), Some(3));
    assert_eq!(
        sqs.attribute(&dlq_url, "ApproximateNumberOfMessages").await,
        "0"
    );
    assert_eq!(
        sqs.attribute(&url, "ApproximateNumberOfMessages").await,
        "3"
    );

    let err = sqs
        .client
        .cancel_message_move_task()
        .task_handle("not-a-handle")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().message(),
        Some("Value for parameter TaskHandle is invalid.")
    );
}

#[tokio::test]
async fn cancel_a_rate_limited_move_task() {
    let sqs = start().await;
    let dlq_url = sqs.create("dlq").await;
    let dlq_arn = sqs.arn(&dlq_url).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":5}}"#);
    let url = sqs
        .client
        .create_queue()
        .queue_name("src")
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for i in 0..20 {
        sqs.client
            .send_message()
            .queue_url(&dlq_url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    let handle = sqs
        .client
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .destination_arn(sqs.arn(&url).await)
        .max_number_of_messages_per_second(5)
        .send()
        .await
        .unwrap()
        .task_handle
        .unwrap();
    let err = sqs
        .client
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().message(),
        Some(
            "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
        )
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cancelled = sqs
        .client
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .unwrap();
    let moved = cancelled.approximate_number_of_messages_moved();
    assert!((1..20).contains(&moved), "moved {moved}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let tasks = sqs
        .client
        .list_message_move_tasks()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tasks.results()[0].status(), Some("CANCELLED"));

    // A well-formed handle naming a source queue that does not exist.
    use base64::Engine as _;
    let unknown = base64::engine::general_purpose::STANDARD
        .encode(r#"{"taskId":"t","sourceArn":"arn:aws:sqs:us-east-1:000000000000:no-such-queue"}"#);
    let err = sqs
        .client
        .cancel_message_move_task()
        .task_handle(unknown)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        err.message(),
        Some("The resource that you specified for the SourceArn parameter doesn't exist.")
    );
}

#[tokio::test]
async fn fifo_queue_over_the_sdk() {
    let sqs = start().await;
    let url = sqs
        .client
        .create_queue()
        .queue_name("orders.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let a = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("one")
        .message_group_id("g")
        .send()
        .await
        .unwrap();
    let b = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("two")
        .message_group_id("g")
        .send()
        .await
        .unwrap();
    let dup = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("one")
        .message_group_id("g")
        .send()
        .await
        .unwrap();
    assert_eq!(a.message_id(), dup.message_id());
    assert!(
        a.sequence_number().unwrap().parse::<u128>().unwrap()
            < b.sequence_number().unwrap().parse::<u128>().unwrap()
    );

    let got = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let bodies: Vec<_> = got.messages().iter().map(|m| m.body().unwrap()).collect();
    assert_eq!(bodies, ["one", "two"]);
    let attributes = got.messages()[0].attributes().unwrap();
    assert_eq!(attributes[&MessageSystemAttributeName::MessageGroupId], "g");
    assert!(attributes.contains_key(&MessageSystemAttributeName::SequenceNumber));
    assert!(attributes.contains_key(&MessageSystemAttributeName::MessageDeduplicationId));

    let err = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().message(),
        Some("The request must contain the parameter MessageGroupId.")
    );
    let err = sqs
        .client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("g")
        .delay_seconds(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
}

#[tokio::test]
async fn the_fifo_attribute_over_set_queue_attributes_and_a_dead_letters_receive_count() {
    let sqs = start().await;
    let standard = sqs.create("plain").await;
    let err = sqs
        .client
        .set_queue_attributes()
        .queue_url(&standard)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidAttributeName"));
    assert_eq!(err.message(), Some("Unknown Attribute FifoQueue."));

    let fifo = sqs
        .client
        .create_queue()
        .queue_name("typed.fifo")
        .attributes(QueueAttributeName::FifoQueue, "True")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.client
        .set_queue_attributes()
        .queue_url(&fifo)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap();
    let err = sqs
        .client
        .set_queue_attributes()
        .queue_url(&fifo)
        .attributes(QueueAttributeName::FifoQueue, "false")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidAttributeValue"));

    // A dead letter arrives with the receives it had: 1 on the source, 2 with this one.
    let dlq = sqs.create("counted-dlq").await;
    let dlq_arn = sqs.arn(&dlq).await;
    let source = sqs
        .client
        .create_queue()
        .queue_name("counted")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.client
        .send_message()
        .queue_url(&source)
        .message_body("poison")
        .send()
        .await
        .unwrap();
    for expected in [1, 0] {
        let got = sqs
            .client
            .receive_message()
            .queue_url(&source)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        assert_eq!(got.messages().len(), expected);
    }
    let dead = sqs
        .client
        .receive_message()
        .queue_url(&dlq)
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
        )
        .send()
        .await
        .unwrap();
    let count = dead.messages()[0]
        .attributes()
        .unwrap()
        .get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
        .cloned();
    assert_eq!(count.as_deref(), Some("2"));
}
