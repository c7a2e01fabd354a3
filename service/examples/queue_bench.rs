//! Worker-pool benchmarks for `bench/service.sh`, against a running service and its stack
//! (settings from the environment, as `devstack env` prints them):
//!
//! - `throughput N`: enqueue N `order.submitted` messages (batches of 10, 8 senders), then
//!   time until Postgres shows all N completed: messages/s from first send to last completion.
//! - `fill N`: enqueue N such messages and print the run's name (their `customer_id`), for a
//!   pool that is not running yet; `drain RUN N START_MS`: wait until Postgres shows the run's
//!   N orders completed, and print messages/s from `START_MS` (ms since the epoch, when the
//!   pool was started) — the pool's rate from a full queue to all completed.
//! - `settle`: wait until the queue holds no message, visible or in flight.
//! - `lag RATE SECONDS METRICS_URL`: offer RATE messages/s for SECONDS, wait for the drain,
//!   then read the service's `worker_queue_lag_seconds` histogram and print its p50/p99.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use sqlx::Connection as _;

fn env(key: &str) -> anyhow::Result<String> {
    std::env::var(key).with_context(|| format!("{key} is not set (eval \"$(devstack env)\")"))
}

fn message(run: &str) -> String {
    serde_json::json!({"type": "order.submitted", "order": {"id": uuid::Uuid::new_v4(), "customer_id": run, "items": [{"sku": "B", "quantity": 1, "unit_price_cents": 100}]}}).to_string()
}

async fn send_batches(
    client: &aws_sdk_sqs::Client,
    queue: &str,
    run: &str,
    batches: usize,
) -> anyhow::Result<()> {
    for _ in 0..batches {
        let entries: Vec<_> = (0..10)
            .filter_map(|i| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(message(run))
                    .build()
                    .ok()
            })
            .collect();
        client
            .send_message_batch()
            .queue_url(queue)
            .set_entries(Some(entries))
            .send()
            .await?;
    }
    Ok(())
}

/// Sends `n` messages (rounded down to 80s) from 8 concurrent senders, 10 per batch.
async fn send_all(
    client: &aws_sdk_sqs::Client,
    queue: &str,
    run: &str,
    n: usize,
) -> anyhow::Result<()> {
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let (client, queue, run) = (client.clone(), queue.to_string(), run.to_string());
            tokio::spawn(async move { send_batches(&client, &queue, &run, n / 80).await })
        })
        .collect();
    for sender in senders {
        sender.await??;
    }
    Ok(())
}

async fn completed(db: &mut sqlx::PgConnection, run: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM orders WHERE customer_id = $1 AND status = 'completed'",
    )
    .bind(run)
    .fetch_one(db)
    .await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue = env("SQS_QUEUE_URL")?;
    let mut db = sqlx::PgConnection::connect(&env("DATABASE_URL")?).await?;
    let run = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    match args.get(1).map(String::as_str) {
        Some("throughput") => {
            let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20_000);
            let started = Instant::now();
            send_all(&client, &queue, &run, n).await?;
            let sent_in = started.elapsed();
            let total = (n / 80 * 80) as i64;
            while completed(&mut db, &run).await? < total {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let elapsed = started.elapsed();
            println!(
                "worker throughput: {total} messages enqueued in {:.2} s, all completed after {:.2} s: {:.0} messages/s end to end",
                sent_in.as_secs_f64(),
                elapsed.as_secs_f64(),
                total as f64 / elapsed.as_secs_f64()
            );
        }
        Some("fill") => {
            let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20_000);
            send_all(&client, &queue, &run, n).await?;
            println!("{run}");
        }
        Some("drain") => {
            let usage = "drain RUN N START_MS";
            let run = args.get(2).context(usage)?;
            let n: i64 = args.get(3).and_then(|n| n.parse().ok()).context(usage)?;
            let start_ms: u128 = args.get(4).and_then(|n| n.parse().ok()).context(usage)?;
            let total = n / 80 * 80;
            let deadline = Instant::now() + Duration::from_secs(600);
            while completed(&mut db, run).await? < total {
                anyhow::ensure!(Instant::now() < deadline, "not drained within 10 minutes");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis();
            let seconds = now_ms.saturating_sub(start_ms) as f64 / 1000.0;
            println!("{total} {seconds:.3} {:.0}", total as f64 / seconds);
        }
        Some("settle") => {
            let deadline = Instant::now() + Duration::from_secs(600);
            loop {
                let attributes = client
                    .get_queue_attributes()
                    .queue_url(&queue)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                    .send()
                    .await?;
                let left = attributes.attributes().map_or(0, |a| {
                    a.values().filter_map(|v| v.parse::<u64>().ok()).sum()
                });
                if left == 0 {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "{left} messages still queued after 10 minutes"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Some("lag") => {
            let rate: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
            let seconds: u64 = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(10);
            let metrics_url = args.get(4).context("lag RATE SECONDS METRICS_URL")?;
            let before = lag_histogram(metrics_url).await?;
            let batches_per_tick = (rate / 100).max(1) as usize; // 10 ticks/s, 10 per batch
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let started = Instant::now();
            let mut sent = 0;
            while started.elapsed() < Duration::from_secs(seconds) {
                tick.tick().await;
                send_batches(&client, &queue, &run, batches_per_tick).await?;
                sent += batches_per_tick * 10;
            }
            while completed(&mut db, &run).await? < sent as i64 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let after = lag_histogram(metrics_url).await?;
            let delta: Vec<(f64, f64)> = after
                .iter()
                .zip(&before)
                .map(|((le, a), (_, b))| (*le, a - b))
                .collect();
            println!(
                "queue lag at {rate} messages/s offered for {seconds} s ({sent} messages): p50 ≤ {} ms, p99 ≤ {} ms (histogram bucket bounds)",
                quantile(&delta, 0.50) * 1000.0,
                quantile(&delta, 0.99) * 1000.0
            );
        }
        _ => anyhow::bail!(
            "usage: queue_bench throughput N | fill N | drain RUN N START_MS | settle | lag RATE SECONDS METRICS_URL"
        ),
    }
    Ok(())
}

/// The cumulative buckets of `worker_queue_lag_seconds`, as (le, count).
async fn lag_histogram(url: &str) -> anyhow::Result<Vec<(f64, f64)>> {
    let text = reqwest::get(url).await?.text().await?;
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| l.starts_with("worker_queue_lag_seconds_bucket"))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(buckets)
}

/// The smallest bucket bound holding quantile `q` of the observations.
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets
        .iter()
        .find(|(_, count)| *count >= q * total)
        .map_or(f64::NAN, |(le, _)| *le)
}
