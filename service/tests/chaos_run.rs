//! Chaos runs end to end: a real stack (Postgres and Redis behind devstack's proxies, the SQS
//! emulator) with the real `service` binary as its app and a control socket, as `devstack up`
//! has; the load tester's `run` with `--chaos PLAN.toml` drives the queue and poison scenarios
//! while its plan kills, restarts and pauses components, slows Postgres through its proxy,
//! makes SQS fail and deliver twice, and moves the emulator's clock. Every message sent must
//! be accounted for: none lost, none applied twice (the summary's `reconciliation`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser as _;
use devstack::apps::declaration::service_app;
use devstack::control::server::{Served, bind};
use devstack::logs::hub::LogHub;
use devstack::stack::{Silent, Stack, StackOptions};
use loadtest::cli::{Cli, Command};
use loadtest::reconcile::Reconciliation;
use loadtest::summary::Summary;

/// A stack with the service, its state file and control socket in `dir/.devstack`.
async fn stack_with_control(dir: &Path) -> (Arc<tokio::sync::Mutex<Stack>>, PathBuf) {
    let logs = dir.join("logs");
    let devstack = dir.join(".devstack");
    std::fs::create_dir_all(&devstack).unwrap();
    let mut options = StackOptions::ephemeral_on_free_ports();
    options.log_dir = Some(logs.clone());
    let mut stack = Stack::start(&options, &Silent).await.unwrap();
    let app = service_app(Path::new(env!("CARGO_BIN_EXE_service")), 0);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    stack
        .start_apps(&[app], &workspace, &logs, &Silent)
        .await
        .unwrap();
    let state = devstack.join("state.json");
    stack.state().write(&state).unwrap();
    let stack = Arc::new(tokio::sync::Mutex::new(stack));
    let served = Served {
        stack: stack.clone(),
        logs: LogHub::new(100),
        traces: None,
        on_change: Box::new(|_| {}),
    };
    let socket = devstack.join(slipway_contracts::control::SOCKET_FILE);
    // The listener lives as long as the test's runtime.
    let _listener = bind(&socket, served).unwrap();
    (stack, state)
}

/// `loadtest run --chaos PLAN` against the stack; the summary it wrote and whether it passed.
async fn chaos_run(dir: &Path, state: &Path, name: &str, plan: &str) -> (bool, Summary) {
    let plan_path = dir.join(format!("{name}.toml"));
    std::fs::write(&plan_path, plan).unwrap();
    let summary_path = dir.join(format!("{name}.json"));
    let args = Cli::try_parse_from([
        "loadtest",
        "run",
        "--state-file",
        state.to_str().unwrap(),
        "--chaos",
        plan_path.to_str().unwrap(),
        "--scenarios",
        "queue,poison",
        "--users",
        "2",
        "--increase-rate",
        "2",
        "--run-time",
        "8s",
        "--queue-batch",
        "5",
        "--queue-rate",
        "30",
        "--poison-rate",
        "2",
        "--drain-timeout",
        "120",
        "--summary-file",
        summary_path.to_str().unwrap(),
        "--no-print-metrics",
    ])
    .unwrap();
    let Command::Run(args) = args.command() else {
        panic!("not a run");
    };
    let passed = loadtest::run::run(*args).await.unwrap();
    (passed, Summary::read(&summary_path).unwrap())
}

fn assert_clean(name: &str, summary: &Summary, faults: usize) {
    let r: Reconciliation = summary.reconciliation.unwrap();
    assert!(r.sent > 0, "{name}: {r:?}");
    assert_eq!(r.lost, 0, "{name}: {r:?}");
    assert_eq!(r.applied_twice, 0, "{name}: {r:?}");
    assert_eq!(r.not_completed, 0, "{name}: {r:?}");
    assert_eq!(r.applied_once + r.dead_lettered, r.sent, "{name}: {r:?}");
    assert_eq!(summary.chaos.len(), faults, "{name}: {:#?}", summary.chaos);
    for event in &summary.chaos {
        assert!(event.error.is_none(), "{name}: {event:?}");
    }
    assert!(
        summary
            .verdicts
            .iter()
            .any(|v| v.rule.contains("no message lost") && v.passed),
        "{name}: {:#?}",
        summary.verdicts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_plans_during_the_load_lose_nothing_and_double_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, state) = stack_with_control(dir.path()).await;

    // Process and network faults: Postgres slowed through its proxy, Redis restarted, the
    // service killed and started again, Postgres hung for a second.
    let (passed, summary) = chaos_run(
        dir.path(),
        &state,
        "processes",
        r#"
        [[fault]]
        at = "1s"
        kind = "latency"
        target = "postgres"
        value = "30ms"
        jitter = "10ms"
        duration = "2s"
        [[fault]]
        at = "2s"
        kind = "restart"
        target = "redis"
        [[fault]]
        at = "3s"
        kind = "kill"
        target = "service"
        duration = "1s"
        [[fault]]
        at = "5500ms"
        kind = "pause"
        target = "postgres"
        duration = "1s"
        "#,
    )
    .await;
    assert_clean("processes", &summary, 4);
    assert!(passed, "{:#?}", summary.verdicts);

    // SQS faults and the clock: receives delivered twice, receives and deletes failing, the
    // clock jumped past every visibility timeout — at-least-once at its worst, which the
    // service must absorb without applying an order twice.
    let (passed, summary) = chaos_run(
        dir.path(),
        &state,
        "sqs",
        r#"
        [[fault]]
        at = "1s"
        kind = "sqs-duplicate"
        probability = 0.5
        duration = "3s"
        [[fault]]
        at = "2s"
        kind = "sqs-error"
        value = "ServiceUnavailable"
        actions = ["ReceiveMessage", "DeleteMessage", "DeleteMessageBatch"]
        probability = 0.3
        duration = "2s"
        [[fault]]
        at = "4s"
        kind = "clock"
        value = "45s"
        "#,
    )
    .await;
    assert_clean("sqs", &summary, 3);
    assert!(passed, "{:#?}", summary.verdicts);

    let stack = Arc::try_unwrap(stack)
        .ok()
        .map(tokio::sync::Mutex::into_inner);
    if let Some(stack) = stack {
        stack.stop().await;
    }
}
