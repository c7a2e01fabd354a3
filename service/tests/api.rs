//! Black-box tests of the HTTP API against real Postgres, Redis and the SQS emulator (the
//! devstack test stack), the service bound to port 0.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{order_body, spawn_app, unique_customer};
use serde_json::{Value, json};

fn assert_problem(
    response_status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    status: u16,
    code: &str,
) {
    assert_eq!(response_status, status, "{body}");
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "{body}"
    );
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .starts_with("https://slipway.dev/problems/")
    );
    assert!(body["title"].is_string() && body["detail"].is_string());
}

async fn problem(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

#[tokio::test]
async fn create_is_accepted_then_completed_by_the_worker_and_read_through_the_cache() {
    let app = spawn_app(&[]).await;
    let response = app.post_order(&order_body("c-42"), None).await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, format!("/v1/orders/{id}"));
    assert_eq!(body["status"], "pending");
    assert_eq!(body["total_cents"], 2500);
    assert!(body["created_at"].is_string());

    let completed = app
        .wait_for_status(id, "completed", Duration::from_secs(15))
        .await;
    assert_eq!(completed["id"], id);
    assert_eq!(completed["created_at"], body["created_at"]);
    // Completion invalidated the cache: the next read fills it, the one after hits it.
    let _ = app.get_order(id).await;
    let cached = app.get_order(id).await;
    assert_eq!(cached.headers()["x-cache"], "hit");
    let cached: Value = cached.json().await.unwrap();
    assert_eq!(cached["status"], "completed");

    let processed: i32 =
        sqlx::query_scalar("SELECT processed_count FROM orders WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(processed, 1);
    app.shutdown().await;
}

#[tokio::test]
async fn the_event_stream_sees_the_status_change() {
    let app = spawn_app(&["--worker-work-ms", "700"]).await;
    let created: Value = app
        .post_order(&order_body(&unique_customer()), None)
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let response = app
        .http
        .get(app.url(&format!("/v1/orders/{id}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = tokio::time::timeout(Duration::from_secs(15), response.text())
        .await
        .expect("the stream ends after completion")
        .unwrap();
    let statuses: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| {
            serde_json::from_str::<Value>(d.trim()).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("completed"),
        "{text}"
    );
    assert!(
        statuses.len() >= 2,
        "the first status, then at least one change: {statuses:?}"
    );
    assert!(text.contains("event: status"));

    let unknown = app
        .http
        .get(app.url(&format!("/v1/orders/{}/events", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn idempotency_keys_replay_and_conflict() {
    let app = spawn_app(&[]).await;
    let customer = unique_customer();
    let key = uuid::Uuid::new_v4().to_string();
    let first = app.post_order(&order_body(&customer), Some(&key)).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let again = app.post_order(&order_body(&customer), Some(&key)).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);

    let other = json!({"customer_id": customer, "items": [{"sku": "Z", "quantity": 1, "unit_price_cents": 1}]});
    let (status, headers, body) = problem(app.post_order(&other, Some(&key)).await).await;
    assert_problem(status, &headers, &body, 409, "idempotency_conflict");

    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE customer_id = $1")
        .bind(&customer)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1, "one order for the key");
    app.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let app = spawn_app(&["--rate-limit-per-minute", "3"]).await;
    let customer = unique_customer();
    for _ in 0..3 {
        assert_eq!(
            app.post_order(&order_body(&customer), None).await.status(),
            202
        );
    }
    let (status, headers, body) = problem(app.post_order(&order_body(&customer), None).await).await;
    assert_problem(status, &headers, &body, 429, "rate_limited");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    // Another customer is not limited.
    assert_eq!(
        app.post_order(&order_body(&unique_customer()), None)
            .await
            .status(),
        202
    );
    app.shutdown().await;
}

#[tokio::test]
async fn every_error_status_is_a_problem_document() {
    let app = spawn_app(&["--max-body-bytes", "2048"]).await;
    let post = |body: &'static str, content_type: &'static str| {
        app.http
            .post(app.url("/v1/orders"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let (s, h, b) = problem(post("{not json", "application/json").await.unwrap()).await;
    assert_problem(s, &h, &b, 400, "malformed_json");
    let (s, h, b) = problem(post("{}", "text/plain").await.unwrap()).await;
    assert_problem(s, &h, &b, 415, "unsupported_media_type");
    let big = format!(r#"{{"customer_id": "c", "pad": "{}"}}"#, "x".repeat(4096));
    let response = app
        .http
        .post(app.url("/v1/orders"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (s, h, b) = problem(response).await;
    assert_problem(s, &h, &b, 413, "body_too_large");
    let invalid =
        json!({"customer_id": "", "items": [{"sku": "", "quantity": 0, "unit_price_cents": -5}]});
    let (s, h, b) = problem(app.post_order(&invalid, None).await).await;
    assert_problem(s, &h, &b, 422, "validation_failed");
    let fields: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "customer_id",
            "items[0].sku",
            "items[0].quantity",
            "items[0].unit_price_cents"
        ]
    );
    let (s, h, b) = problem(app.get_order(&uuid::Uuid::new_v4().to_string()).await).await;
    assert_problem(s, &h, &b, 404, "not_found");
    let (s, h, b) = problem(app.get_order("not-a-uuid").await).await;
    assert_problem(s, &h, &b, 400, "invalid_id");
    let (s, h, b) = problem(app.http.get(app.url("/nope")).send().await.unwrap()).await;
    assert_problem(s, &h, &b, 404, "not_found");
    let (s, h, b) = problem(app.http.delete(app.url("/v1/orders")).send().await.unwrap()).await;
    assert_problem(s, &h, &b, 405, "method_not_allowed");
    let (s, h, b) = problem(
        app.http
            .get(app.url("/v1/orders?limit=500"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(s, &h, &b, 422, "validation_failed");
    assert_eq!(
        b["errors"].as_array().unwrap().len(),
        2,
        "customer_id and limit: {b}"
    );
    // An empty cursor is not a cursor this API handed out (the document's pattern says `+`).
    for cursor in ["", "not-a-cursor"] {
        let url = app.url(&format!("/v1/orders?customer_id=c&cursor={cursor}"));
        let (s, h, b) = problem(app.http.get(url).send().await.unwrap()).await;
        assert_problem(s, &h, &b, 422, "validation_failed");
        assert_eq!(b["errors"][0]["field"], "cursor", "{b}");
    }
    let (s, h, b) = problem(
        app.post_order(&order_body("c"), Some("bad key with spaces"))
            .await,
    )
    .await;
    assert_problem(s, &h, &b, 422, "validation_failed");
    // Invalid UTF-8 and deep nesting are malformed JSON, not crashes.
    let response = app
        .http
        .post(app.url("/v1/orders"))
        .header("content-type", "application/json")
        .body(vec![b'{', 0xff, b'}'])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let response = app
        .http
        .post(app.url("/v1/orders"))
        .header("content-type", "application/json")
        .body(deep.clone())
        .send()
        .await
        .unwrap();
    assert!(
        response.status() == 400 || response.status() == 413,
        "{}",
        response.status()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn orders_are_listed_newest_first_page_by_page() {
    let app = spawn_app(&[]).await;
    let customer = unique_customer();
    let mut created = Vec::new();
    for _ in 0..5 {
        let body: Value = app
            .post_order(&order_body(&customer), None)
            .await
            .json()
            .await
            .unwrap();
        created.push(body["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let mut url = format!("/v1/orders?customer_id={customer}&limit=2");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app
            .http
            .get(app.url(&url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "newest first, each once");
    app.shutdown().await;
}

#[tokio::test]
async fn operations_endpoints() {
    let app = spawn_app(&[]).await;
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.unwrap();
    for dependency in ["postgres", "redis", "sqs"] {
        assert_eq!(health["checks"][dependency]["status"], "up", "{health}");
    }
    let livez = app.http.get(app.url("/livez")).send().await.unwrap();
    assert_eq!(livez.status(), 200);

    let created: Value = app
        .post_order(&order_body(&unique_customer()), None)
        .await
        .json()
        .await
        .unwrap();
    app.wait_for_status(
        created["id"].as_str().unwrap(),
        "completed",
        Duration::from_secs(15),
    )
    .await;
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in slipway_contracts::metrics::ALL {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    assert!(
        metrics.contains(r#"route="/v1/orders/{id}""#),
        "route templates, not raw paths"
    );
    assert!(metrics.contains(r#"outcome="ok""#));

    let openapi: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/orders",
        "/v1/orders/{id}",
        "/v1/orders/{id}/events",
        "/health",
        "/livez",
        "/metrics",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let response = app.http.get(app.url("/livez")).send().await.unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    app.shutdown().await;
}
