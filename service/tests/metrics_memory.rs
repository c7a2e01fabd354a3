//! The Prometheus recorder's memory stays flat when nobody scrapes `/metrics` (compose runs
//! no Prometheus): histogram samples pile up until they are drained, and the upkeep task
//! drains them on a timer. The same load without the upkeep grows by tens of megabytes,
//! which shows the measurement can fail. Memory, not time, is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use slipway_contracts::metrics as names;

const SAMPLES: usize = 4_000_000;

/// Resident set size, from /proc (Linux).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Records `SAMPLES` request durations with the service's recorder and returns how much the
/// RSS grew meanwhile.
fn growth_while_recording(upkeep: bool) -> u64 {
    let recorder = service::telemetry::build_recorder();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = upkeep.then(|| {
        let _guard = runtime.enter();
        service::telemetry::spawn_metrics_upkeep(
            recorder.handle(),
            Duration::from_millis(20),
            stop.clone(),
        )
    });
    let before = rss_bytes();
    metrics::with_local_recorder(&recorder, || {
        let histogram = metrics::histogram!(
            names::HTTP_REQUEST_DURATION_SECONDS,
            "method" => "GET", "route" => "/v1/orders/{id}", "status" => "200"
        );
        for i in 0..SAMPLES {
            histogram.record((i % 1000) as f64 / 10_000.0);
            if i % 100_000 == 0 {
                // Give the upkeep a chance, as a serving process would.
                std::thread::sleep(Duration::from_millis(25));
            }
        }
    });
    let grown = rss_bytes().saturating_sub(before);
    stop.cancel();
    if let Some(task) = task {
        runtime.block_on(task).unwrap();
    }
    grown
}

#[test]
fn an_unscraped_recorder_stays_flat_with_its_upkeep() {
    // With the upkeep first: memory an allocator keeps after a free would hide growth later.
    let with = growth_while_recording(true);
    let without = growth_while_recording(false);
    eprintln!("RSS growth over {SAMPLES} samples: {with} bytes with upkeep, {without} without");
    assert!(with < 8 << 20, "with the upkeep, RSS grew by {with} bytes");
    assert!(
        without > 24 << 20,
        "without it, the samples should pile up (grew {without} bytes): the test would not see a leak"
    );
}
