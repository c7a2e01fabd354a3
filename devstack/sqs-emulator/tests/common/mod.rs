//! Helpers shared by the HTTP-level tests: start an emulator on a free loopback port and make
//! a real aws-sdk-sqs client for it.

#![allow(dead_code)]
// Test helpers: a failure here is a test failure, so unwrap is the clearest report.
#![allow(clippy::unwrap_used)]

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use sqs_emulator::server::Emulator;

/// A running emulator and a client for it.
pub struct TestSqs {
    pub emulator: Emulator,
    pub client: Client,
}

pub async fn start() -> TestSqs {
    let emulator = Emulator::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = client_for(&emulator.endpoint());
    TestSqs { emulator, client }
}

pub fn client_for(endpoint: &str) -> Client {
    client_in(endpoint, "us-east-1")
}

/// A client of `endpoint` configured for `region` (it signs its requests for that region).
pub fn client_in(endpoint: &str, region: &str) -> Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .build();
    Client::from_conf(config)
}

/// The bodies of up to 10 messages visible in `url` now, sorted; they stay visible (a
/// visibility timeout of 0).
pub async fn peek_bodies(client: &Client, url: &str) -> Vec<String> {
    let mut bodies: Vec<String> = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect();
    bodies.sort();
    bodies
}

impl TestSqs {
    pub async fn create(&self, name: &str) -> String {
        self.client
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap()
    }

    pub async fn arn(&self, url: &str) -> String {
        self.client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone()
    }

    pub async fn attribute(&self, url: &str, name: &str) -> String {
        let name = aws_sdk_sqs::types::QueueAttributeName::from(name);
        self.client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(name.clone())
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&name]
            .clone()
    }
}
