//! The Overview: the worker pool, the queues (the DLQ in red when it holds messages), HTTP
//! traffic and latency, queue lag, and the targets with their errors.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Gauge, Paragraph, Row, Sparkline, Table};

use super::{age, block, seconds};
use crate::app::App;
use crate::metrics::Rates;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let [workers, queues, http, targets] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Length(app.queues.len().max(1) as u16 + 3),
        Constraint::Min(5),
        Constraint::Length(app.targets.len().clamp(1, 4) as u16 + 2),
    ])
    .areas(area);
    draw_workers(frame, app, workers);
    draw_queues(frame, app, queues);
    draw_http(frame, app, http);
    draw_targets(frame, app, targets);
}

fn history(app: &App, field: impl Fn(&Rates) -> f64) -> Vec<u64> {
    app.history
        .iter()
        .map(|r| field(r).max(0.0).round() as u64)
        .collect()
}

fn draw_workers(frame: &mut Frame, app: &App, area: Rect) {
    let outer = block("Worker pool");
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [gauge_row, figures, sparks] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let (busy, size, in_flight) = app
        .snapshot
        .as_ref()
        .map_or((0.0, 0.0, 0.0), |(_, s)| (s.busy, s.pool_size, s.in_flight));
    let ratio = if size > 0.0 {
        (busy / size).clamp(0.0, 1.0)
    } else {
        0.0
    };
    frame.render_widget(
        Gauge::default()
            .gauge_style(Style::new().fg(if ratio > 0.9 {
                Color::Red
            } else {
                Color::Green
            }))
            .ratio(ratio)
            .label(format!("{busy:.0} busy of {size:.0}")),
        gauge_row,
    );
    let rates = app.rates.unwrap_or_default();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(format!("in flight {in_flight:.0}   ")),
            Span::styled(
                format!("processed {:.1}/s   ", rates.processed_per_sec),
                Style::new().fg(Color::Green),
            ),
            Span::styled(
                format!("failed {:.1}/s   ", rates.failed_per_sec),
                Style::new().fg(if rates.failed_per_sec > 0.0 {
                    Color::Red
                } else {
                    Color::Reset
                }),
            ),
            Span::raw(format!("retries {:.0}", rates.retries)),
        ])),
        figures,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(sparks);
    frame.render_widget(
        Sparkline::default()
            .data(history(app, |r| r.processed_per_sec))
            .style(Style::new().fg(Color::Green)),
        left,
    );
    frame.render_widget(
        Sparkline::default()
            .data(history(app, |r| r.failed_per_sec))
            .style(Style::new().fg(Color::Red)),
        right,
    );
}

fn draw_queues(frame: &mut Frame, app: &App, area: Rect) {
    let header = Row::new([
        "queue",
        "visible",
        "in flight",
        "delayed",
        "oldest",
        "faults",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    let rows: Vec<Row> = if app.queues.is_empty() {
        vec![Row::new([Cell::from(
            "no queues configured (--queue-url, --dlq-url)",
        )])]
    } else {
        app.queues
            .iter()
            .map(|q| {
                let style = if q.is_dlq && q.total() > 0 {
                    Style::new()
                        .fg(Color::White)
                        .bg(Color::Red)
                        .add_modifier(Modifier::BOLD)
                } else {
                    Style::new()
                };
                let name = if q.is_dlq {
                    format!("{} (DLQ)", q.name)
                } else {
                    q.name.clone()
                };
                match &q.error {
                    Some(error) => Row::new([Cell::from(Span::styled(
                        format!("{name}  down: {error}"),
                        Style::new().fg(Color::Red),
                    ))]),
                    None => Row::new([
                        name,
                        q.visible.to_string(),
                        q.in_flight.to_string(),
                        q.delayed.to_string(),
                        age(q.oldest_age),
                        q.faults_fired.map_or("-".into(), |n| n.to_string()),
                    ])
                    .style(style),
                }
            })
            .collect()
    };
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(18),
                Constraint::Length(9),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(6),
            ],
        )
        .header(header)
        .block(block("Queues")),
        area,
    );
}

fn draw_http(frame: &mut Frame, app: &App, area: Rect) {
    let outer = block("HTTP and queue latency");
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [figures, sparks] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let rates = app.rates.unwrap_or_default();
    let error_style = if rates.error_percent > 1.0 {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(format!("{:.1} req/s  ", rates.requests_per_sec)),
            Span::styled(format!("err {:.2}%  ", rates.error_percent), error_style),
            Span::raw(format!(
                "p50 {}  p95 {}  p99 {}  ",
                seconds(rates.p50),
                seconds(rates.p95),
                seconds(rates.p99)
            )),
            Span::styled(
                format!("lag p99 {}", seconds(rates.queue_lag_p99)),
                Style::new().fg(Color::Cyan),
            ),
        ])),
        figures,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(sparks);
    frame.render_widget(
        Sparkline::default()
            .data(history(app, |r| r.requests_per_sec))
            .style(Style::new().fg(Color::Blue)),
        left,
    );
    frame.render_widget(
        Sparkline::default()
            .data(history(app, |r| r.p99.unwrap_or(0.0) * 1e3))
            .style(Style::new().fg(Color::Magenta)),
        right,
    );
}

fn draw_targets(frame: &mut Frame, app: &App, area: Rect) {
    let lines: Vec<Line> = if app.targets.is_empty() {
        vec![Line::from(if app.loaded {
            "no service targets (--metrics-url)"
        } else {
            "waiting for the first refresh…"
        })]
    } else {
        app.targets
            .iter()
            .map(|t| {
                if t.up {
                    Line::from(vec![
                        Span::styled("up   ", Style::new().fg(Color::Green)),
                        Span::raw(t.url.clone()),
                    ])
                } else {
                    Line::from(vec![
                        Span::styled(
                            "DOWN ",
                            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                        ),
                        Span::raw(format!("{}  ", t.url)),
                        Span::styled(
                            t.last_error.clone().unwrap_or_default(),
                            Style::new().fg(Color::Red),
                        ),
                    ])
                }
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block("Targets")), area);
}
