//! Emulator benchmarks for `bench/sqs-emulator.sh`, with aws-sdk-sqs against a running
//! emulator (`devstack sqs`) or any SQS endpoint:
//!
//! - `cycle ENDPOINT MESSAGES TASKS`: TASKS tasks each send a batch of 10, receive up to 10
//!   and delete what they received in one batch, until MESSAGES have gone round; messages/s.
//! - `fill ENDPOINT QUEUE COUNT`: COUNT 100-byte messages into QUEUE (created), in batches of
//!   10 from 16 tasks; messages/s.
//! - `receive ENDPOINT QUEUE SAMPLES`: SAMPLES receives of 10 messages from QUEUE (visibility
//!   timeout 0, so the queue keeps its depth); median and p99 latency.
//!
//! With `SQS_BENCH_TRACEPARENT` set, every message sent carries it as a `traceparent`
//! attribute.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, SendMessageBatchRequestEntry,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn client(endpoint: &str) -> Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("bench", "bench", None, None, "static"))
        .build();
    Client::from_conf(config)
}

/// `SQS_BENCH_TRACEPARENT`, when set: a W3C `traceparent` put on every message, as a traced
/// producer would (the emulator then reports each message's phases as spans).
static TRACEPARENT: LazyLock<Option<MessageAttributeValue>> = LazyLock::new(|| {
    let value = std::env::var("SQS_BENCH_TRACEPARENT").ok()?;
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .ok()
});

fn batch(body: &str) -> Vec<SendMessageBatchRequestEntry> {
    (0..10)
        .filter_map(|i| {
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body);
            let entry = match &*TRACEPARENT {
                Some(value) => entry.message_attributes("traceparent", value.clone()),
                None => entry,
            };
            entry.build().ok()
        })
        .collect()
}

async fn queue(client: &Client, name: &str) -> Result<String> {
    let created = client.create_queue().queue_name(name).send().await?;
    Ok(created.queue_url().unwrap_or_default().to_owned())
}

async fn cycle(client: Client, messages: u64, tasks: u64) -> Result<()> {
    let url = queue(&client, &format!("bench-cycle-{}", std::process::id())).await?;
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (client, url, done) = (client.clone(), url.clone(), Arc::clone(&done));
        handles.push(tokio::spawn(async move {
            let body = "x".repeat(100);
            while done.load(Ordering::Relaxed) < messages {
                client
                    .send_message_batch()
                    .queue_url(&url)
                    .set_entries(Some(batch(&body)))
                    .send()
                    .await?;
                let received = client
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .send()
                    .await?;
                let entries: Vec<_> = received
                    .messages()
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| {
                        DeleteMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .receipt_handle(m.receipt_handle().unwrap_or_default())
                            .build()
                            .ok()
                    })
                    .collect();
                if entries.is_empty() {
                    continue;
                }
                let count = entries.len() as u64;
                client
                    .delete_message_batch()
                    .queue_url(&url)
                    .set_entries(Some(entries))
                    .send()
                    .await?;
                done.fetch_add(count, Ordering::Relaxed);
            }
            Ok::<(), aws_sdk_sqs::Error>(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = done.load(Ordering::Relaxed);
    println!(
        "cycle: {total} messages sent, received and deleted in batches of 10 by {tasks} tasks in {elapsed:.2} s: {:.0} messages/s",
        total as f64 / elapsed
    );
    Ok(())
}

async fn fill(client: Client, name: &str, count: u64) -> Result<()> {
    let url = queue(&client, name).await?;
    let batches = Arc::new(AtomicU64::new(count.div_ceil(10)));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..16 {
        let (client, url, batches) = (client.clone(), url.clone(), Arc::clone(&batches));
        handles.push(tokio::spawn(async move {
            let body = "m".repeat(100);
            while batches
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                .is_ok()
            {
                client
                    .send_message_batch()
                    .queue_url(&url)
                    .set_entries(Some(batch(&body)))
                    .send()
                    .await?;
            }
            Ok::<(), aws_sdk_sqs::Error>(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "fill: {count} messages of 100 bytes into {name} in {elapsed:.1} s: {:.0} messages/s",
        count as f64 / elapsed
    );
    Ok(())
}

async fn receive(client: Client, name: &str, samples: usize) -> Result<()> {
    let url = queue(&client, name).await?;
    let mut times: Vec<Duration> = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await?;
        times.push(started.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "receive from {name}: median {:.0} us, p99 {:.0} us over {samples} receives of 10",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = |i: usize| -> Result<&str> {
        Ok(args
            .get(i)
            .map(String::as_str)
            .ok_or("missing argument; see the usage")?)
    };
    let number = |i: usize| -> Result<u64> {
        Ok(text(i)?
            .parse::<u64>()
            .map_err(|e| format!("argument {i}: {e}"))?)
    };
    match args.first().map(String::as_str) {
        Some("cycle") => cycle(client(text(1)?), number(2)?, number(3)?).await,
        Some("fill") => fill(client(text(1)?), text(2)?, number(3)?).await,
        Some("receive") => receive(client(text(1)?), text(2)?, number(3)? as usize).await,
        _ => Err("usage: sqs_bench cycle ENDPOINT MESSAGES TASKS | fill ENDPOINT QUEUE COUNT | receive ENDPOINT QUEUE SAMPLES".into()),
    }
}
