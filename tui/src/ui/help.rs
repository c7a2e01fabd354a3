//! The keys, in the manner of k9s and htop.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Row, Table};

use super::block;

/// Every key and what it does.
pub const KEYS: [(&str, &str); 16] = [
    ("q, Ctrl-C", "quit"),
    ("?", "this help (again: back)"),
    ("Tab, 1 2 3", "Overview, Dead letters, Help"),
    ("space", "freeze / unfreeze the data"),
    ("+ / -", "refresh slower / faster (default 1 s)"),
    ("j k, ↓ ↑", "move in the dead letters"),
    ("g G", "first / last dead letter"),
    ("Enter", "open / close the message"),
    ("Esc", "close the message"),
    ("r", "redrive the selected message to the work queue"),
    ("R", "redrive all (StartMessageMoveTask), asks first"),
    ("d", "delete the selected message, asks first"),
    ("P", "purge the dead-letter queue, asks first"),
    ("y / n", "answer a question"),
    ("", ""),
    ("", "targets: flags, then env, then .devstack/state.json"),
];

pub fn draw(frame: &mut Frame, area: Rect) {
    let rows = KEYS.iter().map(|(key, what)| Row::new([*key, *what]));
    frame.render_widget(
        Table::new(rows, [Constraint::Length(12), Constraint::Min(20)])
            .header(Row::new(["key", "does"]).style(Style::new().add_modifier(Modifier::BOLD)))
            .block(block("Help")),
        area,
    );
}
