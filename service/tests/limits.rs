//! Slow and greedy clients: the request timeout holds against a client that never finishes
//! its body, the concurrency limit answers 503 at once past its size and frees up after,
//! and hundreds of open connections do not stop the service from answering.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection and sends a POST whose body never arrives past its first byte.
async fn stalled_post(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /v1/orders HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{",
        )
        .await
        .unwrap();
    stream
}

/// Reads until the status line and headers arrive (or the peer closes); returns the text.
async fn read_head(stream: &mut TcpStream, limit: Duration) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + limit;
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Ok(Err(_)) => break,
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_body_is_answered_503_when_the_timeout_ends() {
    let app = common::spawn_app(&["--request-timeout-ms", "300"]).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let started = Instant::now();
    let mut stream = stalled_post(&addr).await;
    let head = read_head(&mut stream, Duration::from_secs(10)).await;
    let waited = started.elapsed();
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("application/problem+json"),
        "{head}"
    );
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_concurrency_limit_requests_get_503_at_once_and_capacity_returns() {
    let app = common::spawn_app(&[
        "--max-concurrent-requests",
        "4",
        "--request-timeout-ms",
        "1500",
    ])
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // Four slow clients take every permit.
    let mut slow = Vec::new();
    for _ in 0..4 {
        slow.push(stalled_post(&addr).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let refused = app
        .http
        .get(app.url("/v1/orders?customer_id=c-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "refused at once, not queued"
    );
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "overloaded", "{problem}");
    // Liveness is outside the limit: the process still says it is alive.
    assert_eq!(
        app.http
            .get(app.url("/livez"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The slow ones time out and give their permits back.
    for stream in &mut slow {
        let head = read_head(stream, Duration::from_secs(10)).await;
        assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    }
    let served = app
        .http
        .get(app.url("/v1/orders?customer_id=c-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_idle_connections_do_not_stop_the_service_answering() {
    let app = common::spawn_app(&[]).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut idle = Vec::new();
    for _ in 0..500 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let response = app
        .http
        .get(app.url("/v1/orders?customer_id=c-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let created = app
        .post_order(&common::order_body(&common::unique_customer()), None)
        .await;
    assert_eq!(created.status(), 202);
    drop(idle);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_dribbles_its_headers_is_cut_off_and_does_not_block_shutdown() {
    let app = common::spawn_app(&["--request-timeout-ms", "300"]).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /v1/orders HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // hyper answers 408 or just closes; either way the connection ends soon.
    let head = read_head(&mut stream, Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "held for {:?}",
        started.elapsed()
    );
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 408"),
        "{head}"
    );
    // And a stalled connection does not hold up a graceful shutdown.
    let _stalled = {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /livez HTTP/1.1\r\n").await.unwrap();
        s
    };
    let stopping = Instant::now();
    app.shutdown().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        stopping.elapsed()
    );
}
