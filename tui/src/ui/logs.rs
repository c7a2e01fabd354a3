//! The Logs view: the running stack's merged log stream, one line each (the time in UTC, the
//! component, then the line as devstack rendered it), coloured by component and level, the
//! search text
//! highlighted; above it the filters, and whether the view follows, is scrolled back or is
//! frozen (with the count of lines that arrived since).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use slipway_contracts::control::{LogLevel, LogLine};

use super::block;
use crate::app::App;
use crate::app::logs::Logs;

/// Colours given to components, in order of their names.
const COMPONENT_COLOURS: [Color; 6] = [
    Color::Cyan,
    Color::Magenta,
    Color::Blue,
    Color::Green,
    Color::LightYellow,
    Color::LightMagenta,
];
/// Widest component column.
const COMPONENT_WIDTH: usize = 14;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let [filters, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let logs = &app.logs;
    frame.render_widget(Paragraph::new(filter_line(logs)), filters);
    if !app.components.has_stack && logs.shown().next().is_none() {
        frame.render_widget(
            Paragraph::new("No devstack is running here: start one with `cargo run -p devstack`.")
                .block(block("Logs")),
            body,
        );
        return;
    }
    let height = usize::from(body.height.saturating_sub(2));
    let shown: Vec<&LogLine> = logs.shown().collect();
    let end = shown.len().saturating_sub(logs.scroll);
    let start = end.saturating_sub(height);
    let mut names = logs.components();
    names.extend(app.components.names());
    names.sort();
    names.dedup();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .min(COMPONENT_WIDTH);
    let lines: Vec<Line> = shown[start..end]
        .iter()
        .map(|line| draw_line(line, (&names, width), &logs.search))
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block("Logs")), body);
}

fn filter_line(logs: &Logs) -> Line<'static> {
    let dim = Style::new().fg(Color::DarkGray);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut spans = vec![
        Span::styled("component ", dim),
        Span::styled(logs.component.clone().unwrap_or_else(|| "all".into()), bold),
        Span::styled("  level ", dim),
        Span::styled(
            match logs.min_level {
                LogLevel::Trace => "all".to_owned(),
                level => format!("{}+", level.as_str()),
            },
            bold,
        ),
        Span::styled("  search ", dim),
    ];
    if logs.editing {
        spans.push(Span::styled(
            format!("/{}▏", logs.search),
            Style::new().fg(Color::Yellow),
        ));
    } else if logs.search.is_empty() {
        spans.push(Span::styled("–", bold));
    } else {
        spans.push(Span::styled(format!("\"{}\"", logs.search), bold));
    }
    spans.push(Span::raw("  "));
    spans.push(if logs.frozen_at.is_some() {
        Span::styled(
            match logs.new_while_frozen() {
                1 => "FROZEN, 1 new line".to_owned(),
                n => format!("FROZEN, {n} new lines"),
            },
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )
    } else if logs.scroll > 0 {
        Span::styled(format!("{} lines below", logs.scroll), dim)
    } else {
        Span::styled("following", Style::new().fg(Color::Green))
    });
    Line::from(spans)
}

/// One line: `(names, width)` are every component (for its colour) and the column's width.
fn draw_line<'a>(line: &'a LogLine, column: (&[String], usize), search: &str) -> Line<'a> {
    let (names, width) = column;
    let at = names.iter().position(|n| *n == line.component).unwrap_or(0);
    let time = Span::styled(
        format!("{} ", clock(line.at_unix_ms)),
        Style::new().fg(Color::DarkGray),
    );
    let name: String = line.component.chars().take(width).collect();
    let component = Span::styled(
        format!("{name:<width$} "),
        Style::new().fg(COMPONENT_COLOURS[at % COMPONENT_COLOURS.len()]),
    );
    let style = match line.level {
        LogLevel::Error => Style::new().fg(Color::Red),
        LogLevel::Warn => Style::new().fg(Color::Yellow),
        LogLevel::Trace | LogLevel::Debug => Style::new().fg(Color::DarkGray),
        LogLevel::Info => Style::new(),
    };
    let mut spans = vec![time, component];
    spans.extend(highlighted(&line.text, search, style));
    Line::from(spans)
}

/// `HH:MM:SS.mmm` in UTC, as Postgres and the service write it.
pub(super) fn clock(unix_ms: i64) -> String {
    let ms = unix_ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000
    )
}

/// `text` in `style`, with every match of `search` (any case) reversed.
fn highlighted<'a>(text: &'a str, search: &str, style: Style) -> Vec<Span<'a>> {
    let lower = text.to_lowercase();
    let needle = search.to_lowercase();
    // Lowercasing can change lengths outside ASCII: highlight only where offsets agree.
    if needle.is_empty() || lower.len() != text.len() {
        return vec![Span::styled(text, style)];
    }
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find(&needle) {
        let start = from + found;
        let end = start + needle.len();
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            break;
        }
        spans.push(Span::styled(&text[from..start], style));
        spans.push(Span::styled(
            &text[start..end],
            style.add_modifier(Modifier::REVERSED),
        ));
        from = end;
    }
    spans.push(Span::styled(&text[from..], style));
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_match_is_highlighted_in_any_case() {
        let spans = highlighted("Refused, then refused", "REFUSED", Style::new());
        let reversed: Vec<&str> = spans
            .iter()
            .filter(|s| s.style.add_modifier.contains(Modifier::REVERSED))
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(reversed, ["Refused", "refused"]);
        assert_eq!(highlighted("x", "", Style::new()).len(), 1);
        assert_eq!(clock(1_796_181_704_495), "03:21:44.495");
    }
}
