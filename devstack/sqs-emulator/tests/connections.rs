//! Connections that never finish their request headers are closed after the header-read
//! timeout, instead of being held forever (seen: 2,000 such connections all still held 12 s
//! later); the emulator keeps serving real clients meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use sqs_emulator::server::Emulator;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const HALF_OPEN: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_closed_after_the_header_timeout() {
    let emulator = Emulator::builder()
        .header_read_timeout(Duration::from_millis(500))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = emulator.local_addr();
    let mut streams = Vec::with_capacity(HALF_OPEN);
    for i in 0..HALF_OPEN {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // Half a request: the blank line that ends the headers never comes.
        let partial = if i % 2 == 0 {
            "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AmazonSQS.ListQueues\r\n"
        } else {
            "GET /?Action=ListQueues HTTP/1.1\r\nHo"
        };
        stream.write_all(partial.as_bytes()).await.unwrap();
        streams.push(stream);
    }

    // A real client is served while they hang.
    let client = common::client_for(&emulator.endpoint());
    client.list_queues().send().await.unwrap();

    let started = Instant::now();
    let mut closed = 0;
    for stream in &mut streams {
        let mut buffer = [0u8; 1024];
        // The server closes the connection (EOF, a reset, or a 408 then EOF).
        let deadline = Duration::from_secs(10).saturating_sub(started.elapsed());
        loop {
            match tokio::time::timeout(deadline, stream.read(&mut buffer)).await {
                Ok(Ok(0) | Err(_)) => {
                    closed += 1;
                    break;
                }
                Ok(Ok(_)) => continue,
                Err(_) => break,
            }
        }
    }
    assert_eq!(closed, HALF_OPEN, "every half-open connection is closed");
    client.list_queues().send().await.unwrap();
    emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_but_steady_client_within_the_timeout_is_served() {
    let emulator = Emulator::builder()
        .header_read_timeout(Duration::from_secs(5))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    let request =
        "GET /?Action=ListQueues HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    for chunk in request.as_bytes().chunks(16) {
        stream.write_all(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("ListQueuesResult"), "{response}");
    emulator.shutdown().await.unwrap();
}
