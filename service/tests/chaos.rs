//! A hung Postgres, as `devstack chaos pause postgres` makes it (SIGSTOP to its process group),
//! on a real stack with the real `service` binary: `/health` turns 503 with Postgres reported
//! down, and comes back to 200 by itself once Postgres is resumed — no restart of anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use devstack::apps::declaration::service_app;
use devstack::stack::{Silent, Stack, StackOptions};
use slipway_contracts::chaos::ProcessFault;

/// The status and body of `GET {base}/health`.
async fn health(http: &reqwest::Client, base: &str) -> (u16, serde_json::Value) {
    match http.get(format!("{base}/health")).send().await {
        Ok(response) => (
            response.status().as_u16(),
            response.json().await.unwrap_or_default(),
        ),
        Err(_) => (0, serde_json::Value::Null),
    }
}

async fn until_status(
    http: &reqwest::Client,
    base: &str,
    want: u16,
    limit: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let (status, body) = health(http, base).await;
        if status == want {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "no {want} within {limit:?}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_postgres_makes_the_service_unready_until_it_is_resumed() {
    let logs = tempfile::tempdir().unwrap();
    let mut options = StackOptions::ephemeral_on_free_ports();
    options.log_dir = Some(logs.path().to_path_buf());
    let mut stack = Stack::start(&options, &Silent).await.unwrap();
    let app = service_app(Path::new(env!("CARGO_BIN_EXE_service")), 0);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    stack
        .start_apps(&[app], &workspace, logs.path(), &Silent)
        .await
        .unwrap();
    let base = stack.env()["SERVICE_URL"].clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    until_status(&http, &base, 200, Duration::from_secs(30)).await;

    let postgres = stack.id("postgres").unwrap();
    stack
        .chaos(postgres, ProcessFault::Pause, None)
        .await
        .unwrap();
    assert_eq!(stack.faults().len(), 1);
    let down = until_status(&http, &base, 503, Duration::from_secs(15)).await;
    assert_eq!(down["checks"]["postgres"]["status"], "down", "{down}");
    assert_eq!(down["checks"]["redis"]["status"], "up", "{down}");

    stack
        .chaos(postgres, ProcessFault::Resume, None)
        .await
        .unwrap();
    assert!(stack.faults().is_empty());
    until_status(&http, &base, 200, Duration::from_secs(30)).await;
    stack.stop().await;
}
