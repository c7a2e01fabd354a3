//! `service serve --role api|worker|all`: an API replica polls no queue; a worker replica
//! serves only `/health`, `/livez` and `/metrics` over HTTP and processes the queue. Together
//! they do what one `all` process does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use service::app::Application;
use tokio::sync::oneshot;

use common::{order_body, unique_customer};

/// A replica running until dropped or stopped.
struct Replica {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    async fn start(
        database: &devstack::testing::TestDatabase,
        queues: &devstack::testing::TestQueues,
        role: &str,
    ) -> Self {
        let cli = common::cli(common::stack(), database, queues, &["--role", role]);
        let app = Application::build(&cli.settings).await.unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            base,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

async fn status_of(http: &reqwest::Client, api: &Replica, id: &str) -> String {
    let order: serde_json::Value = http
        .get(api.url(&format!("/v1/orders/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    order["status"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_replica_polls_nothing_and_a_worker_replica_serves_no_api() {
    let stack = common::stack();
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    let http = reqwest::Client::new();

    let api = Replica::start(&database, &queues, "api").await;
    let created: serde_json::Value = http
        .post(api.url("/v1/orders"))
        .json(&order_body(&unique_customer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    // Nobody polls: the message waits in the queue and the order stays pending.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(status_of(&http, &api, &id).await, "pending");
    let visible = queues
        .client
        .get_queue_attributes()
        .queue_url(&queues.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages]
        .clone();
    assert_eq!(visible, "1", "the order's message is still queued");

    let worker = Replica::start(&database, &queues, "worker").await;
    for (path, status) in [
        ("/livez", 200),
        ("/metrics", 200),
        ("/v1/orders", 404),
        (&*format!("/v1/orders/{id}"), 404),
        ("/openapi.json", 404),
    ] {
        let response = http.get(worker.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "worker replica: GET {path}");
    }
    let health = http.get(worker.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "{}", health.text().await.unwrap());

    // The worker replica processes what the API replica queued.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while status_of(&http, &api, &id).await != "completed" {
        assert!(std::time::Instant::now() < deadline, "never completed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.stop().await;
    api.stop().await;
}
