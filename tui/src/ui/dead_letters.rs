//! The dead-letter view: the DLQ's messages with age and failure reason, and the selected
//! one's body and attributes. Says how the messages were read.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::{age, block};
use crate::app::App;
use crate::collector::short_id;
use crate::model::{DeadLetter, DeadLetterSource};

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let [note, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let total = app.dlq().map(|q| q.total());
    let source = match app.dead_letter_source {
        DeadLetterSource::Peek => Span::styled(
            "read with the emulator's peek: nothing changes",
            Style::new().fg(Color::DarkGray),
        ),
        DeadLetterSource::Receive => Span::styled(
            "read with ReceiveMessage: receive counts go up, messages hide for 2 s",
            Style::new().fg(Color::Yellow),
        ),
        DeadLetterSource::NotRead => Span::styled("not read yet", Style::new().fg(Color::DarkGray)),
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!(
                    "{} in the DLQ, {} shown  ",
                    total.map_or_else(|| "?".to_owned(), |n| n.to_string()),
                    app.dead_letters.len()
                ),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            source,
        ])),
        note,
    );
    if app.detail {
        let [list, detail] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(body);
        draw_list(frame, app, list);
        draw_detail(frame, app.selected_letter(), detail);
    } else {
        draw_list(frame, app, body);
    }
}

fn since(sent_at_ms: Option<u64>) -> Option<Duration> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    Some(now.saturating_sub(Duration::from_millis(sent_at_ms?)))
}

fn draw_list(frame: &mut Frame, app: &App, area: Rect) {
    let header =
        Row::new(["id", "age", "rcv", "reason"]).style(Style::new().add_modifier(Modifier::BOLD));
    let rows: Vec<Row> = app
        .dead_letters
        .iter()
        .map(|letter| {
            Row::new([
                short_id(&letter.message_id).to_owned(),
                age(since(letter.sent_at_ms)),
                letter.receive_count.to_string(),
                letter.reason().unwrap_or("(no reason given)").to_owned(),
            ])
        })
        .collect();
    let empty = rows.is_empty();
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Length(3),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
    .highlight_symbol("> ")
    .block(block(if empty {
        "Dead letters: none"
    } else {
        "Dead letters"
    }));
    let mut state = TableState::default().with_selected((!empty).then_some(app.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_detail(frame: &mut Frame, letter: Option<&DeadLetter>, area: Rect) {
    let Some(letter) = letter else {
        frame.render_widget(
            Paragraph::new("nothing selected").block(block("Message")),
            area,
        );
        return;
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled("id ", Style::new().fg(Color::DarkGray)),
            Span::raw(letter.message_id.clone()),
        ]),
        Line::from(vec![
            Span::styled("reason ", Style::new().fg(Color::DarkGray)),
            Span::styled(
                letter.reason().unwrap_or("(no reason given)").to_owned(),
                Style::new().fg(Color::Red),
            ),
        ]),
        Line::from(""),
    ];
    for (name, value) in &letter.attributes {
        lines.push(Line::from(vec![
            Span::styled(format!("{name} "), Style::new().fg(Color::DarkGray)),
            Span::raw(value.clone()),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "body",
        Style::new().add_modifier(Modifier::BOLD),
    )));
    lines.push(Line::from(letter.body.clone()));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block("Message")),
        area,
    );
}
