//! The shared keys of the dashboard: views, freezing, refresh, quitting, searching, opening
//! a component's logs, and rates between snapshots.

use super::*;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut app = App::new(Duration::from_secs(1));
    app.on_key(key(KeyCode::Char('q')));
    assert!(app.quit);
    let mut app = App::new(Duration::from_secs(1));
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
}

#[test]
fn views_switch_by_number_tab_and_question_mark() {
    let mut app = App::new(Duration::from_secs(1));
    assert_eq!(app.on_key(key(KeyCode::Char('2'))), [Effect::Control]);
    assert_eq!(app.view, View::DeadLetters);
    assert!(app.wants_dead_letters());
    assert_eq!(app.on_key(key(KeyCode::Tab)), [Effect::Control]);
    assert_eq!(app.view, View::Components);
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.view, View::Logs);
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.view, View::Traces);
    assert_eq!(app.control().traces, crate::model::TraceRead::Recent);
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.view, View::Help);
    assert_eq!(app.control().traces, crate::model::TraceRead::Nothing);
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.view, View::Overview);
    app.on_key(key(KeyCode::Char('?')));
    assert_eq!(app.view, View::Help);
    app.on_key(key(KeyCode::Char('?')));
    assert_eq!(app.view, View::Overview);
    assert!(app.on_key(key(KeyCode::Char('6'))).is_empty());
    assert_eq!(app.view, View::Help);
    app.on_key(key(KeyCode::Char('4')));
    assert_eq!(app.view, View::Logs);
}

#[test]
fn typing_a_search_takes_every_key_and_a_component_opens_its_logs() {
    let mut app = App::new(Duration::from_secs(1));
    app.on_update(Update {
        stack: crate::model::StackFeed::Components(crate::model::StackReport::of(vec![
            slipway_contracts::control::ComponentStatus {
                name: "redis".into(),
                backend: slipway_contracts::state::Backend::Native,
                url: "redis://127.0.0.1:1".into(),
                pid: Some(1),
                state: slipway_contracts::control::ComponentState::Ready,
                uptime_ms: 0,
                restarts: 0,
                error: None,
            },
        ])),
        ..Update::default()
    });
    app.on_key(key(KeyCode::Char('3')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('r'))),
        [Effect::Act(Action::Component {
            verb: crate::model::Verb::Restart,
            name: "redis".into()
        })]
    );
    assert_eq!(app.status.as_ref().unwrap().message, "restarting redis…");
    app.on_key(key(KeyCode::Char('x')));
    assert!(app.confirm.is_some(), "stopping asks first");
    app.on_key(key(KeyCode::Char('n')));
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.view, View::Logs);
    assert_eq!(app.logs.component.as_deref(), Some("redis"));
    app.on_key(key(KeyCode::Char('/')));
    for c in "q1?".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    assert!(!app.quit && app.view == View::Logs, "keys go to the search");
    assert_eq!(app.logs.search, "q1?");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('q')));
    assert!(app.quit);
}

#[test]
fn space_freezes_and_plus_minus_step_the_refresh() {
    let mut app = App::new(Duration::from_secs(1));
    app.on_key(key(KeyCode::Char(' ')));
    assert!(app.frozen);
    app.on_update(Update {
        queues: vec![QueueRow {
            name: "orders".into(),
            is_dlq: false,
            visible: 5,
            in_flight: 0,
            delayed: 0,
            oldest_age: None,
            faults_fired: None,
            error: None,
        }],
        ..Update::default()
    });
    assert!(app.queues.is_empty(), "a frozen dashboard keeps its data");
    app.on_key(key(KeyCode::Char(' ')));
    assert!(!app.frozen);
    assert_eq!(app.on_key(key(KeyCode::Char('+'))), [Effect::Control]);
    assert_eq!(app.refresh, Duration::from_secs(2));
    app.on_key(key(KeyCode::Char('-')));
    app.on_key(key(KeyCode::Char('-')));
    app.on_key(key(KeyCode::Char('-')));
    assert_eq!(app.refresh, Duration::from_millis(250));
    assert!(
        app.on_key(key(KeyCode::Char('-'))).is_empty(),
        "250 ms is the floor"
    );
    assert_eq!(format_interval(Duration::from_millis(500)), "500ms");
}

#[test]
fn rates_come_from_consecutive_snapshots() {
    let mut app = App::new(Duration::from_secs(1));
    let first = Snapshot {
        http_requests: 100.0,
        ..Snapshot::default()
    };
    app.on_update(Update {
        at_secs: 1.0,
        snapshot: Some(first),
        ..Update::default()
    });
    assert!(app.rates.is_none());
    let second = Snapshot {
        http_requests: 300.0,
        ..Snapshot::default()
    };
    app.on_update(Update {
        at_secs: 3.0,
        snapshot: Some(second),
        ..Update::default()
    });
    assert_eq!(app.rates.unwrap().requests_per_sec, 100.0);
    assert_eq!(app.history.len(), 1);
}
