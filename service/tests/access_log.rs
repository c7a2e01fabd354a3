//! The access log, through the service's own JSON log configuration: one INFO line per
//! request with method, route template, status, duration and request id; and the request id
//! on every other line logged while that request is served.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use service::config::LogFormat;

/// A log sink the test can read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// The `request` span's request id on a JSON log line.
fn span_request_id(line: &serde_json::Value) -> Option<&str> {
    line["span"]["request_id"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_has_an_access_line_and_its_id_on_every_line() {
    let captured = Captured::default();
    let sink = captured.clone();
    service::telemetry::init_tracing_to(LogFormat::Json, move || sink.clone());

    // A queue URL that does not exist: creating an order fails inside the handler, which
    // logs a warning while the request is served.
    let stack = common::stack();
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    let mut missing = queues.clone();
    missing.queue_url = format!("{}-missing", queues.queue_url);
    missing.dlq_url = format!("{}-missing", queues.dlq_url);
    let app = common::spawn_app_with(stack, database, missing, &[]).await;

    let unknown = uuid::Uuid::new_v4();
    let response = app
        .http
        .get(app.url(&format!("/v1/orders/{unknown}")))
        .header("x-request-id", "req-get-404")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = app
        .http
        .post(app.url("/v1/orders"))
        .header("x-request-id", "req-post-503")
        .json(&serde_json::json!({"customer_id": "c-1", "items": [{"sku": "A-1", "quantity": 1, "unit_price_cents": 100}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    app.shutdown().await;

    let lines = captured.lines();
    let access = |id: &str| {
        lines
            .iter()
            .find(|l| l["target"] == "access" && l["request_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no access line for {id} in {lines:#?}"))
    };
    let get = access("req-get-404");
    assert_eq!(get["level"], "INFO");
    assert_eq!(get["method"], "GET");
    assert_eq!(
        get["route"], "/v1/orders/{id}",
        "the template, not the path"
    );
    assert_eq!(get["status"], 404);
    assert!(
        get["duration_ms"]
            .as_str()
            .is_some_and(|d| d.parse::<f64>().is_ok())
    );
    let post = access("req-post-503");
    assert_eq!(
        (post["method"].as_str(), post["status"].as_u64()),
        (Some("POST"), Some(503))
    );

    // The handler's own warning carries the request id of the request it belongs to.
    let warning = lines
        .iter()
        .find(|l| l["message"] == "dependency unavailable")
        .unwrap_or_else(|| panic!("no warning logged: {lines:#?}"));
    assert_eq!(span_request_id(warning), Some("req-post-503"));
}
