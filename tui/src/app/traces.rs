//! The Traces view's state: the recent traces of the running stack (or those a search found:
//! a trace id, an order id or a message id), the selected one, and its waterfall when open.
//! The collector reads what [`Traces::read`] asks for.

use ratatui::crossterm::event::KeyCode;
use slipway_contracts::trace::{Span, TraceSummary};

use super::{Effect, View};
use crate::model::{TraceFeed, TraceRead};

/// The view's state.
#[derive(Debug, Clone, Default)]
pub struct Traces {
    /// The traces listed, newest first.
    pub list: Vec<TraceSummary>,
    /// The selected one.
    pub selected: usize,
    /// The open trace's id and spans (its waterfall), when open.
    pub open: Option<(String, Vec<Span>)>,
    /// The search applied (`/`), when one is.
    pub search: Option<String>,
    /// The search being typed.
    pub typing: Option<String>,
    /// Why the last read failed.
    pub unavailable: Option<String>,
    /// Only traces with a failed span (`e`).
    pub errors_only: bool,
}

/// What a key of the Traces view asks for beyond its own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Nothing more.
    Nothing,
    /// The collector must read something else.
    Reread,
    /// Show the logs of this trace (the Logs view, searching for its id).
    Logs(String),
}

impl Traces {
    /// What the collector should read for this view.
    pub fn read(&self) -> TraceRead {
        match (&self.open, &self.search) {
            (Some((id, _)), _) => TraceRead::Trace(id.clone()),
            (None, Some(text)) => TraceRead::Search(text.clone()),
            (None, None) => TraceRead::Recent,
        }
    }

    /// Takes in what the collector read.
    pub fn take(&mut self, feed: TraceFeed) {
        match feed {
            TraceFeed::List(list) => {
                let kept = self.selected_trace().map(|t| t.trace_id.clone());
                self.list = list;
                let shown = self.shown();
                self.selected = kept
                    .and_then(|id| shown.iter().position(|t| t.trace_id == id))
                    .unwrap_or(self.selected)
                    .min(shown.len().saturating_sub(1));
                self.unavailable = None;
            }
            TraceFeed::Spans(id, spans) => {
                if let Some((open, old)) = &mut self.open
                    && *open == id
                {
                    *old = spans;
                }
                self.unavailable = None;
            }
            TraceFeed::Unavailable(why) => self.unavailable = Some(why),
        }
    }

    /// The traces shown (all, or those with errors).
    pub fn shown(&self) -> Vec<&TraceSummary> {
        self.list
            .iter()
            .filter(|t| !self.errors_only || t.errors > 0)
            .collect()
    }

    /// The selected trace.
    pub fn selected_trace(&self) -> Option<&TraceSummary> {
        self.shown().get(self.selected).copied()
    }

    /// Handles a key of the view.
    pub fn on_key(&mut self, code: KeyCode) -> Ask {
        if let Some(text) = &mut self.typing {
            return match code {
                KeyCode::Enter => {
                    let text = text.trim().to_string();
                    self.typing = None;
                    self.search = (!text.is_empty()).then_some(text);
                    self.selected = 0;
                    Ask::Reread
                }
                KeyCode::Esc => {
                    self.typing = None;
                    Ask::Nothing
                }
                KeyCode::Backspace => {
                    text.pop();
                    Ask::Nothing
                }
                KeyCode::Char(c) => {
                    text.push(c);
                    Ask::Nothing
                }
                _ => Ask::Nothing,
            };
        }
        let count = self.shown().len();
        match code {
            KeyCode::Char('e') => {
                self.errors_only = !self.errors_only;
                self.selected = 0;
                Ask::Nothing
            }
            KeyCode::Char('/') => {
                self.typing = Some(String::new());
                Ask::Nothing
            }
            KeyCode::Char('j') | KeyCode::Down if count > 0 && self.open.is_none() => {
                self.selected = (self.selected + 1).min(count - 1);
                Ask::Nothing
            }
            KeyCode::Char('k') | KeyCode::Up if self.open.is_none() => {
                self.selected = self.selected.saturating_sub(1);
                Ask::Nothing
            }
            KeyCode::Enter if self.open.is_some() => {
                self.open = None;
                Ask::Reread
            }
            KeyCode::Enter => match self.selected_trace() {
                Some(trace) => {
                    self.open = Some((trace.trace_id.clone(), Vec::new()));
                    Ask::Reread
                }
                None => Ask::Nothing,
            },
            KeyCode::Esc if self.open.is_some() => {
                self.open = None;
                Ask::Reread
            }
            KeyCode::Esc if self.search.is_some() => {
                self.search = None;
                Ask::Reread
            }
            KeyCode::Char('l') => {
                let id = match &self.open {
                    Some((id, _)) => Some(id.clone()),
                    None => self.selected_trace().map(|t| t.trace_id.clone()),
                };
                id.map_or(Ask::Nothing, Ask::Logs)
            }
            _ => Ask::Nothing,
        }
    }
}

impl super::App {
    /// Opens the Traces view on the traces holding `id` (an order, message or trace id).
    pub(super) fn show_traces_of(&mut self, id: String) -> Vec<Effect> {
        self.traces.open = None;
        self.traces.typing = None;
        self.traces.search = Some(id);
        self.traces.selected = 0;
        let mut effects = self.switch(View::Traces);
        if effects.is_empty() {
            effects.push(Effect::Control);
        }
        effects
    }

    /// Opens the Traces view on the traces with a failed span.
    pub(super) fn show_failed_traces(&mut self) -> Vec<Effect> {
        self.traces.open = None;
        self.traces.search = None;
        self.traces.errors_only = true;
        self.traces.selected = 0;
        let mut effects = self.switch(View::Traces);
        if effects.is_empty() {
            effects.push(Effect::Control);
        }
        effects
    }

    /// A key of the Traces view (the search being typed takes every key).
    pub(super) fn on_trace_key(&mut self, code: KeyCode) -> Vec<Effect> {
        match self.traces.on_key(code) {
            Ask::Nothing => Vec::new(),
            Ask::Reread => vec![Effect::Control],
            Ask::Logs(trace_id) => {
                self.logs.component = None;
                self.logs.search = trace_id;
                self.logs.scroll = 0;
                self.switch(View::Logs)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str) -> TraceSummary {
        TraceSummary {
            trace_id: id.into(),
            root: "POST /v1/orders".into(),
            services: vec!["service".into()],
            start_unix_nano: 0,
            duration_nanos: 1,
            spans: 3,
            errors: 0,
            order_id: None,
        }
    }

    #[test]
    fn search_open_and_logs_ask_the_collector_for_the_right_thing() {
        let mut traces = Traces::default();
        assert_eq!(traces.read(), TraceRead::Recent);
        traces.take(TraceFeed::List(vec![summary("a"), summary("b")]));
        traces.on_key(KeyCode::Down);
        assert_eq!(traces.on_key(KeyCode::Enter), Ask::Reread);
        assert_eq!(traces.read(), TraceRead::Trace("b".into()));
        traces.take(TraceFeed::Spans("b".into(), Vec::new()));
        assert_eq!(traces.on_key(KeyCode::Char('l')), Ask::Logs("b".into()));
        assert_eq!(traces.on_key(KeyCode::Esc), Ask::Reread);
        assert_eq!(traces.read(), TraceRead::Recent);

        traces.on_key(KeyCode::Char('/'));
        for c in "o-1x".chars() {
            traces.on_key(KeyCode::Char(c));
        }
        traces.on_key(KeyCode::Backspace);
        assert_eq!(traces.on_key(KeyCode::Enter), Ask::Reread);
        assert_eq!(traces.read(), TraceRead::Search("o-1".into()));
        traces.take(TraceFeed::Unavailable("busy".into()));
        assert_eq!(traces.unavailable.as_deref(), Some("busy"));
        traces.on_key(KeyCode::Esc);
        assert_eq!(traces.read(), TraceRead::Recent);

        let mut failed = summary("c");
        failed.errors = 2;
        traces.take(TraceFeed::List(vec![summary("a"), failed]));
        traces.on_key(KeyCode::Char('e'));
        assert_eq!(traces.shown().len(), 1);
        assert_eq!(
            traces.selected_trace().map(|t| t.trace_id.as_str()),
            Some("c")
        );
    }
}
