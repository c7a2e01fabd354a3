//! Every view drawn with fixture data at 80×24 and 160×48 (ratatui's `TestBackend`),
//! compared with the snapshots under `tests/snapshots/` (insta). Fixtures: a dashboard
//! before any data, one whose target is down, and one under load with dead letters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui::app::App;
use tui::metrics::Snapshot;
use tui::model::{DeadLetter, DeadLetterSource, QueueRow, TargetStatus, Update};

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
