//! A reload of the service as devstack does it (`up --watch` after a rebuild): the real
//! `service` binary run as the stack's app, replaced start-first twice while orders stream in
//! over HTTP and through the queue. Every order created before, during and after the reloads
//! completes exactly once (`processed_count = 1`: none lost in a drain, none applied twice by
//! the overlapping processes), each reload gives a new pid on the same URL, and the API keeps
//! answering throughout (the new process shares the port before the old one drains). Then
//! Redis is restarted as `devstack restart redis` does it: the same URL, and the service —
//! not restarted — is healthy again within seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use devstack::apps::declaration::service_app;
use devstack::stack::{Silent, Stack, StackOptions};
use sqlx::PgPool;
use uuid::Uuid;

const CUSTOMER: &str = "reload-test";

/// Creates orders one after another until told to stop; the ids of those created, and how
/// many requests got no answer.
async fn create_orders(base: String, stop: Arc<AtomicBool>, failed: Arc<AtomicUsize>) -> Vec<Uuid> {
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in 0u64.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // One customer per order: the per-customer admission limit is not under test.
        let body = serde_json::json!({
            "customer_id": format!("{CUSTOMER}-{n}"),
            "items": [{"sku": "A-1", "quantity": 1, "unit_price_cents": 100}],
        });
        let created = http
            .post(format!("{base}/v1/orders"))
            .json(&body)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match created {
            Ok(response) if response.status().is_success() => {
                let order: serde_json::Value = response.json().await.unwrap();
                ids.push(order["id"].as_str().unwrap().parse().unwrap());
            }
            answer => {
                eprintln!("no order: {answer:?}");
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ids
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_flow_exactly_once_across_start_first_reloads() {
    let logs = tempfile::tempdir().unwrap();
    let mut options = StackOptions::ephemeral_on_free_ports();
    options.log_dir = Some(logs.path().to_path_buf());
    let mut stack = Stack::start(&options, &Silent).await.unwrap();
    let app = service_app(Path::new(env!("CARGO_BIN_EXE_service")), 0);
    stack
        .start_apps(&[app], &workspace(), logs.path(), &Silent)
        .await
        .unwrap();
    let id = stack.id("service").unwrap();
    let base = stack.env()["SERVICE_URL"].clone();
    let db = PgPool::connect(&stack.env()["DATABASE_URL"]).await.unwrap();

    let (stop, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let producer = tokio::spawn(create_orders(base.clone(), stop.clone(), failed.clone()));
    let mut pids = vec![stack.get(id).pid().unwrap()];
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        stack.replace_component(id).await.unwrap();
        let component = stack.get(id);
        assert_eq!(component.url(), base, "the same URL after a reload");
        pids.push(component.pid().unwrap());
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::Relaxed);
    let ids = producer.await.unwrap();
    assert!(
        pids.windows(2).all(|w| w[0] != w[1]),
        "a new process each time: {pids:?}"
    );
    assert!(ids.len() > 100, "orders flowed: {}", ids.len());
    let failed = failed.load(Ordering::Relaxed);
    eprintln!(
        "{} orders created across two reloads, {failed} requests failed",
        ids.len()
    );
    assert!(
        failed <= 2,
        "the API answered throughout the reloads: {failed} of {} requests failed",
        ids.len() + failed
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    let rows: Vec<(Uuid, String, i32)> = loop {
        let rows: Vec<(Uuid, String, i32)> = sqlx::query_as(
            "SELECT id, status, processed_count FROM orders WHERE customer_id LIKE $1",
        )
        .bind(format!("{CUSTOMER}-%"))
        .fetch_all(&db)
        .await
        .unwrap();
        if rows.iter().all(|(_, status, _)| status == "completed") || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(rows.len(), ids.len(), "every created order, and only those");
    let not_once: Vec<&(Uuid, String, i32)> = rows
        .iter()
        .filter(|(_, status, count)| status != "completed" || *count != 1)
        .collect();
    assert!(
        not_once.is_empty(),
        "orders not completed exactly once: {not_once:?}"
    );

    let redis = stack.id("redis").unwrap();
    let redis_url = stack.get(redis).url().to_owned();
    stack.restart_component(redis).await.unwrap();
    assert_eq!(
        stack.get(redis).url(),
        redis_url,
        "the same port and password"
    );
    let http = reqwest::Client::new();
    let restarted = Instant::now();
    loop {
        let health = http.get(format!("{base}/health")).send().await;
        if health.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(10),
            "the service is not healthy 10 s after Redis restarted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "healthy {} ms after Redis restarted",
        restarted.elapsed().as_millis()
    );
    db.close().await;
    stack.stop().await;
}
