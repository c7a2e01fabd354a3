//! The JSON protocol at the byte level, with a plain HTTP client: error shapes and headers,
//! queue URLs built from the Host header, malformed input.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Value, json};

async fn call(
    endpoint: &str,
    host: Option<&str>,
    target: &str,
    body: &str,
) -> (u16, Option<String>, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        .body(body.to_string());
    if let Some(host) = host {
        request = request.header("host", host);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let query_error = response
        .headers()
        .get("x-amzn-query-error")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        response.headers()["content-type"],
        "application/x-amz-json-1.0"
    );
    let text = response.text().await.unwrap();
    (
        status,
        query_error,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn errors_have_aws_json_shape_and_query_error_header() {
    let sqs = common::start().await;
    let endpoint = sqs.emulator.endpoint();
    let (status, header, body) = call(
        &endpoint,
        None,
        "AmazonSQS.GetQueueUrl",
        r#"{"QueueName":"missing"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        header.as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender")
    );
    assert_eq!(
        body,
        json!({"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "The specified queue does not exist."})
    );

    let (status, header, body) = call(&endpoint, None, "AmazonSQS.Frobnicate", "{}").await;
    assert_eq!(status, 400);
    assert_eq!(header.as_deref(), Some("InvalidAction;Sender"));
    assert!(
        body["__type"]
            .as_str()
            .unwrap()
            .ends_with("UnknownOperationException")
    );

    let (status, _, body) = call(&endpoint, None, "AmazonSQS.CreateQueue", "{not json").await;
    assert_eq!(status, 400);
    assert!(
        body["__type"]
            .as_str()
            .unwrap()
            .ends_with("SerializationException"),
        "{body}"
    );

    let (status, _, body) = call(
        &endpoint,
        None,
        "AmazonSQS.CreateQueue",
        r#"{"QueueName": 42}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let (status, header, _) = call(
        &endpoint,
        None,
        "AmazonSQS.SendMessage",
        r#"{"QueueUrl":"http://localhost/orders","MessageBody":"x"}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(header.as_deref(), Some("InvalidAddress;Sender"));

    // A bare queue name addresses the queue, as AWS accepts.
    call(
        &endpoint,
        None,
        "AmazonSQS.CreateQueue",
        r#"{"QueueName":"by-name"}"#,
    )
    .await;
    let (status, _, body) = call(
        &endpoint,
        None,
        "AmazonSQS.SendMessage",
        r#"{"QueueUrl":"by-name","MessageBody":"x"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, header, _) = call(
        &endpoint,
        None,
        "AmazonSQS.SendMessageBatch",
        r#"{"QueueUrl":"by-name","Entries":null}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        header.as_deref(),
        Some("AWS.SimpleQueueService.EmptyBatchRequest;Sender")
    );
}

#[tokio::test]
async fn queue_urls_follow_the_host_header_and_resolve_from_any_host() {
    let sqs = common::start().await;
    let endpoint = sqs.emulator.endpoint();
    let (status, _, body) = call(
        &endpoint,
        Some("elasticmq:9324"),
        "AmazonSQS.CreateQueue",
        r#"{"QueueName":"orders"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["QueueUrl"],
        "http://elasticmq:9324/000000000000/orders"
    );
    // A container's URL works from the host too.
    let (status, _, body) = call(
        &endpoint,
        None,
        "AmazonSQS.SendMessage",
        r#"{"QueueUrl":"http://elasticmq:9324/000000000000/orders","MessageBody":"hi"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["MD5OfMessageBody"], "49f68a5c8493ec2c0bf489821c21fc3b");
}

#[tokio::test]
async fn numbers_may_arrive_as_strings_and_empty_receives_are_empty_objects() {
    let sqs = common::start().await;
    let endpoint = sqs.emulator.endpoint();
    let url = sqs.create("q").await;
    let (status, _, body) = call(
        &endpoint,
        None,
        "AmazonSQS.ReceiveMessage",
        &json!({"QueueUrl": url, "MaxNumberOfMessages": "10", "WaitTimeSeconds": 0}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({}));
    let (status, _, body) = call(
        &endpoint,
        None,
        "AmazonSQS.ReceiveMessage",
        &json!({"QueueUrl": url, "WaitTimeSeconds": 21}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
    );
}

#[tokio::test]
async fn the_health_endpoint_answers() {
    let sqs = common::start().await;
    let response = reqwest::get(format!("{}/health", sqs.emulator.endpoint()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_x_amzn_trace_id_header_becomes_the_messages_aws_trace_header() {
    let sqs = common::start().await;
    let url = sqs.create("traced").await;
    let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let http = reqwest::Client::new();
    for (target, body) in [
        (
            "AmazonSQS.SendMessage",
            json!({"QueueUrl": url, "MessageBody": "one"}),
        ),
        (
            "AmazonSQS.SendMessageBatch",
            json!({"QueueUrl": url, "Entries": [{"Id": "a", "MessageBody": "two"}]}),
        ),
    ] {
        let response = http
            .post(sqs.emulator.endpoint())
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .header("x-amzn-trace-id", header)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let received = sqs
        .client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::AwsTraceHeader)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages().len(), 2);
    for message in received.messages() {
        assert_eq!(
            message
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::AwsTraceHeader))
                .map(String::as_str),
            Some(header)
        );
    }
}
