//! The Components view: the running stack's components as its control socket reports them
//! (state, backend, address, pid, uptime, restarts), the selected one's last error below —
//! a failed build's first error for a stale app, in full.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};
use slipway_contracts::control::{ComponentState, ComponentStatus};

use super::block;
use crate::app::App;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let components = &app.components;
    if !components.has_stack {
        frame.render_widget(
            Paragraph::new(
                "No devstack is running here. Start one with `cargo run -p devstack`: this view \
                 and Logs talk to its control socket (.devstack/control.sock).",
            )
            .wrap(Wrap { trim: true })
            .block(block("Components")),
            area,
        );
        return;
    }
    let rows = u16::try_from(components.rows.len()).unwrap_or(u16::MAX);
    let [note, table, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(rows.saturating_add(3)),
        Constraint::Min(4),
    ])
    .areas(area);
    let note_line = match &components.unreachable {
        Some(why) => Line::from(Span::styled(
            format!("the stack does not answer: {why}"),
            Style::new().fg(Color::Red),
        )),
        None if components.chaos.is_empty() => Line::from(Span::styled(
            format!("{} components", components.rows.len()),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        None => Line::from(vec![
            Span::styled(
                format!("{} components", components.rows.len()),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!("  chaos: {}", components.chaos.join(", ")),
                Style::new().fg(Color::Magenta),
            ),
        ]),
    };
    frame.render_widget(Paragraph::new(note_line), note);
    draw_table(frame, app, table);
    draw_detail(frame, components.selected_row(), detail);
}

fn draw_table(frame: &mut Frame, app: &App, area: Rect) {
    let rows = app.components.rows.iter().map(|c| {
        Row::new(vec![
            Span::raw(c.name.clone()),
            Span::styled(state_word(c.state), state_style(c.state)),
            Span::raw(format!("{:?}", c.backend).to_lowercase()),
            Span::raw(address(&c.url).to_owned()),
            Span::raw(c.pid.map_or_else(|| "–".to_owned(), |p| p.to_string())),
            Span::raw(uptime(c)),
            Span::raw(c.restarts.to_string()),
        ])
    });
    let widths = [
        Constraint::Length(12),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Min(15),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(8),
    ];
    let header = [
        "component",
        "state",
        "backend",
        "address",
        "pid",
        "uptime",
        "restarts",
    ];
    let mut state = TableState::default()
        .with_selected((!app.components.rows.is_empty()).then_some(app.components.selected));
    frame.render_stateful_widget(
        Table::new(rows, widths)
            .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .block(block("Components")),
        area,
        &mut state,
    );
}

fn draw_detail(frame: &mut Frame, selected: Option<&ComponentStatus>, area: Rect) {
    let Some(component) = selected else {
        frame.render_widget(Paragraph::new("").block(block("Detail")), area);
        return;
    };
    let (title, colour) = match (&component.error, component.state) {
        (Some(_), ComponentState::Stale) => (
            format!("{}: stale, the old build still serves", component.name),
            Color::Yellow,
        ),
        (Some(_), _) => (format!("{}: last error", component.name), Color::Red),
        (None, _) => (component.name.clone(), Color::Reset),
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("url ", Style::new().fg(Color::DarkGray)),
        Span::raw(slipway_contracts::redact::url(&component.url)),
    ])];
    match &component.error {
        Some(error) => lines.extend(
            error
                .lines()
                .map(|l| Line::styled(l.to_owned(), Style::new().fg(colour))),
        ),
        None => lines.push(Line::styled(
            "no error. r restart  x stop  s start  Enter logs",
            Style::new().fg(Color::DarkGray),
        )),
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(&title)),
        area,
    );
}

/// `host:port` of a URL (no scheme, no password, no path): the detail shows the whole URL.
fn address(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

fn state_word(state: ComponentState) -> &'static str {
    match state {
        ComponentState::Starting => "starting",
        ComponentState::Ready => "ready",
        ComponentState::Stale => "stale",
        ComponentState::Stopped => "stopped",
        ComponentState::Paused => "PAUSED",
        ComponentState::Failed => "failed",
    }
}

fn state_style(state: ComponentState) -> Style {
    match state {
        ComponentState::Starting => Style::new().fg(Color::Cyan),
        ComponentState::Ready => Style::new().fg(Color::Green),
        ComponentState::Stale => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ComponentState::Stopped => Style::new().fg(Color::DarkGray),
        ComponentState::Paused => Style::new()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
        ComponentState::Failed => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    }
}

/// `45s`, `12m03s`, `3h04m`, `–` when not running.
fn uptime(component: &ComponentStatus) -> String {
    let secs = component.uptime_ms / 1_000;
    match component.state {
        ComponentState::Stopped => "–".to_owned(),
        _ if secs < 60 => format!("{secs}s"),
        _ if secs < 3_600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3_600, (secs % 3_600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_host_and_port() {
        assert_eq!(
            address("postgres://u:p@127.0.0.1:5433/db?x=1"),
            "127.0.0.1:5433"
        );
        assert_eq!(address("redis://:p@127.0.0.1:6380"), "127.0.0.1:6380");
        assert_eq!(address("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(address("weird"), "weird");
    }

    #[test]
    fn uptime_reads_in_a_fitting_unit() {
        let at = |ms, state| {
            uptime(&ComponentStatus {
                name: "x".into(),
                backend: slipway_contracts::state::Backend::Native,
                url: String::new(),
                pid: None,
                state,
                uptime_ms: ms,
                restarts: 0,
                error: None,
            })
        };
        assert_eq!(at(45_000, ComponentState::Ready), "45s");
        assert_eq!(at(723_000, ComponentState::Ready), "12m03s");
        assert_eq!(at(11_040_000, ComponentState::Stale), "3h04m");
        assert_eq!(at(0, ComponentState::Stopped), "–");
    }
}
