//! The Query protocol at the byte level, with a plain HTTP client: form-encoded `Action`
//! requests by POST and by GET, XML responses, `<ErrorResponse>` errors, and the older SDKs'
//! habit of posting to the queue URL itself. (botocore 1.29, which speaks this protocol, is
//! driven against the emulator by `tests/clients/third_party.py` in `.ci/run`.)

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

/// The text of the first `<name>` element.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

async fn post(url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "text/xml");
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_message_round_trip_in_xml() {
    let emulator = common::start().await;
    let endpoint = emulator.emulator.endpoint();
    let (status, created) = post(
        &endpoint,
        &[
            ("Action", "CreateQueue"),
            ("Version", "2012-11-05"),
            ("QueueName", "query-q"),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "40"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert!(
        created
            .contains("<CreateQueueResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">")
    );
    let queue_url = element(&created, "QueueUrl").unwrap().to_owned();
    assert!(queue_url.ends_with("/000000000000/query-q"), "{queue_url}");
    assert!(element(&created, "RequestId").is_some());

    let (_, sent) = post(
        &endpoint,
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &queue_url),
            ("MessageBody", "hello <xml> & \"friends\""),
            ("MessageAttribute.1.Name", "colour"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "blue"),
        ],
    )
    .await;
    // MD5 of the body as UTF-8, as AWS computes it.
    use md5::Digest as _;
    let expected = hex::encode(md5::Md5::digest("hello <xml> & \"friends\"".as_bytes()));
    assert_eq!(element(&sent, "MD5OfMessageBody"), Some(expected.as_str()));
    assert!(element(&sent, "MessageId").is_some());
    assert!(element(&sent, "MD5OfMessageAttributes").is_some());

    // Older SDKs post to the queue URL and leave QueueUrl out.
    let (_, received) = post(
        &queue_url,
        &[
            ("Action", "ReceiveMessage"),
            ("AttributeName.1", "All"),
            ("MessageAttributeName.1", "All"),
            ("WaitTimeSeconds", "1"),
        ],
    )
    .await;
    assert_eq!(
        element(&received, "Body"),
        Some("hello &lt;xml&gt; &amp; &quot;friends&quot;")
    );
    assert!(
        received.contains(
            "<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>"
        ),
        "{received}"
    );
    assert!(
        received.contains("<MessageAttribute><Name>colour</Name><Value>"),
        "{received}"
    );
    let receipt = element(&received, "ReceiptHandle")
        .unwrap()
        .replace("&amp;", "&");

    let (status, deleted) = post(
        &endpoint,
        &[
            ("Action", "DeleteMessage"),
            ("QueueUrl", &queue_url),
            ("ReceiptHandle", &receipt),
        ],
    )
    .await;
    assert_eq!(status, 200, "{deleted}");
    assert!(deleted.contains("<DeleteMessageResponse"));
    assert!(!deleted.contains("DeleteMessageResult"));

    // An empty receive still has its Result element.
    let (_, empty) = post(&queue_url, &[("Action", "ReceiveMessage")]).await;
    assert!(empty.contains("<ReceiveMessageResult/>"), "{empty}");

    // GET with a query string, as the oldest clients do.
    let listed = reqwest::get(format!(
        "{endpoint}/?Action=ListQueues&QueueNamePrefix=query"
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert_eq!(element(&listed, "QueueUrl"), Some(queue_url.as_str()));

    let (_, attributes) = post(
        &endpoint,
        &[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", &queue_url),
            ("AttributeName.1", "VisibilityTimeout"),
        ],
    )
    .await;
    assert!(
        attributes
            .contains("<Attribute><Name>VisibilityTimeout</Name><Value>40</Value></Attribute>"),
        "{attributes}"
    );
}

#[tokio::test]
async fn batches_and_errors_in_xml() {
    let emulator = common::start().await;
    let endpoint = emulator.emulator.endpoint();
    let (_, created) = post(
        &endpoint,
        &[("Action", "CreateQueue"), ("QueueName", "query-batch")],
    )
    .await;
    let queue_url = element(&created, "QueueUrl").unwrap().to_owned();
    let (status, batch) = post(
        &endpoint,
        &[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", &queue_url),
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "one"),
            ("SendMessageBatchRequestEntry.2.Id", "b"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "two"),
            ("SendMessageBatchRequestEntry.2.DelaySeconds", "901"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(
        batch.matches("<SendMessageBatchResultEntry>").count(),
        1,
        "{batch}"
    );
    assert_eq!(
        batch.matches("<BatchResultErrorEntry>").count(),
        1,
        "{batch}"
    );
    assert!(batch.contains("<SenderFault>true</SenderFault>"));

    let (status, missing) = post(
        &endpoint,
        &[("Action", "GetQueueUrl"), ("QueueName", "no-such-queue")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        missing.starts_with("<?xml version=\"1.0\"?><ErrorResponse"),
        "{missing}"
    );
    assert_eq!(
        element(&missing, "Code"),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
    assert_eq!(element(&missing, "Type"), Some("Sender"));
    assert_eq!(
        element(&missing, "Message"),
        Some("The specified queue does not exist for this wsdl version.")
    );
    assert!(element(&missing, "RequestId").is_some());

    // No action at all, by GET or POST: SQS's bare UnknownOperationException and a 404, in
    // XML even for a client that asks for JSON.
    let nothing = reqwest::Client::new()
        .get(format!("{endpoint}/"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(nothing.status(), 404);
    assert_eq!(
        nothing.text().await.unwrap(),
        "<UnknownOperationException/>"
    );
    let (status, nothing) = post(&endpoint, &[("QueueName", "x")]).await;
    assert_eq!(status, 404);
    assert_eq!(nothing, "<UnknownOperationException/>");

    let (status, unknown) = post(&endpoint, &[("Action", "FlyToTheMoon")]).await;
    assert_eq!(status, 400);
    assert_eq!(element(&unknown, "Code"), Some("InvalidAction"));
    assert_eq!(element(&unknown, "Type"), Some("Sender"));
    assert_eq!(
        element(&unknown, "Message"),
        Some("The action FlyToTheMoon is not valid for this endpoint.")
    );

    let (status, bad) = post(
        &endpoint,
        &[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &queue_url),
            ("WaitTimeSeconds", "21"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        element(&bad, "Code"),
        Some("InvalidParameterValue"),
        "{bad}"
    );
}

#[tokio::test]
async fn a_bare_queue_name_and_a_fifo_queues_type_over_query() {
    let emulator = common::start().await;
    let endpoint = emulator.emulator.endpoint();
    post(
        &endpoint,
        &[("Action", "CreateQueue"), ("QueueName", "bare-name")],
    )
    .await;
    let (status, sent) = post(
        &endpoint,
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", "bare-name"),
            ("MessageBody", "by name"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert!(element(&sent, "MessageId").is_some(), "{sent}");

    let (status, refused) = post(
        &endpoint,
        &[
            ("Action", "SetQueueAttributes"),
            ("QueueUrl", "bare-name"),
            ("Attribute.1.Name", "FifoQueue"),
            ("Attribute.1.Value", "true"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(element(&refused, "Code"), Some("InvalidAttributeName"));
    assert_eq!(
        element(&refused, "Message"),
        Some("Unknown Attribute FifoQueue.")
    );
}

/// A GET to `url` with these query parameters, accepting `accept`.
async fn get(url: &str, query: &[(&str, &str)], accept: &str) -> reqwest::Response {
    let query = serde_urlencoded::to_string(query).unwrap();
    reqwest::Client::new()
        .get(format!("{url}?{query}"))
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_queue_url_serves_its_queues_actions_and_refuses_the_others() {
    let emulator = common::start().await;
    let endpoint = emulator.emulator.endpoint();
    let (_, created) = post(
        &endpoint,
        &[("Action", "CreateQueue"), ("QueueName", "at-url")],
    )
    .await;
    let queue_url = element(&created, "QueueUrl").unwrap().to_owned();
    post(
        &endpoint,
        &[("Action", "CreateQueue"), ("QueueName", "other")],
    )
    .await;

    let sent = get(
        &queue_url,
        &[("Action", "SendMessage"), ("MessageBody", "by GET")],
        "*/*",
    )
    .await;
    assert_eq!(sent.status(), 200);
    let received = get(&queue_url, &[("Action", "ReceiveMessage")], "*/*").await;
    assert!(
        received
            .text()
            .await
            .unwrap()
            .contains("<Body>by GET</Body>")
    );

    for action in ["ListQueues", "CreateQueue"] {
        let refused = get(&queue_url, &[("Action", action), ("QueueName", "x")], "*/*").await;
        assert_eq!(refused.status(), 400);
        let body = refused.text().await.unwrap();
        assert_eq!(element(&body, "Code"), Some("InvalidAction"), "{body}");
        assert_eq!(element(&body, "Type"), Some("Sender"));
        assert_eq!(
            element(&body, "Message").unwrap(),
            format!("The action {action} is not valid for this endpoint.")
        );
    }
    // GetQueueUrl is answered at a queue's URL, for any queue.
    let other = get(
        &queue_url,
        &[("Action", "GetQueueUrl"), ("QueueName", "other")],
        "*/*",
    )
    .await;
    let body = other.text().await.unwrap();
    assert!(
        element(&body, "QueueUrl").unwrap().ends_with("/other"),
        "{body}"
    );
    // A QueueUrl parameter overrides the URL posted to.
    let attributes = get(
        &queue_url,
        &[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", element(&body, "QueueUrl").unwrap()),
            ("AttributeName.1", "QueueArn"),
        ],
        "*/*",
    )
    .await;
    let attributes = attributes.text().await.unwrap();
    assert!(attributes.contains(":other</Value>"), "{attributes}");
}

#[tokio::test]
async fn a_query_request_that_accepts_json_gets_json() {
    let emulator = common::start().await;
    let endpoint = emulator.emulator.endpoint();
    let (_, created) = post(
        &endpoint,
        &[("Action", "CreateQueue"), ("QueueName", "json-q")],
    )
    .await;
    let queue_url = element(&created, "QueueUrl").unwrap().to_owned();

    let response = get(
        &queue_url,
        &[("Action", "GetQueueAttributes"), ("AttributeName.1", "All")],
        "application/json",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: serde_json::Value = response.json().await.unwrap();
    let response = &doc["GetQueueAttributesResponse"];
    assert!(
        response["ResponseMetadata"]["RequestId"].is_string(),
        "{doc}"
    );
    let attributes = response["GetQueueAttributesResult"]["Attributes"]
        .as_array()
        .unwrap();
    let arn = attributes.iter().find(|a| a["Name"] == "QueueArn").unwrap();
    assert!(arn["Value"].as_str().unwrap().ends_with(":json-q"), "{doc}");

    let refused = get(&queue_url, &[("Action", "ListQueues")], "application/json").await;
    assert_eq!(refused.status(), 400);
    let doc: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(doc["Error"]["Code"], "InvalidAction");
    assert_eq!(
        doc["Error"]["Message"],
        "The action ListQueues is not valid for this endpoint."
    );
    let listed = get(&endpoint, &[("Action", "ListQueues")], "application/json").await;
    let doc: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(
        doc["ListQueuesResponse"]["ListQueuesResult"]["QueueUrls"][0],
        serde_json::Value::String(queue_url)
    );
}
