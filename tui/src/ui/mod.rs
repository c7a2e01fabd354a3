//! Drawing: a pure function of [`App`] onto a ratatui frame. A header with the views and the
//! refresh state, the view's body, a footer with the status or the keys, and a confirmation
//! on top when one is pending. Usable from 80×24 up.

mod components;
mod dead_letters;
mod help;
mod logs;
mod overview;
mod traces;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Tabs, Wrap};

use crate::app::{App, View, format_interval};

/// Draws the whole dashboard.
pub fn draw(frame: &mut Frame, app: &App) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, app, header);
    match app.view {
        View::Overview => overview::draw(frame, app, body),
        View::DeadLetters => dead_letters::draw(frame, app, body),
        View::Components => components::draw(frame, app, body),
        View::Logs => logs::draw(frame, app, body),
        View::Traces => traces::draw(frame, app, body),
        View::Help => help::draw(frame, body),
    }
    draw_footer(frame, app, footer);
    if let Some(confirm) = &app.confirm {
        draw_confirm(frame, &confirm.question);
    }
}

fn draw_header(frame: &mut Frame, app: &App, area: Rect) {
    let [tabs, state] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(20)]).areas(area);
    let selected = View::ALL.iter().position(|v| *v == app.view).unwrap_or(0);
    frame.render_widget(
        Tabs::new(View::ALL.iter().map(|v| v.title()))
            .select(selected)
            .highlight_style(Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED))
            .padding(" ", "")
            .divider("|"),
        tabs,
    );
    let up = app.targets.iter().filter(|t| t.up).count();
    let targets = if app.targets.is_empty() {
        Span::raw("")
    } else if up == app.targets.len() {
        Span::styled(
            format!("{up}/{} up ", app.targets.len()),
            Style::new().fg(Color::Green),
        )
    } else {
        Span::styled(
            format!("{up}/{} up ", app.targets.len()),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )
    };
    let live = if app.frozen {
        Span::styled(
            "FROZEN ",
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )
    } else {
        Span::raw(format!("every {} ", format_interval(app.refresh)))
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![targets, live])).right_aligned(),
        state,
    );
}

fn draw_footer(frame: &mut Frame, app: &App, area: Rect) {
    let line = match &app.status {
        Some(status) => Line::from(Span::styled(
            status.message.clone(),
            Style::new().fg(if status.ok { Color::Cyan } else { Color::Red }),
        )),
        None => Line::from(Span::styled(
            match app.view {
                View::DeadLetters => {
                    "j/k move  Enter open  r redrive  R all  d delete  P purge  t trace  q quit"
                }
                View::Components => {
                    "j/k move  r restart  x stop  s start  Enter logs  ? help  q quit"
                }
                View::Logs if app.logs.editing => "type to search  Enter keep  Esc clear",
                View::Logs => {
                    "/ search  c component  v level  j/k scroll  G follow  space freeze  Esc clear"
                }
                View::Traces if app.traces.typing.is_some() => {
                    "a trace, order or message id  Enter search  Esc cancel"
                }
                View::Traces => {
                    "j/k move  Enter open  / search  e errors  l logs  Esc back  q quit"
                }
                _ => "1-6/Tab views  e failed traces  space freeze  +/- refresh  ? help  q quit",
            },
            Style::new().fg(Color::DarkGray),
        )),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_confirm(frame: &mut Frame, question: &str) {
    let area = centered(frame.area(), 60, 5);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(question.to_owned())
            .wrap(Wrap { trim: true })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" Confirm ")
                    .border_style(Style::new().fg(Color::Yellow)),
            ),
        area,
    );
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// A titled block.
fn block(title: &str) -> Block<'_> {
    Block::default().borders(Borders::ALL).title(Span::styled(
        format!(" {title} "),
        Style::new().add_modifier(Modifier::BOLD),
    ))
}

/// Seconds in the unit that reads best: `850us`, `12.3ms`, `1.50s`, `–` for none.
fn seconds(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(s) if s < 0.001 => format!("{:.0}us", s * 1e6),
        Some(s) if s < 1.0 => format!("{:.1}ms", s * 1e3),
        Some(s) => format!("{s:.2}s"),
    }
}

/// `HH:MM:SS.mmm` in UTC of a time in ms since the epoch.
fn logs_clock(unix_ms: u64) -> String {
    logs::clock(i64::try_from(unix_ms).unwrap_or(i64::MAX))
}

/// An age: `45s`, `12m`, `3h`.
fn age(value: Option<std::time::Duration>) -> String {
    match value {
        None => "–".into(),
        Some(d) if d.as_secs() < 120 => format!("{}s", d.as_secs()),
        Some(d) if d.as_secs() < 7_200 => format!("{}m", d.as_secs() / 60),
        Some(d) => format!("{}h", d.as_secs() / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_in_a_fitting_unit() {
        assert_eq!(seconds(None), "–");
        assert_eq!(seconds(Some(0.000_85)), "850us");
        assert_eq!(seconds(Some(0.0123)), "12.3ms");
        assert_eq!(seconds(Some(1.5)), "1.50s");
        assert_eq!(age(Some(std::time::Duration::from_secs(45))), "45s");
        assert_eq!(age(Some(std::time::Duration::from_secs(600))), "10m");
        assert_eq!(age(Some(std::time::Duration::from_secs(10_800))), "3h");
    }
}
