//! Regions and queue URLs, with the real aws-sdk-sqs: a client acts in the region it signs
//! for (SigV4 credential scope), so the same queue name in two regions is two queues with
//! their own URLs, ARNs and messages; a `sqs.<region>.` host names the region too; queue
//! URLs follow the form the client used, or AWS's host style when the emulator is told so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use sqs_emulator::core::SqsSettings;
use sqs_emulator::protocol::context::QueueUrlStyle;
use sqs_emulator::server::Emulator;

use common::{client_in, peek_bodies as bodies};

async fn create(client: &Client, name: &str) -> String {
    client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn arn(client: &Client, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

async fn listed(client: &Client) -> Vec<String> {
    client
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls
        .unwrap_or_default()
}

#[tokio::test]
async fn the_same_name_in_two_regions_is_two_queues() {
    let emulator = Emulator::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let endpoint = emulator.endpoint();
    let (east, west, north) = (
        client_in(&endpoint, "us-east-1"),
        client_in(&endpoint, "us-west-1"),
        client_in(&endpoint, "eu-north-1"),
    );
    let east_url = create(&east, "orders").await;
    let west_url = create(&west, "orders").await;
    let north_url = create(&north, "orders").await;
    // The default region's URL is as it always was; the others name their region.
    assert_eq!(east_url, format!("{endpoint}/000000000000/orders"));
    assert_eq!(
        west_url,
        format!("{endpoint}/queue/us-west-1/000000000000/orders")
    );
    assert_ne!(west_url, north_url);
    assert_eq!(
        arn(&west, &west_url).await,
        "arn:aws:sqs:us-west-1:000000000000:orders"
    );
    assert_eq!(
        arn(&north, &north_url).await,
        "arn:aws:sqs:eu-north-1:000000000000:orders"
    );

    west.send_message()
        .queue_url(&west_url)
        .message_body("west only")
        .send()
        .await
        .unwrap();
    assert!(bodies(&north, &north_url).await.is_empty());
    assert!(bodies(&east, &east_url).await.is_empty());
    assert_eq!(bodies(&west, &west_url).await, ["west only"]);
    // A URL naming its region reaches that queue whichever region the client is in.
    assert_eq!(bodies(&east, &west_url).await, ["west only"]);

    // Over the Query protocol too, by GET to the queue's URL (no signature at all).
    let sent = reqwest::get(format!(
        "{north_url}?Action=SendMessage&MessageBody=by+query"
    ))
    .await
    .unwrap();
    assert_eq!(sent.status(), 200);
    assert_eq!(bodies(&north, &north_url).await, ["by query"]);
    assert!(
        bodies(&west, &west_url)
            .await
            .iter()
            .all(|b| b != "by query")
    );

    // Each region lists and finds its own.
    assert_eq!(listed(&west).await, std::slice::from_ref(&west_url));
    assert_eq!(listed(&north).await, std::slice::from_ref(&north_url));
    let found = north
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    assert_eq!(found, north_url);

    // A dead-letter queue must be in the source's region.
    let other_region_dlq = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"3"}}"#,
        arn(&west, &west_url).await
    );
    let refused = north
        .set_queue_attributes()
        .queue_url(&north_url)
        .attributes(QueueAttributeName::RedrivePolicy, other_region_dlq)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refused.into_service_error().meta().code(),
        Some("InvalidParameterValue")
    );

    // Deleting one leaves the others.
    north
        .delete_queue()
        .queue_url(&north_url)
        .send()
        .await
        .unwrap();
    assert!(listed(&north).await.is_empty());
    assert_eq!(listed(&west).await.len(), 1);
    assert_eq!(listed(&east).await.len(), 1);
}

#[tokio::test]
async fn the_default_region_and_the_account_are_configurable() {
    let emulator = Emulator::builder()
        .settings(SqsSettings {
            region: "eu-central-1".into(),
            account_id: "123456789012".into(),
        })
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let endpoint = emulator.endpoint();
    let client = client_in(&endpoint, "eu-central-1");
    let url = create(&client, "q").await;
    assert_eq!(url, format!("{endpoint}/123456789012/q"));
    assert_eq!(
        arn(&client, &url).await,
        "arn:aws:sqs:eu-central-1:123456789012:q"
    );
}

#[tokio::test]
async fn host_style_urls_name_the_region_in_the_host() {
    let emulator = Emulator::builder()
        .queue_url_style(QueueUrlStyle::Host)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let endpoint = emulator.endpoint();
    let port = emulator.local_addr().port();
    let west = client_in(&endpoint, "us-west-2");
    let url = create(&west, "orders").await;
    assert_eq!(
        url,
        format!("http://sqs.us-west-2.127.0.0.1:{port}/000000000000/orders")
    );
    // The SDK sends to its endpoint, whatever the URL's host: the URL still works, and names
    // the queue for a client of another region too.
    west.send_message()
        .queue_url(&url)
        .message_body("hi")
        .send()
        .await
        .unwrap();
    let east = client_in(&endpoint, "us-east-1");
    assert_eq!(bodies(&east, &url).await, ["hi"]);
    assert_eq!(listed(&west).await, [url]);
}

#[tokio::test]
async fn a_sqs_region_host_names_the_region_of_an_unsigned_request() {
    let emulator = Emulator::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let port = emulator.local_addr().port();
    // No Authorization header: the Host header's region is the request's.
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/"))
        .header("host", format!("sqs.ap-south-1.localhost:{port}"))
        .header("x-amz-target", "AmazonSQS.CreateQueue")
        .header("content-type", "application/x-amz-json-1.0")
        .body(r#"{"QueueName":"by-host"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["QueueUrl"],
        format!("http://sqs.ap-south-1.localhost:{port}/000000000000/by-host")
    );
    let south = client_in(&emulator.endpoint(), "ap-south-1");
    assert_eq!(listed(&south).await.len(), 1);
    let east = client_in(&emulator.endpoint(), "us-east-1");
    assert!(listed(&east).await.is_empty());
}
