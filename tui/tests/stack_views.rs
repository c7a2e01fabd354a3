//! The real `tui` binary in a real terminal (tmux) against a real running stack: Postgres,
//! Redis and the emulator started by devstack's library with the same control socket and log
//! stream `devstack up` serves. The Components view must list them live; `r` must restart
//! Redis (a new start counted), `x` then `y` stop it and `s` start it; Enter must open Redis's
//! logs with both of its starts; `/` must search; a frozen view must count the lines that
//! arrive while Postgres restarts; the Traces view must list the collector's traces, find one
//! by order id and open its waterfall; `q` must quit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use devstack::logs::hub::{self, LogHub};
use devstack::otlp::store::{Bounds, SpanStore};
use devstack::stack::{Silent, Stack, StackOptions};
use slipway_contracts::control::Request;
use slipway_contracts::trace::{Span, SpanKind, SpanStatus};
use tokio::sync::Mutex;

use common::Tmux;

/// A two-span trace about order `o-77`, as the service would send it.
fn journey() -> Vec<Span> {
    let span = |id: &str, parent: Option<&str>, name: &str, kind: SpanKind| Span {
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        span_id: id.into(),
        parent_span_id: parent.map(String::from),
        name: name.into(),
        service: "service".into(),
        kind,
        start_unix_nano: 1_000_000,
        end_unix_nano: 9_000_000,
        status: SpanStatus::Unset,
        status_message: None,
        links: Vec::new(),
        attributes: serde_json::Map::from_iter([("order.id".to_string(), "o-77".into())]),
    };
    vec![
        span("a1", None, "POST /v1/orders", SpanKind::Server),
        span("b2", Some("a1"), "send orders", SpanKind::Producer),
    ]
}

/// The row of `component` in the Components table.
fn row<'a>(screen: &'a str, component: &str) -> &'a str {
    screen
        .lines()
        .find(|l| {
            l.trim_start_matches('│')
                .starts_with(&format!("{component} "))
        })
        .unwrap_or_default()
}

/// The number in "FROZEN, N new line(s)".
fn frozen_count(screen: &str) -> Option<u32> {
    let at = screen.find("FROZEN, ")? + "FROZEN, ".len();
    screen[at..].split_whitespace().next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_and_logs_of_a_running_stack() {
    if !Tmux::available() {
        devstack::testing::missing_tool("tmux is not installed (apt-get install tmux)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let logs_dir = dir.path().join("logs");
    let logs = LogHub::new(hub::CAPACITY);
    let following = tokio::spawn(hub::follow(
        logs.clone(),
        logs_dir.clone(),
        Duration::from_millis(100),
    ));
    let mut options = StackOptions::ephemeral_on_free_ports();
    options.log_dir = Some(logs_dir);
    let stack = Stack::start(&options, &Silent).await.unwrap();
    stack.state().write(&dir.path().join("state.json")).unwrap();
    let stack = Arc::new(Mutex::new(stack));
    let socket = dir.path().join("control.sock");
    let traces = Arc::new(SpanStore::new(Bounds::default()));
    traces.insert(journey());
    let served = devstack::control::server::Served {
        stack: stack.clone(),
        logs,
        traces: Some(traces),
        on_change: Box::new(|_: &Stack| {}),
    };
    let control = devstack::control::server::bind(&socket, served).unwrap();

    let tmux = Tmux::start(&[
        env!("CARGO_BIN_EXE_tui").to_owned(),
        "--state-file".into(),
        dir.path().join("state.json").display().to_string(),
        "--refresh-ms".into(),
        "250".into(),
    ]);
    tokio::task::block_in_place(|| {
        tmux.keys("3");
        tmux.wait_for("three ready components", |s| {
            ["postgres", "redis", "sqs"]
                .iter()
                .all(|c| row(s, c).contains(" ready "))
        });
        tmux.keys("j");
        tmux.keys("r");
        let screen = tmux.wait_for("Redis restarted", |s| {
            s.contains("restarted redis") && row(s, "redis").contains(" ready ")
        });
        let redis = row(&screen, "redis")
            .trim_end_matches(['│', ' '])
            .to_owned();
        assert!(
            redis.ends_with(" 1"),
            "one restart counted: {redis}\n{screen}"
        );

        tmux.keys("x");
        tmux.wait_for("the question", |s| s.contains("Stop redis?"));
        tmux.keys("y");
        tmux.wait_for("Redis stopped", |s| row(s, "redis").contains(" stopped "));
        tmux.keys("s");
        tmux.wait_for("Redis started", |s| {
            s.contains("started redis") && row(s, "redis").contains(" ready ")
        });

        tmux.keys("Enter");
        let screen = tmux.wait_for("Redis's logs, every start", |s| {
            s.contains("component redis") && s.matches("Ready to accept connections").count() >= 3
        });
        assert!(
            !screen.contains(" postgres "),
            "only Redis's lines:\n{screen}"
        );

        tmux.keys("Escape");
        tmux.keys("/");
        tmux.keys("system is ready");
        tmux.keys("Enter");
        tmux.wait_for("the search", |s| {
            s.contains("search \"system is ready\"") && s.contains("database system is ready")
        });
        tmux.keys("Space");
        tmux.wait_for("a frozen view", |s| frozen_count(s) == Some(0));
    });

    // Postgres restarts while the view is frozen: its new lines are counted, not shown.
    let restarted = slipway_contracts::client::request(
        &socket,
        &Request::Restart {
            component: "postgres".into(),
        },
    )
    .await
    .unwrap();
    assert!(restarted.ok, "{restarted:?}");
    tokio::task::block_in_place(|| {
        let screen = tmux.wait_for("new lines counted", |s| {
            frozen_count(s).is_some_and(|n| n >= 1)
        });
        assert_eq!(
            screen.matches("database system is ready").count(),
            1,
            "the frozen view holds still:\n{screen}"
        );
        tmux.keys("Space");
        tmux.wait_for("the new lines", |s| {
            s.contains("following") && s.matches("database system is ready").count() >= 2
        });

        tmux.keys("5");
        tmux.wait_for("the recent traces", |s| {
            s.contains("POST /v1/orders") && s.contains("o-77")
        });
        tmux.keys("/");
        tmux.keys("o-77");
        tmux.keys("Enter");
        tmux.wait_for("the search", |s| s.contains("traces holding \"o-77\""));
        tmux.keys("Enter");
        tmux.wait_for("the waterfall", |s| {
            s.contains("Trace 4bf92f3577b34da6a3ce929d0e0e4736") && s.contains("→ send orders")
        });
        tmux.keys("q");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while tmux.running() {
            assert!(std::time::Instant::now() < deadline, "q did not quit");
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    control.abort();
    following.abort();
    stack.lock().await.stop_all().await;
}
