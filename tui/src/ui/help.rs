//! The keys, in the manner of k9s and htop.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Row, Table};

use super::block;

/// Every key and what it does.
pub const KEYS: [(&str, &str); 19] = [
    ("q, Ctrl-C", "quit"),
    ("?", "this help (again: back)"),
    ("Tab, 1-6", "Overview, DLQ, Components, Logs, Traces, Help"),
    ("space", "freeze / unfreeze (Logs counts what arrives)"),
    ("+ / -", "refresh slower / faster (default 1 s)"),
    ("j k ↓ ↑, g G", "move in a list or the logs; first / last"),
    (
        "Enter, l",
        "open a dead letter, a trace; logs of a component, a trace",
    ),
    ("Esc", "close the message; clear the log filters"),
    ("r", "redrive the dead letter; restart the component"),
    ("R", "redrive every dead letter, asks first"),
    (
        "d / P",
        "delete the dead letter / purge the DLQ, asks first",
    ),
    ("x / s", "stop (asks first) / start the component"),
    ("y / n", "answer a question"),
    ("/", "search logs; traces by trace, order or message id"),
    ("c / v", "logs of one component / minimum level"),
    (
        "e / t",
        "failed traces (Overview, Traces) / a dead letter's trace",
    ),
    ("PgUp PgDn", "scroll the logs a page; G follows the end"),
    ("", "targets: flags, then env, then .devstack/state.json"),
    ("", "Components and Logs: a running `devstack up`"),
];

pub fn draw(frame: &mut Frame, area: Rect) {
    let rows = KEYS.iter().map(|(key, what)| Row::new([*key, *what]));
    frame.render_widget(
        Table::new(rows, [Constraint::Length(15), Constraint::Min(20)])
            .header(Row::new(["key", "does"]).style(Style::new().add_modifier(Modifier::BOLD)))
            .block(block("Help")),
        area,
    );
}
