//! `spawn_app()`: the service built in-process on port 0 against the shared devstack test
//! stack (real Postgres, Redis and SQS emulator), with its own database and queues.

#![allow(dead_code)]
// Test helpers: a failure here is a test failure, so unwrap is the clearest report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use devstack::testing::{TestDatabase, TestQueues, TestStack};
use service::app::Application;
use service::config::Cli;
use sqlx::PgPool;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db: PgPool,
    pub database: TestDatabase,
    pub queues: TestQueues,
    pub stack: &'static TestStack,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn stack() -> &'static TestStack {
    TestStack::shared(&service::MIGRATOR)
}

/// The service's settings for `database` and `queues`, plus `extra` flags.
pub fn cli(stack: &TestStack, database: &TestDatabase, queues: &TestQueues, extra: &[&str]) -> Cli {
    let mut args = vec![
        "--http-addr",
        "127.0.0.1:0",
        "--sqs-wait-time-seconds",
        "1",
        "--log-format",
        "pretty",
    ];
    args.extend_from_slice(extra);
    Cli::try_parse_with_env(&stack.env_for(database, queues), &args).unwrap()
}

pub async fn spawn_app(extra: &[&str]) -> TestApp {
    let stack = stack();
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    spawn_app_with(stack, database, queues, extra).await
}

pub async fn spawn_app_with(
    stack: &'static TestStack,
    database: TestDatabase,
    queues: TestQueues,
    extra: &[&str],
) -> TestApp {
    let cli = cli(stack, &database, &queues, extra);
    let app = Application::build(&cli.settings).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        http: reqwest::Client::new(),
        db: PgPool::connect_lazy(&database.url).unwrap(),
        database,
        queues,
        stack,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_order(
        &self,
        body: &serde_json::Value,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url("/v1/orders")).json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.unwrap()
    }

    pub async fn get_order(&self, id: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/v1/orders/{id}")))
            .send()
            .await
            .unwrap()
    }

    /// Polls until the order has `status`.
    pub async fn wait_for_status(
        &self,
        id: &str,
        status: &str,
        limit: Duration,
    ) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let response = self.get_order(id).await;
            if response.status() == 200 {
                let body: serde_json::Value = response.json().await.unwrap();
                if body["status"] == status {
                    return body;
                }
                assert!(
                    Instant::now() < deadline,
                    "order {id} still {} after {limit:?}",
                    body["status"]
                );
            } else {
                assert!(
                    Instant::now() < deadline,
                    "order {id}: {}",
                    response.status()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Approximate depth of a queue (visible + in flight).
    pub async fn depth(&self, queue_url: &str) -> (u64, u64) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attributes = self
            .queues
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        let get = |a: A| attributes[&a].parse().unwrap();
        (
            get(A::ApproximateNumberOfMessages),
            get(A::ApproximateNumberOfMessagesNotVisible),
        )
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("shut down in time")
                .unwrap()
                .unwrap();
        }
    }
}

pub fn order_body(customer: &str) -> serde_json::Value {
    serde_json::json!({"customer_id": customer, "items": [{"sku": "A-1", "quantity": 2, "unit_price_cents": 1250}]})
}

pub fn unique_customer() -> String {
    format!("c-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}
