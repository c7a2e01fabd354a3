//! Measures `TestStack::fresh_database()`: how long a test waits for its own migrated database.
//! Run by `bench/devstack-startup.sh`; prints the median and p95 of N clones.

use std::time::{Duration, Instant};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let stack = devstack::testing::TestStack::try_shared(&MIGRATOR).map_err(anyhow::Error::msg)?;
    stack.fresh_database().await?; // warm the connection path once
    let mut times: Vec<Duration> = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        stack.fresh_database().await?;
        times.push(started.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "fresh_database: n={rounds} median={:.1} ms p95={:.1} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3
    );
    Ok(())
}
