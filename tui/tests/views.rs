//! Every view drawn with fixture data at 80×24 and 160×48 (ratatui's `TestBackend`),
//! compared with the snapshots under `tests/snapshots/` (insta). Fixtures: a dashboard
//! before any data, one whose target is down, one under load with dead letters, and a running
//! stack's components (one app stale after a failed build) and merged logs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use slipway_contracts::control::{ComponentState, ComponentStatus, LogLevel, LogLine};
use slipway_contracts::state::Backend;
use slipway_contracts::trace::{Span, SpanKind, SpanStatus, TraceSummary};
use tui::app::App;
use tui::metrics::Snapshot;
use tui::model::{
    DeadLetter, DeadLetterSource, QueueRow, StackFeed, StackReport, TargetStatus, TraceFeed, Update,
};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| tui::ui::draw(frame, app)).unwrap();
    terminal.backend().to_string()
}

fn queue(name: &str, is_dlq: bool, visible: u64, in_flight: u64) -> QueueRow {
    QueueRow {
        name: name.into(),
        is_dlq,
        visible,
        in_flight,
        delayed: 0,
        oldest_age: Some(Duration::from_secs(42)),
        faults_fired: Some(u64::from(is_dlq)),
        error: None,
    }
}

fn metrics(requests: f64, ok: f64, dead: f64, fast: f64, slow: f64) -> String {
    format!(
        "# TYPE http_requests_total counter
http_requests_total{{method=\"GET\",route=\"/v1/orders/{{id}}\",status=\"200\"}} {requests}
http_requests_total{{method=\"POST\",route=\"/v1/orders\",status=\"503\"}} 2
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{le=\"0.005\"}} {fast}
http_request_duration_seconds_bucket{{le=\"0.05\"}} {all}
http_request_duration_seconds_bucket{{le=\"+Inf\"}} {all}
http_request_duration_seconds_sum 1
http_request_duration_seconds_count {all}
# TYPE worker_queue_lag_seconds histogram
worker_queue_lag_seconds_bucket{{le=\"0.01\"}} {ok}
worker_queue_lag_seconds_bucket{{le=\"+Inf\"}} {ok}
worker_queue_lag_seconds_sum 0.1
worker_queue_lag_seconds_count {ok}
# TYPE worker_pool_size gauge
worker_pool_size 8
# TYPE worker_busy gauge
worker_busy 6
# TYPE worker_messages_in_flight gauge
worker_messages_in_flight 9
# TYPE worker_messages_total counter
worker_messages_total{{outcome=\"ok\"}} {ok}
worker_messages_total{{outcome=\"dead_letter\"}} {dead}
",
        all = fast + slow
    )
}

fn snapshot(text: &str) -> Snapshot {
    let mut snapshot = Snapshot::default();
    snapshot.add_text(text).unwrap();
    snapshot
}

fn letters() -> Vec<DeadLetter> {
    let reasons = [
        "undecodable message body: expected value at line 1 column 1",
        "unknown order 7f1d0a4e-36d8-4c52-9a4f-0a3f1b6f1c11",
        "retries exhausted",
    ];
    reasons
        .iter()
        .enumerate()
        .map(|(i, reason)| DeadLetter {
            message_id: format!("{i}a2b3c4d-0000-4000-8000-00000000000{i}"),
            body: format!("{{\"type\":\"order.created\",\"order_id\":\"{i}\"}}"),
            sent_at_ms: None,
            receive_count: i as u32 + 1,
            attributes: BTreeMap::from([
                (
                    "slipway.dead_letter.reason".to_owned(),
                    (*reason).to_owned(),
                ),
                (
                    "slipway.dead_letter.source_queue".to_owned(),
                    "orders".to_owned(),
                ),
            ]),
        })
        .collect()
}

/// Under load, three dead letters, every view's data present.
fn loaded() -> App {
    let mut app = App::new(Duration::from_secs(1));
    let targets = vec![TargetStatus {
        url: "http://127.0.0.1:8080/metrics".into(),
        up: true,
        last_error: None,
    }];
    let queues = vec![
        queue("orders", false, 120, 9),
        queue("orders-dlq", true, 3, 0),
    ];
    for (step, (requests, ok, dead)) in [
        (0.0, 0.0, 0.0),
        (500.0, 300.0, 1.0),
        (1_200.0, 700.0, 3.0),
        (2_000.0, 1_200.0, 3.0),
    ]
    .into_iter()
    .enumerate()
    {
        app.on_update(Update {
            at_secs: step as f64,
            targets: targets.clone(),
            snapshot: Some(snapshot(&metrics(
                requests,
                ok,
                dead,
                requests * 0.9,
                requests * 0.1,
            ))),
            queues: queues.clone(),
            dead_letters: letters(),
            dead_letter_source: DeadLetterSource::Peek,
            ..Update::default()
        });
    }
    app
}

fn key(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn check(name: &str, app: &App) {
    for (width, height) in SIZES {
        insta::assert_snapshot!(
            format!("{name}_{width}x{height}"),
            render(app, width, height)
        );
    }
}

#[test]
fn overview_before_any_data() {
    check("overview_empty", &App::new(Duration::from_secs(1)));
}

#[test]
fn overview_with_the_target_down() {
    let mut app = App::new(Duration::from_secs(1));
    app.on_update(Update {
        at_secs: 1.0,
        targets: vec![TargetStatus {
            url: "http://127.0.0.1:8080/metrics".into(),
            up: false,
            last_error: Some("error sending request: connection refused".into()),
        }],
        snapshot: None,
        queues: vec![QueueRow {
            error: Some("dispatch failure: io error: connection refused".into()),
            ..queue("orders", false, 0, 0)
        }],
        dead_letters: Vec::new(),
        dead_letter_source: DeadLetterSource::NotRead,
        ..Update::default()
    });
    check("overview_down", &app);
}

#[test]
fn overview_under_load_with_dead_letters() {
    check("overview_loaded", &loaded());
}

#[test]
fn dead_letters_list_detail_and_confirmation() {
    let mut app = loaded();
    key(&mut app, KeyCode::Char('2'));
    check("dead_letters_list", &app);
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    check("dead_letters_detail", &app);
    key(&mut app, KeyCode::Char('P'));
    check("dead_letters_purge_confirm", &app);
}

#[test]
fn dead_letters_when_read_by_receiving_and_when_empty() {
    let mut app = App::new(Duration::from_secs(1));
    key(&mut app, KeyCode::Char('2'));
    app.on_update(Update {
        queues: vec![
            queue("orders", false, 0, 0),
            queue("orders-dlq", true, 0, 0),
        ],
        dead_letter_source: DeadLetterSource::Receive,
        ..Update::default()
    });
    check("dead_letters_empty_receive", &app);
}

#[test]
fn help() {
    let mut app = App::new(Duration::from_secs(1));
    key(&mut app, KeyCode::Char('?'));
    check("help", &app);
}

fn component(name: &str, backend: Backend, state: ComponentState) -> ComponentStatus {
    ComponentStatus {
        name: name.into(),
        backend,
        url: match name {
            "postgres" => "postgres://postgres:s3cret@127.0.0.1:5433/slipway".into(),
            "redis" => "redis://:s3cret@127.0.0.1:6380".into(),
            _ => "http://127.0.0.1:9324".into(),
        },
        pid: (backend == Backend::Native && state != ComponentState::Stopped).then_some(4242),
        state,
        uptime_ms: 754_000,
        restarts: u32::from(name == "redis"),
        error: None,
    }
}

/// A running stack: Redis stopped, the service stale after a broken save.
fn stack() -> App {
    let mut app = App::new(Duration::from_secs(1));
    let service = ComponentStatus {
        url: "http://127.0.0.1:8080".into(),
        error: Some(
            "error[E0308]: mismatched types\n  --> service/src/domain/order.rs:42:16\n   |\n42 |         Ok(total)\n   |            ^^^^^ expected `u64`, found `i64`".into(),
        ),
        ..component("service", Backend::Native, ComponentState::Stale)
    };
    app.on_update(Update {
        stack: StackFeed::Components(StackReport {
            components: vec![
                component("postgres", Backend::Native, ComponentState::Ready),
                component("redis", Backend::Native, ComponentState::Stopped),
                component("sqs", Backend::Embedded, ComponentState::Ready),
                service,
            ],
            chaos: vec!["postgres latency 200ms ±50ms".into()],
        }),
        logs: log_lines(),
        ..Update::default()
    });
    app
}

/// The components `stack()` reports, as a later refresh reports them again.
fn same_stack(app: &App) -> StackFeed {
    StackFeed::Components(StackReport {
        components: app.components.rows.clone(),
        chaos: app.components.chaos.clone(),
    })
}

fn log_lines() -> Vec<LogLine> {
    let lines = [
        (
            "postgres",
            LogLevel::Info,
            "[18565] LOG:  database system is ready to accept connections",
        ),
        ("redis", LogLevel::Info, "* Ready to accept connections tcp"),
        (
            "service",
            LogLevel::Info,
            "INFO  listening addr=127.0.0.1:8080",
        ),
        (
            "service",
            LogLevel::Info,
            "INFO  request method=POST route=/v1/orders status=201 request_id=r-1",
        ),
        (
            "redis",
            LogLevel::Warn,
            "# WARNING Memory overcommit must be enabled!",
        ),
        (
            "service",
            LogLevel::Error,
            "ERROR worker failed error=redis: Connection refused (os error 111)",
        ),
        (
            "service-build",
            LogLevel::Error,
            "error[E0308]: mismatched types",
        ),
        (
            "postgres",
            LogLevel::Error,
            "[18601] ERROR:  duplicate key value violates unique constraint",
        ),
    ];
    lines
        .iter()
        .enumerate()
        .map(|(i, (component, level, text))| LogLine {
            seq: i as u64 + 1,
            at_unix_ms: 1_796_181_704_000 + 1_100 * i as i64,
            component: (*component).into(),
            level: *level,
            text: (*text).into(),
        })
        .collect()
}

#[test]
fn components_without_a_stack() {
    let mut app = App::new(Duration::from_secs(1));
    key(&mut app, KeyCode::Char('3'));
    check("components_no_stack", &app);
}

#[test]
fn components_of_a_running_stack_with_a_stale_app() {
    let mut app = stack();
    key(&mut app, KeyCode::Char('3'));
    check("components_first", &app);
    for _ in 0..3 {
        key(&mut app, KeyCode::Char('j'));
    }
    check("components_stale", &app);
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Char('x'));
    check("components_stop_confirm", &app);
}

#[test]
fn logs_following_filtered_and_frozen() {
    let mut app = stack();
    key(&mut app, KeyCode::Char('4'));
    check("logs_following", &app);
    key(&mut app, KeyCode::Char('v'));
    key(&mut app, KeyCode::Char('/'));
    for c in "refused".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    check("logs_searching", &app);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char(' '));
    app.on_update(Update {
        logs: vec![LogLine {
            seq: 9,
            at_unix_ms: 1_796_181_705_000,
            component: "service".into(),
            level: LogLevel::Error,
            text: "ERROR worker failed error=redis: Connection refused".into(),
        }],
        ..Update::default()
    });
    check("logs_frozen", &app);
}

#[test]
fn opening_a_components_logs_filters_the_stream() {
    let mut app = stack();
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    check("logs_of_redis", &app);
}

fn span(id: &str, parent: Option<&str>, name: &str, kind: SpanKind, at_ms: (u64, u64)) -> Span {
    let base = 1_796_181_704_000_000_000u64;
    Span {
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        span_id: id.into(),
        parent_span_id: parent.map(String::from),
        name: name.into(),
        service: "service".into(),
        kind,
        start_unix_nano: base + at_ms.0 * 1_000_000,
        end_unix_nano: base + at_ms.1 * 1_000_000,
        status: if name == "process orders" && id == "p1" {
            SpanStatus::Error
        } else {
            SpanStatus::Unset
        },
        status_message: None,
        links: Vec::new(),
        attributes: serde_json::Map::new(),
    }
}

/// A span of the emulator: the queue's part of the journey, in phase `phase`.
fn queue_span(id: &str, name: &str, phase: &str, receive: u64, at_ms: (u64, u64)) -> Span {
    let mut span = span(id, Some("d"), name, SpanKind::Internal, at_ms);
    span.service = "sqs".into();
    span.attributes
        .insert("slipway.sqs.phase".into(), phase.into());
    span.attributes
        .insert("slipway.sqs.receive_count".into(), receive.into());
    span
}

fn journey() -> Vec<Span> {
    vec![
        queue_span("q1", "orders wait", "waiting", 0, (8, 10)),
        queue_span("q2", "orders in flight", "in_flight", 1, (10, 22)),
        queue_span("q3", "orders wait", "waiting", 1, (22, 30)),
        queue_span("q4", "orders in flight", "in_flight", 2, (30, 38)),
        queue_span("q5", "orders delete", "deleted", 2, (38, 38)),
        span("a", None, "POST /v1/orders", SpanKind::Server, (0, 12)),
        span("b", Some("a"), "EVALSHA", SpanKind::Client, (1, 2)),
        span("c", Some("a"), "INSERT orders", SpanKind::Client, (2, 4)),
        span("d", Some("a"), "send orders", SpanKind::Producer, (5, 8)),
        span(
            "p1",
            Some("d"),
            "process orders",
            SpanKind::Consumer,
            (10, 20),
        ),
        span(
            "p2",
            Some("d"),
            "process orders",
            SpanKind::Consumer,
            (30, 38),
        ),
        span("e", Some("p2"), "UPDATE orders", SpanKind::Client, (31, 33)),
    ]
}

#[test]
fn traces_listed_and_one_opened_as_a_waterfall() {
    let mut app = stack();
    key(&mut app, KeyCode::Char('5'));
    let spans = journey();
    let refs: Vec<&Span> = spans.iter().collect();
    let mut other = TraceSummary::of(&refs).unwrap();
    other.trace_id = "0af7651916cd43dd8448eb211c80319c".into();
    other.root = "GET /v1/orders/{id}".into();
    other.errors = 0;
    other.spans = 2;
    other.order_id = Some("7f1d0a4e-36d8-4c52-9a4f-0a3f1b6f1c11".into());
    app.on_update(Update {
        stack: same_stack(&app),
        traces: Some(TraceFeed::List(vec![
            TraceSummary::of(&refs).unwrap(),
            other,
        ])),
        ..Update::default()
    });
    check("traces_list", &app);
    key(&mut app, KeyCode::Enter);
    app.on_update(Update {
        stack: same_stack(&app),
        traces: Some(TraceFeed::Spans(spans[0].trace_id.clone(), spans)),
        ..Update::default()
    });
    check("traces_waterfall", &app);
}
