//! The real `loadtest` binary against a real stack: the devstack test stack (Postgres,
//! Redis, the SQS emulator) with the service running in this process on its own database
//! and queues. Every scenario runs for a few seconds; the summary must show requests made,
//! every queued order finished and every poison message dead-lettered; a strict SLO must
//! fail with exit status 99.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use devstack::testing::{TestDatabase, TestQueues, TestStack};
use loadtest::summary::Summary;
use service::app::Application;
use service::config::Cli;

struct Service {
    base: String,
    queues: TestQueues,
    _database: TestDatabase,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start_service() -> Service {
    let stack = TestStack::shared(&service::MIGRATOR);
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    let env = stack.env_for(&database, &queues);
    let args = [
        "--http-addr",
        "127.0.0.1:0",
        "--sqs-wait-time-seconds",
        "1",
        "--log-format",
        "json",
    ];
    let cli = Cli::try_parse_with_env(&env, &args).unwrap();
    let app = Application::build(&cli.settings).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Service {
        base,
        queues,
        _database: database,
        stop: Some(stop),
    }
}

/// Runs the binary with the service's targets and `extra` arguments; no state file.
async fn loadtest(service: &Service, dir: &Path, extra: &[&str]) -> Output {
    let stack = TestStack::shared(&service::MIGRATOR);
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadtest"));
    command
        .current_dir(dir)
        .env_remove("SQS_QUEUE_URL")
        .env_remove("SQS_DLQ_URL")
        .env_remove("SERVICE_URL")
        .env("DEVSTACK_STATE", dir.join("no-state.json"))
        .args(["run", "--host", &service.base])
        .args(["--sqs-endpoint", stack.sqs_endpoint()])
        .args(["--queue-url", &service.queues.queue_url])
        .args(["--dlq-url", &service.queues.dlq_url])
        .args(extra);
    command.output().await.unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_and_the_checks_and_a_lenient_slo_pass() {
    let service = start_service().await;
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("summary.json");
    let output = loadtest(
        &service,
        dir.path(),
        &[
            "--scenarios",
            "browse,checkout,mixed,queue,poison,ping",
            "--users",
            "12",
            "--run-time",
            "4s",
            "--seed-orders",
            "10",
            "--poison-rate",
            "4",
            "--drain-timeout",
            "60",
            "--slo",
            "error_rate<5%",
            "--slo",
            "p99<5s",
            "--slo",
            "queue_lag_p99<30s",
            "--slo",
            "requests>0 for GET /v1/orders/{id}",
            "--summary-file",
            summary_path.to_str().unwrap(),
            "--no-print-metrics",
            "--quiet",
        ],
    )
    .await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("targets:"), "{report}");
    assert!(report.contains("PASSED"), "{report}");

    let summary = Summary::read(&summary_path).unwrap();
    assert!(summary.passed);
    for name in [
        "GET /v1/orders/{id}",
        "POST /v1/orders",
        "SQS SendMessageBatch",
        "SQS SendMessage (poison)",
        "GET /livez",
    ] {
        let stats = summary
            .requests
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", summary.requests.keys()));
        assert!(stats.count > 0, "{name} made no requests");
    }
    let queue = summary.queue.as_ref().unwrap();
    assert!(queue.sent >= 10, "{queue:?}");
    assert_eq!(queue.completed, queue.sent, "{queue:?}");
    let poison = summary.poison.as_ref().unwrap();
    assert!(poison.sent > 0, "{poison:?}");
    assert_eq!(poison.dead_lettered, poison.sent, "{poison:?}");
    let service_figures = summary.service.as_ref().unwrap();
    assert!(
        service_figures.queue_lag.count >= queue.sent,
        "{service_figures:?}"
    );
    assert!(
        service_figures
            .outcomes
            .get("dead_letter")
            .copied()
            .unwrap_or(0)
            >= poison.sent,
        "{service_figures:?}"
    );
    // The check removed its poison messages: the DLQ is as it was.
    let left = service
        .queues
        .client
        .get_queue_attributes()
        .queue_url(&service.queues.dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let left = left
        .attributes()
        .unwrap()
        .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .unwrap()
        .clone();
    assert_eq!(left, "0");

    // Two summaries merge, and an SLO judged on the merge still holds.
    let merged_path = dir.path().join("merged.json");
    let merge = std::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args([
            "merge",
            summary_path.to_str().unwrap(),
            summary_path.to_str().unwrap(),
        ])
        .args([
            "--slo",
            "error_rate<5%",
            "-o",
            merged_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(merge.status.code(), Some(0), "{}", text(&merge));
    let merged = Summary::read(&merged_path).unwrap();
    assert_eq!(merged.generators, 2);
    assert_eq!(
        merged.all_requests().count,
        2 * summary.all_requests().count
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_slo_fails_the_run_with_status_99() {
    let service = start_service().await;
    let dir = tempfile::tempdir().unwrap();
    let output = loadtest(
        &service,
        dir.path(),
        &[
            "--scenarios",
            "browse",
            "--users",
            "2",
            "--run-time",
            "2s",
            "--seed-orders",
            "3",
            "--slo",
            "rps>10000000",
            "--slo",
            "p50<1us",
            "--summary-file",
            "-",
            "--quiet",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(99), "{}", text(&output));
    let summary: Summary = serde_json::from_slice(&output.stdout).unwrap();
    assert!(!summary.passed);
    assert_eq!(summary.verdicts.len(), 2);
    assert!(summary.verdicts.iter().all(|v| !v.passed));
    // The human report went to stderr, since the summary took stdout.
    assert!(String::from_utf8_lossy(&output.stderr).contains("FAIL"));
}

#[tokio::test]
async fn bad_slos_and_remote_writes_are_refused_before_any_load() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
            .current_dir(dir.path())
            .env("DEVSTACK_STATE", dir.path().join("none.json"))
            .arg("run")
            .args(args)
            .output()
            .unwrap()
    };
    let bad = run(&["--host", "http://127.0.0.1:9", "--slo", "p99<fast"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid SLO `p99<fast`"));

    let remote = run(&[
        "--host",
        "https://staging.example.invalid",
        "--scenarios",
        "checkout",
    ]);
    assert_eq!(remote.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&remote.stderr);
    assert!(stderr.contains("--allow-remote-writes"), "{stderr}");

    let no_queue = run(&["--host", "http://127.0.0.1:9", "--scenarios", "queue"]);
    assert_eq!(no_queue.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_queue.stderr).contains("needs the orders queue"));
}
