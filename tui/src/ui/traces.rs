//! The Traces view: the running stack's recent traces (root, services, duration, spans,
//! errors, order), or those a search found; Enter opens the selected one as a waterfall — each
//! span under its parent, with its service, duration and a bar on the trace's time line,
//! consumer and producer spans marked, failures in red. The emulator's spans (the queue's
//! part, told by their `slipway.sqs.phase`) are drawn as what they are: waiting `░`, delayed
//! `·`, in flight `▓` (a redelivery says so), a dead letter `✖` in red, a delete `✓`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span as Text};
use ratatui::widgets::{Paragraph, Row, Table, TableState};
use slipway_contracts::trace::{Span, SpanKind, SpanStatus, waterfall};

use super::{block, seconds};
use crate::app::App;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let [note, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(note_line(app)), note);
    if !app.components.has_stack {
        frame.render_widget(
            Paragraph::new("No devstack is running here: start one with `cargo run -p devstack`.")
                .block(block("Traces")),
            body,
        );
        return;
    }
    match &app.traces.open {
        Some((id, spans)) => draw_waterfall(frame, id, spans, body),
        None => draw_list(frame, app, body),
    }
}

fn note_line(app: &App) -> Line<'static> {
    let traces = &app.traces;
    let dim = Style::new().fg(Color::DarkGray);
    let mut spans = vec![];
    if let Some(text) = &traces.typing {
        spans.push(Text::styled(
            format!("search (trace, order or message id): /{text}▏"),
            Style::new().fg(Color::Yellow),
        ));
    } else if let Some(text) = &traces.search {
        spans.push(Text::styled(format!("traces holding \"{text}\""), dim));
    } else {
        spans.push(Text::styled("recent traces, newest first", dim));
    }
    if traces.errors_only {
        spans.push(Text::styled(
            "  only those with errors (e: all)",
            Style::new().fg(Color::Red),
        ));
    }
    if let Some(why) = &traces.unavailable {
        spans.push(Text::styled(
            format!("  {why}"),
            Style::new().fg(Color::Red),
        ));
    }
    Line::from(spans)
}

fn draw_list(frame: &mut Frame, app: &App, area: Rect) {
    let shown = app.traces.shown();
    let rows = shown.iter().map(|t| {
        let errors = if t.errors > 0 {
            Text::styled(t.errors.to_string(), Style::new().fg(Color::Red))
        } else {
            Text::raw("0")
        };
        Row::new(vec![
            Text::raw(super::logs_clock(t.start_unix_nano / 1_000_000)),
            Text::raw(t.root.clone()),
            Text::raw(t.services.join(", ")),
            Text::raw(seconds(Some(t.duration_nanos as f64 / 1e9))),
            Text::raw(t.spans.to_string()),
            errors,
            Text::raw(t.order_id.clone().unwrap_or_default()),
        ])
    });
    let widths = [
        Constraint::Length(12),
        Constraint::Min(16),
        Constraint::Length(14),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(36),
    ];
    let header = [
        "started", "root", "services", "took", "spans", "errors", "order",
    ];
    let mut state =
        TableState::default().with_selected((!shown.is_empty()).then_some(app.traces.selected));
    frame.render_stateful_widget(
        Table::new(rows, widths)
            .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .block(block("Traces")),
        area,
        &mut state,
    );
}

fn draw_waterfall(frame: &mut Frame, id: &str, spans: &[Span], area: Rect) {
    let inner_width = usize::from(area.width.saturating_sub(2));
    let bar_width = (inner_width / 3).max(10);
    let label_width = inner_width.saturating_sub(bar_width + 20);
    let lines: Vec<Line> = waterfall(spans)
        .into_iter()
        .map(|row| {
            let span = &spans[row.index];
            let marker = match span.kind {
                SpanKind::Producer => "→ ",
                SpanKind::Consumer => "⇢ ",
                _ => "",
            };
            let (glyph, colour, note) = bar_style(span);
            let label: String = format!("{}{marker}{}{note}", "  ".repeat(row.depth), span.name)
                .chars()
                .take(label_width)
                .collect();
            let from = ((row.offset * bar_width as f64) as usize).min(bar_width - 1);
            let width = ((row.width * bar_width as f64) as usize).clamp(1, bar_width - from);
            Line::from(vec![
                Text::raw(format!("{label:<label_width$} ")),
                Text::styled(
                    format!("{:<10.10}", span.service),
                    Style::new().fg(Color::DarkGray),
                ),
                Text::raw(format!(
                    "{:>8} ",
                    seconds(Some(span.duration_nanos() as f64 / 1e9))
                )),
                Text::raw(" ".repeat(from)),
                Text::styled(glyph.repeat(width), Style::new().fg(colour)),
            ])
        })
        .collect();
    let title = format!(
        "Trace {id}  (Enter/Esc back, l its logs; queue: ░ waiting ▓ in flight ✖ dead letter)"
    );
    frame.render_widget(Paragraph::new(lines).block(block(&title)), area);
}

/// The bar's glyph and colour, and a note after the name: by the queue phase for the
/// emulator's spans, by kind and status for the rest.
fn bar_style(span: &Span) -> (&'static str, Color, String) {
    let glyph = span.bar_glyph();
    let note = span
        .redelivery()
        .map(|n| format!(" (redelivery, receive {n})"))
        .unwrap_or_default();
    let colour = match (glyph, span.status, span.kind) {
        ("░", ..) => Color::Yellow,
        ("·", ..) => Color::Blue,
        ("▓" | "↺", ..) => Color::Magenta,
        ("✓", ..) => Color::Green,
        ("✖", ..) | (_, SpanStatus::Error, _) => Color::Red,
        (_, _, SpanKind::Producer | SpanKind::Consumer) => Color::Magenta,
        (_, _, SpanKind::Server) => Color::Cyan,
        _ => Color::Green,
    };
    (glyph, colour, note)
}
