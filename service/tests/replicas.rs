//! Replicas are separate `service` processes sharing Postgres, Redis and the queues; each
//! keeps terminal orders in its own cache tier. A status change made by one replica (here the
//! worker) must reach every other replica's next read: once replica B has heard of the change
//! on its status stream, its next `GET` says so, and no read ever goes back to an older status.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A `service` process, killed when dropped.
struct Replica {
    child: Child,
    base: String,
}

impl Replica {
    async fn start(env: &BTreeMap<String, String>, role: &str, log: &std::path::Path) -> Self {
        let port = devstack::ports::free_port().unwrap();
        let log = std::fs::File::create(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_service"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("SQS_WAIT_TIME_SECONDS", "1")
            .env("LOG_FORMAT", "json")
            .args(["serve", "--role", role])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let replica = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(format!("{}/health", replica.base))
            .await
            .map_or(true, |r| r.status() != 200)
        {
            assert!(Instant::now() < deadline, "{role} replica not ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        replica
    }

    async fn read(&self, http: &reqwest::Client, id: &str) -> (String, bool) {
        read(http, &self.base, id).await
    }
}

/// The order's status at the replica at `base`, and whether it came from a cache.
async fn read(http: &reqwest::Client, base: &str, id: &str) -> (String, bool) {
    let response = http
        .get(format!("{base}/v1/orders/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let hit = response.headers()["x-cache"] == "hit";
    let order: Value = response.json().await.unwrap();
    (order["status"].as_str().unwrap().to_string(), hit)
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_reaches_the_other_replicas_next_read() {
    let stack = common::stack();
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    let env = stack.env_for(&database, &queues);
    let logs = tempfile::tempdir().unwrap();
    let a = Replica::start(&env, "api", &logs.path().join("a.log")).await;
    let b = Replica::start(&env, "api", &logs.path().join("b.log")).await;
    let http = reqwest::Client::new();

    let created: Value = http
        .post(format!("{}/v1/orders", a.base))
        .json(&common::order_body(&common::unique_customer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    // Both replicas read it pending, B twice: the second read is a cache hit.
    assert_eq!(a.read(&http, &id).await.0, "pending");
    assert_eq!(b.read(&http, &id).await.0, "pending");
    assert_eq!(b.read(&http, &id).await, ("pending".into(), true));
    let events = http
        .get(format!("{}/v1/orders/{id}/events", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);

    // B reads as fast as it can while the change happens: never backwards.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn({
        let (http, id, stop, base) = (http.clone(), id.clone(), stop.clone(), b.base.clone());
        async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                seen.push(read(&http, &base, &id).await.0);
            }
            seen
        }
    });

    // A third process, a worker replica, completes the order.
    let worker = Replica::start(&env, "worker", &logs.path().join("worker.log")).await;
    let heard = tokio::time::timeout(Duration::from_secs(20), events.text())
        .await
        .expect("B hears the change")
        .unwrap();
    assert!(heard.contains(r#""status":"completed""#), "{heard}");
    // The bound: once B has heard the change, its next read says so; A's too.
    assert_eq!(b.read(&http, &id).await.0, "completed");
    assert_eq!(a.read(&http, &id).await.0, "completed");
    stop.store(true, Ordering::Relaxed);
    let seen = reader.await.unwrap();
    let first_completed = seen.iter().position(|s| s == "completed");
    if let Some(at) = first_completed {
        assert!(
            seen[at..].iter().all(|s| s == "completed"),
            "a read went back to an older status: {seen:?}"
        );
    }
    // A completed order cannot change again: B now serves it from its own tier.
    assert_eq!(b.read(&http, &id).await, ("completed".into(), true));
    drop(worker);
}
