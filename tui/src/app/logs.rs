//! The Logs view's state: the merged stream of a running stack (bounded), the filters (one
//! component or all, a minimum level, a search text typed after `/`), the scroll position
//! (following the end, or held still while lines arrive), and freezing: a frozen view shows
//! the lines it had, and counts the new ones that pass the filters.

use std::collections::VecDeque;

use ratatui::crossterm::event::KeyCode;
use slipway_contracts::control::{LogLevel, LogLine};

/// Lines kept in the dashboard.
pub const CAPACITY: usize = 5_000;
/// Lines a page key moves.
pub const PAGE: usize = 10;
/// The minimum levels `v` steps through (`Trace`: every line).
const LEVEL_STEPS: [LogLevel; 4] = [
    LogLevel::Trace,
    LogLevel::Info,
    LogLevel::Warn,
    LogLevel::Error,
];

/// The stream and how it is looked at.
#[derive(Debug, Clone)]
pub struct Logs {
    lines: VecDeque<LogLine>,
    /// Only this component's lines, when set.
    pub component: Option<String>,
    /// Only lines at least this severe.
    pub min_level: LogLevel,
    /// Only lines containing this (case-insensitive), when not empty.
    pub search: String,
    /// Whether keys are typing the search text.
    pub editing: bool,
    /// Matching lines between the last one shown and the end (0: following the end).
    pub scroll: usize,
    /// While frozen: the last line shown.
    pub frozen_at: Option<u64>,
}

impl Default for Logs {
    fn default() -> Self {
        Self {
            lines: VecDeque::new(),
            component: None,
            min_level: LogLevel::Trace,
            search: String::new(),
            editing: false,
            scroll: 0,
            frozen_at: None,
        }
    }
}

impl Logs {
    /// Takes in new lines. A view scrolled back stays on the same lines.
    pub fn push(&mut self, lines: Vec<LogLine>) {
        let frozen = self.frozen_at.is_some();
        for line in lines {
            if self.scroll > 0 && !frozen && self.matches(&line) {
                self.scroll += 1;
            }
            if self.lines.len() == CAPACITY {
                self.lines.pop_front();
            }
            self.lines.push_back(line);
        }
        self.scroll = self.scroll.min(self.shown().count().saturating_sub(1));
    }

    /// Freezes the view at the last line it has (`true`) or lets it follow again.
    pub fn freeze(&mut self, frozen: bool) {
        self.frozen_at = if frozen {
            Some(self.lines.back().map_or(0, |l| l.seq))
        } else {
            None
        };
    }

    /// Whether `line` passes the filters.
    pub fn matches(&self, line: &LogLine) -> bool {
        line.level >= self.min_level
            && self.component.as_ref().is_none_or(|c| *c == line.component)
            && (self.search.is_empty() || contains_ignoring_case(&line.text, &self.search))
    }

    /// The lines that pass the filters, oldest first (up to the freeze).
    pub fn shown(&self) -> impl Iterator<Item = &LogLine> {
        let until = self.frozen_at.unwrap_or(u64::MAX);
        self.lines
            .iter()
            .filter(move |l| l.seq <= until && self.matches(l))
    }

    /// Lines that passed the filters since the view froze.
    pub fn new_while_frozen(&self) -> usize {
        let Some(at) = self.frozen_at else { return 0 };
        self.lines
            .iter()
            .filter(|l| l.seq > at && self.matches(l))
            .count()
    }

    /// The components seen in the stream.
    pub fn components(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lines.iter().map(|l| l.component.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Shows only `component`'s lines, from the end.
    pub fn open(&mut self, component: &str) {
        self.component = Some(component.to_owned());
        self.scroll = 0;
    }

    /// Handles a key of the Logs view; `known` are the stack's components.
    pub fn on_key(&mut self, code: KeyCode, known: &[String]) {
        if self.editing {
            self.on_search_key(code);
            return;
        }
        let count = self.shown().count();
        match code {
            KeyCode::Char('/') => {
                self.editing = true;
                self.search.clear();
            }
            KeyCode::Esc => {
                self.search.clear();
                self.component = None;
                self.min_level = LogLevel::Trace;
            }
            KeyCode::Char('c') => self.next_component(known),
            KeyCode::Char('v') => self.next_level(),
            KeyCode::Char('k') | KeyCode::Up => self.scroll_by(1, count),
            KeyCode::Char('j') | KeyCode::Down => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageUp => self.scroll_by(PAGE, count),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(PAGE),
            KeyCode::Char('g') | KeyCode::Home => self.scroll = count.saturating_sub(1),
            KeyCode::Char('G') | KeyCode::End => self.scroll = 0,
            _ => {}
        }
    }

    fn on_search_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Enter => self.editing = false,
            KeyCode::Esc => {
                self.editing = false;
                self.search.clear();
            }
            KeyCode::Backspace => {
                self.search.pop();
            }
            KeyCode::Char(c) => self.search.push(c),
            _ => {}
        }
        self.scroll = 0;
    }

    fn scroll_by(&mut self, lines: usize, count: usize) {
        self.scroll = (self.scroll + lines).min(count.saturating_sub(1));
    }

    fn next_component(&mut self, known: &[String]) {
        let mut all: Vec<String> = known.to_vec();
        all.extend(self.components());
        all.sort();
        all.dedup();
        let next = match &self.component {
            None => all.first().cloned(),
            Some(now) => all.iter().skip_while(|c| *c != now).nth(1).cloned(),
        };
        self.component = next;
        self.scroll = 0;
    }

    fn next_level(&mut self) {
        let at = LEVEL_STEPS
            .iter()
            .position(|l| *l == self.min_level)
            .unwrap_or(0);
        self.min_level = LEVEL_STEPS[(at + 1) % LEVEL_STEPS.len()];
        self.scroll = 0;
    }
}

fn contains_ignoring_case(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64, component: &str, level: LogLevel, text: &str) -> LogLine {
        LogLine {
            seq,
            at_unix_ms: 0,
            component: component.into(),
            level,
            text: text.into(),
        }
    }

    fn stream() -> Logs {
        let mut logs = Logs::default();
        logs.push(vec![
            line(1, "postgres", LogLevel::Info, "ready to accept connections"),
            line(2, "redis", LogLevel::Warn, "overcommit_memory"),
            line(3, "service", LogLevel::Error, "Connection REFUSED"),
            line(4, "service", LogLevel::Info, "listening"),
        ]);
        logs
    }

    fn texts(logs: &Logs) -> Vec<&str> {
        logs.shown().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn filters_by_component_level_and_search() {
        let mut logs = stream();
        let known = ["postgres".to_owned(), "redis".to_owned(), "sqs".to_owned()];
        logs.on_key(KeyCode::Char('c'), &known);
        assert_eq!(texts(&logs), ["ready to accept connections"]);
        logs.on_key(KeyCode::Char('c'), &known);
        logs.on_key(KeyCode::Char('c'), &known);
        assert_eq!(
            logs.component.as_deref(),
            Some("service"),
            "seen in the stream"
        );
        logs.on_key(KeyCode::Char('c'), &known);
        assert_eq!(logs.component.as_deref(), Some("sqs"), "known to the stack");
        logs.on_key(KeyCode::Char('c'), &known);
        assert_eq!(logs.component, None, "back to all");

        logs.on_key(KeyCode::Char('v'), &known);
        logs.on_key(KeyCode::Char('v'), &known);
        assert_eq!(logs.min_level, LogLevel::Warn);
        assert_eq!(texts(&logs), ["overcommit_memory", "Connection REFUSED"]);
        logs.on_key(KeyCode::Esc, &known);
        assert_eq!(texts(&logs).len(), 4, "Esc clears every filter");

        for key in [KeyCode::Char('/'), KeyCode::Char('r'), KeyCode::Char('e')] {
            logs.on_key(key, &known);
        }
        assert!(logs.editing);
        logs.on_key(KeyCode::Char('f'), &known);
        logs.on_key(KeyCode::Backspace, &known);
        logs.on_key(KeyCode::Char('f'), &known);
        logs.on_key(KeyCode::Enter, &known);
        assert!(!logs.editing);
        assert_eq!(texts(&logs), ["Connection REFUSED"], "any case");
        logs.on_key(KeyCode::Char('/'), &known);
        logs.on_key(KeyCode::Esc, &known);
        assert_eq!(texts(&logs).len(), 4);
    }

    #[test]
    fn freezing_holds_the_view_and_counts_what_arrives() {
        let mut logs = stream();
        logs.freeze(true);
        logs.push(vec![
            line(5, "redis", LogLevel::Info, "a"),
            line(6, "service", LogLevel::Info, "b"),
        ]);
        assert_eq!(texts(&logs).len(), 4);
        assert_eq!(logs.new_while_frozen(), 2);
        logs.open("service");
        assert_eq!(logs.new_while_frozen(), 1, "counted through the filters");
        logs.freeze(false);
        assert_eq!(texts(&logs), ["Connection REFUSED", "listening", "b"]);
        assert_eq!(logs.new_while_frozen(), 0);
    }

    #[test]
    fn a_view_scrolled_back_stays_on_its_lines_and_g_follows_again() {
        let mut logs = stream();
        logs.on_key(KeyCode::Up, &[]);
        logs.on_key(KeyCode::Char('k'), &[]);
        assert_eq!(logs.scroll, 2);
        logs.push(vec![line(5, "redis", LogLevel::Info, "new")]);
        assert_eq!(logs.scroll, 3, "the same lines stay in view");
        logs.on_key(KeyCode::PageUp, &[]);
        assert_eq!(logs.scroll, 4, "no further than the first line");
        logs.on_key(KeyCode::Char('G'), &[]);
        assert_eq!(logs.scroll, 0);
    }

    #[test]
    fn the_stream_is_bounded() {
        let mut logs = Logs::default();
        logs.push(
            (1..=CAPACITY as u64 + 5)
                .map(|seq| line(seq, "x", LogLevel::Info, "y"))
                .collect(),
        );
        assert_eq!(logs.shown().count(), CAPACITY);
        assert_eq!(logs.shown().next().map(|l| l.seq), Some(6));
    }
}
