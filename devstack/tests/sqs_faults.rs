//! `devstack sqs` starts with the fault rules `devstack.toml` declares (`[[faults]]`), serves
//! `/_slipway/faults` and the virtual clock: the real binary, driven with the real SDK.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use common::KillOnDrop;

const BIN: &str = env!("CARGO_BIN_EXE_devstack");

const CONFIG: &str = r#"
[[faults]]
actions = ["SendMessage"]
queue = "orders"
error = { code = "ServiceUnavailable", status = 503 }
count = 1
"#;

#[tokio::test]
async fn declared_fault_rules_fire_on_devstack_sqs() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("devstack.toml"), CONFIG).unwrap();
    let mut child = KillOnDrop(
        Command::new(BIN)
            .arg("--root")
            .arg(root.path())
            .args(["sqs", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let (endpoint, banner) = common::sqs_banner(&mut child, |line| line.contains("fault rule"));
    assert!(banner.contains("fault rule fault-1"), "{banner}");

    let client = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .credentials_provider(Credentials::new("x", "x", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let url = format!("{endpoint}/000000000000/orders");
    let error = client
        .send_message()
        .queue_url(&url)
        .message_body("first")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error.into_service_error().meta().code(),
        Some("ServiceUnavailable")
    );
    client
        .send_message()
        .queue_url(&url)
        .message_body("second")
        .send()
        .await
        .unwrap();
    let clock: serde_json::Value = reqwest::Client::new()
        .post(format!("{endpoint}/_slipway/clock/advance"))
        .body(r#"{"seconds": 60}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["offset_ms"], 60_000);
}
