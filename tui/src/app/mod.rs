//! The dashboard's state and how it changes: updates from the collector and keys from the
//! user go in, effects (actions for the collector, a new refresh) come out. Nothing here
//! draws or touches the network, so every key is tested with plain calls.
//!
//! - here: the views, the shared keys (views, freeze, refresh, quit, questions), updates.
//! - [`dead_letters`]: the Dead letters view's keys.
//! - [`components`]: the Components view's state and keys.
//! - [`logs`]: the Logs view's state, filters, search, scroll and freeze.
//! - [`traces`]: the Traces view's list, search and open waterfall.

pub mod components;
mod dead_letters;
pub mod logs;
pub mod traces;

use std::collections::VecDeque;
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use components::Components;
use logs::Logs;
use traces::Traces;

use crate::metrics::{Rates, Snapshot};
use crate::model::{
    Action, ActionOutcome, DeadLetter, DeadLetterSource, QueueRow, TargetStatus, Update,
};

/// Points of history kept for the sparklines.
pub const HISTORY: usize = 120;
/// The refresh intervals `+` and `-` step through.
pub const REFRESH_STEPS_MS: [u64; 7] = [250, 500, 1_000, 2_000, 5_000, 10_000, 30_000];

/// The screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Worker pool, queues, HTTP.
    Overview,
    /// The dead-letter queue's messages.
    DeadLetters,
    /// The running stack's components.
    Components,
    /// The running stack's merged logs.
    Logs,
    /// The running stack's traces.
    Traces,
    /// The keys.
    Help,
}

impl View {
    /// Every view, in tab order (its number is its place, from 1).
    pub const ALL: [View; 6] = [
        View::Overview,
        View::DeadLetters,
        View::Components,
        View::Logs,
        View::Traces,
        View::Help,
    ];

    /// Its tab title.
    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "1 Overview",
            View::DeadLetters => "2 DLQ",
            View::Components => "3 Components",
            View::Logs => "4 Logs",
            View::Traces => "5 Traces",
            View::Help => "6 Help",
        }
    }

    fn next(self) -> View {
        let at = View::ALL.iter().position(|v| *v == self).unwrap_or(0);
        View::ALL[(at + 1) % View::ALL.len()]
    }
}

/// A destructive action waiting for `y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// The question.
    pub question: String,
    /// What `y` does.
    pub action: Action,
}

/// What the event loop must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Ask the collector to act.
    Act(Action),
    /// Tell the collector the refresh interval or the views' needs changed.
    Control,
}

/// Everything the views draw.
#[derive(Debug, Clone)]
pub struct App {
    /// The screen shown.
    pub view: View,
    /// Data changes are ignored while frozen.
    pub frozen: bool,
    /// The refresh interval.
    pub refresh: Duration,
    /// Service targets and whether they answer.
    pub targets: Vec<TargetStatus>,
    /// The latest snapshot and when it was taken (seconds).
    pub snapshot: Option<(f64, Snapshot)>,
    /// Rates over the last interval.
    pub rates: Option<Rates>,
    /// Rates over time, oldest first.
    pub history: VecDeque<Rates>,
    /// Queue depths.
    pub queues: Vec<QueueRow>,
    /// DLQ messages, when read.
    pub dead_letters: Vec<DeadLetter>,
    /// How they were read.
    pub dead_letter_source: DeadLetterSource,
    /// The selected dead letter.
    pub selected: usize,
    /// Whether the selected dead letter's detail is open.
    pub detail: bool,
    /// A pending confirmation.
    pub confirm: Option<Confirm>,
    /// The last action's outcome or a hint.
    pub status: Option<ActionOutcome>,
    /// Set when the user quits.
    pub quit: bool,
    /// Whether any data has arrived yet.
    pub loaded: bool,
    /// The running stack's components.
    pub components: Components,
    /// The running stack's merged logs.
    pub logs: Logs,
    /// The running stack's traces.
    pub traces: Traces,
}

impl App {
    /// A dashboard before any data.
    pub fn new(refresh: Duration) -> Self {
        Self {
            view: View::Overview,
            frozen: false,
            refresh,
            targets: Vec::new(),
            snapshot: None,
            rates: None,
            history: VecDeque::with_capacity(HISTORY),
            queues: Vec::new(),
            dead_letters: Vec::new(),
            dead_letter_source: DeadLetterSource::NotRead,
            selected: 0,
            detail: false,
            confirm: None,
            status: None,
            quit: false,
            loaded: false,
            components: Components::default(),
            logs: Logs::default(),
            traces: Traces::default(),
        }
    }

    /// Whether the collector should read dead letters.
    pub fn wants_dead_letters(&self) -> bool {
        self.view == View::DeadLetters
    }

    /// What the collector should read, given the view.
    pub fn control(&self) -> crate::model::Control {
        crate::model::Control {
            refresh: self.refresh,
            read_dead_letters: self.wants_dead_letters(),
            traces: if self.view == View::Traces {
                self.traces.read()
            } else {
                crate::model::TraceRead::Nothing
            },
        }
    }

    /// The dead-letter queue's row, if known.
    pub fn dlq(&self) -> Option<&QueueRow> {
        self.queues.iter().find(|q| q.is_dlq)
    }

    /// The selected dead letter.
    pub fn selected_letter(&self) -> Option<&DeadLetter> {
        self.dead_letters.get(self.selected)
    }

    /// Takes in a refresh (ignored while frozen, but for log lines, which are counted).
    pub fn on_update(&mut self, update: Update) {
        self.logs.push(update.logs);
        if self.frozen {
            return;
        }
        self.loaded = true;
        self.components.take(update.stack);
        if let Some(feed) = update.traces {
            self.traces.take(feed);
        }
        self.targets = update.targets;
        if let Some(snapshot) = update.snapshot {
            if let Some((then, previous)) = &self.snapshot {
                let rates = Rates::between(previous, &snapshot, update.at_secs - then);
                if self.history.len() == HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(rates);
                self.rates = Some(rates);
            }
            self.snapshot = Some((update.at_secs, snapshot));
        }
        self.queues = update.queues;
        if update.dead_letter_source != DeadLetterSource::NotRead || !self.wants_dead_letters() {
            let kept = self.selected_letter().map(|l| l.message_id.clone());
            self.dead_letters = update.dead_letters;
            self.dead_letter_source = update.dead_letter_source;
            self.selected = kept
                .and_then(|id| self.dead_letters.iter().position(|l| l.message_id == id))
                .unwrap_or(self.selected)
                .min(self.dead_letters.len().saturating_sub(1));
        }
    }

    /// Takes in an action's outcome.
    pub fn on_outcome(&mut self, outcome: ActionOutcome) {
        self.status = Some(outcome);
    }

    /// Handles a key; what the event loop must do about it.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if ctrl_c {
            self.quit = true;
            return Vec::new();
        }
        if self.view == View::Logs && self.logs.editing {
            self.logs.on_key(key.code, &[]);
            return Vec::new();
        }
        if self.view == View::Traces && self.traces.typing.is_some() {
            return self.on_trace_key(key.code);
        }
        if let Some(confirm) = self.confirm.take() {
            return match key.code {
                KeyCode::Char('y' | 'Y') => vec![Effect::Act(confirm.action)],
                _ => {
                    self.hint("cancelled");
                    Vec::new()
                }
            };
        }
        match key.code {
            KeyCode::Char('q') => {
                self.quit = true;
                Vec::new()
            }
            KeyCode::Esc if self.detail => {
                self.detail = false;
                Vec::new()
            }
            KeyCode::Char('?') => {
                let to = if self.view == View::Help {
                    View::Overview
                } else {
                    View::Help
                };
                self.switch(to)
            }
            KeyCode::Tab => self.switch(self.view.next()),
            KeyCode::Char(digit @ '1'..='6') => {
                let at = usize::from(digit as u8 - b'1');
                self.switch(View::ALL[at])
            }
            KeyCode::Char(' ') => {
                self.frozen = !self.frozen;
                self.logs.freeze(self.frozen);
                self.hint(if self.frozen { "frozen" } else { "live" });
                Vec::new()
            }
            KeyCode::Char('+') => self.step_refresh(1),
            KeyCode::Char('-') => self.step_refresh(-1),
            _ => match self.view {
                View::DeadLetters => self.on_dead_letter_key(key.code),
                View::Components => self.on_component_key(key.code),
                View::Logs => {
                    let known = self.components.names();
                    self.logs.on_key(key.code, &known);
                    Vec::new()
                }
                View::Traces => self.on_trace_key(key.code),
                View::Overview if key.code == KeyCode::Char('e') => self.show_failed_traces(),
                View::Overview | View::Help => Vec::new(),
            },
        }
    }

    pub(super) fn switch(&mut self, to: View) -> Vec<Effect> {
        let before = self.control();
        self.view = to;
        self.detail = false;
        if before == self.control() {
            Vec::new()
        } else {
            vec![Effect::Control]
        }
    }

    fn step_refresh(&mut self, direction: i32) -> Vec<Effect> {
        let now = self.refresh.as_millis() as u64;
        let next = if direction > 0 {
            REFRESH_STEPS_MS.iter().copied().find(|&ms| ms > now)
        } else {
            REFRESH_STEPS_MS.iter().rev().copied().find(|&ms| ms < now)
        };
        match next {
            Some(ms) => {
                self.refresh = Duration::from_millis(ms);
                self.hint(&format!("refresh every {}", format_interval(self.refresh)));
                vec![Effect::Control]
            }
            None => Vec::new(),
        }
    }

    pub(crate) fn hint(&mut self, text: &str) {
        self.status = Some(ActionOutcome {
            message: text.to_owned(),
            ok: true,
        });
    }
}

/// `250ms`, `1s`, `30s`.
pub fn format_interval(interval: Duration) -> String {
    let ms = interval.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else {
        format!("{}s", ms / 1_000)
    }
}

#[cfg(test)]
mod tests;
