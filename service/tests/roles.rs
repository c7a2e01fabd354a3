//! `service serve --role api|worker|all`: an API replica polls no queue; a worker replica
//! serves only `/health`, `/livez` and `/metrics` over HTTP and processes the queue. Together
//! they do what one `all` process does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{order_body, unique_customer};

/// A replica of `role` over the same database and queues.
async fn replica(
    database: &devstack::testing::TestDatabase,
    queues: &devstack::testing::TestQueues,
    role: &str,
) -> common::TestApp {
    common::spawn_app_with(
        common::stack(),
        database.clone(),
        queues.clone(),
        &["--role", role],
    )
    .await
}

async fn status_of(api: &common::TestApp, id: &str) -> String {
    let order: serde_json::Value = api.get_order(id).await.json().await.unwrap();
    order["status"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_replica_polls_nothing_and_a_worker_replica_serves_no_api() {
    let stack = common::stack();
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    let api = replica(&database, &queues, "api").await;
    let created: serde_json::Value = api
        .post_order(&order_body(&unique_customer()), None)
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    // Nobody polls: the message waits in the queue and the order stays pending.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(status_of(&api, &id).await, "pending");
    assert_eq!(
        api.depth(&queues.queue_url).await,
        (1, 0),
        "the order's message is still queued"
    );

    let worker = replica(&database, &queues, "worker").await;
    for (path, status) in [
        ("/livez", 200),
        ("/metrics", 200),
        ("/v1/orders", 404),
        (&*format!("/v1/orders/{id}"), 404),
        ("/openapi.json", 404),
    ] {
        let response = worker.http.get(worker.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "worker replica: GET {path}");
    }
    let health = worker.http.get(worker.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "{}", health.text().await.unwrap());

    // The worker replica processes what the API replica queued.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while status_of(&api, &id).await != "completed" {
        assert!(std::time::Instant::now() < deadline, "never completed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.shutdown().await;
    api.shutdown().await;
}
