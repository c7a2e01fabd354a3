//! The dashboard's state and how it changes: updates from the collector and keys from the
//! user go in, effects (actions for the collector, a new refresh) come out. Nothing here
//! draws or touches the network, so every key is tested with plain calls.

use std::collections::VecDeque;
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
    /// The keys.
    Help,
}

impl View {
    /// Its tab title.
    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "1 Overview",
            View::DeadLetters => "2 Dead letters",
            View::Help => "3 Help",
        }
    }

    fn next(self) -> View {
        match self {
            View::Overview => View::DeadLetters,
            View::DeadLetters => View::Help,
            View::Help => View::Overview,
        }
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
        }
    }

    /// Whether the collector should read dead letters.
    pub fn wants_dead_letters(&self) -> bool {
        self.view == View::DeadLetters
    }

    /// The dead-letter queue's row, if known.
    pub fn dlq(&self) -> Option<&QueueRow> {
        self.queues.iter().find(|q| q.is_dlq)
    }

    /// The selected dead letter.
    pub fn selected_letter(&self) -> Option<&DeadLetter> {
        self.dead_letters.get(self.selected)
    }

    /// Takes in a refresh (ignored while frozen).
    pub fn on_update(&mut self, update: Update) {
        if self.frozen {
            return;
        }
        self.loaded = true;
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
            KeyCode::Char('1') => self.switch(View::Overview),
            KeyCode::Char('2') => self.switch(View::DeadLetters),
            KeyCode::Char('3') => self.switch(View::Help),
            KeyCode::Char(' ') => {
                self.frozen = !self.frozen;
                self.hint(if self.frozen { "frozen" } else { "live" });
                Vec::new()
            }
            KeyCode::Char('+') => self.step_refresh(1),
            KeyCode::Char('-') => self.step_refresh(-1),
            _ if self.view == View::DeadLetters => self.on_dead_letter_key(key.code),
            _ => Vec::new(),
        }
    }

    fn on_dead_letter_key(&mut self, code: KeyCode) -> Vec<Effect> {
        let count = self.dead_letters.len();
        match code {
            KeyCode::Char('j') | KeyCode::Down if count > 0 => {
                self.selected = (self.selected + 1).min(count - 1);
            }
            KeyCode::Char('k') | KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('g') | KeyCode::Home => self.selected = 0,
            KeyCode::Char('G') | KeyCode::End => self.selected = count.saturating_sub(1),
            KeyCode::Enter if count > 0 => self.detail = !self.detail,
            KeyCode::Char('r') => {
                if let Some(letter) = self.selected_letter() {
                    let id = letter.message_id.clone();
                    self.hint("redriving…");
                    return vec![Effect::Act(Action::Redrive(id))];
                }
                self.hint("no dead letter selected");
            }
            KeyCode::Char('R') => {
                self.confirm = Some(Confirm {
                    question: format!(
                        "Redrive all {} dead letters to the work queue? (y/n)",
                        self.dlq().map_or(count as u64, QueueRow::total)
                    ),
                    action: Action::RedriveAll,
                });
            }
            KeyCode::Char('d') => {
                if let Some(letter) = self.selected_letter() {
                    self.confirm = Some(Confirm {
                        question: format!(
                            "Delete dead letter {}? It is gone for good. (y/n)",
                            crate::collector::short_id(&letter.message_id)
                        ),
                        action: Action::Delete(letter.message_id.clone()),
                    });
                } else {
                    self.hint("no dead letter selected");
                }
            }
            KeyCode::Char('P') => {
                self.confirm = Some(Confirm {
                    question: format!(
                        "Purge the dead-letter queue? All {} messages are deleted. (y/n)",
                        self.dlq().map_or(count as u64, QueueRow::total)
                    ),
                    action: Action::Purge,
                });
            }
            _ => {}
        }
        Vec::new()
    }

    fn switch(&mut self, to: View) -> Vec<Effect> {
        let before = self.wants_dead_letters();
        self.view = to;
        self.detail = false;
        if before == self.wants_dead_letters() {
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

    fn hint(&mut self, text: &str) {
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
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn letters(n: usize) -> Vec<DeadLetter> {
        (0..n)
            .map(|i| DeadLetter {
                message_id: format!("id-{i}"),
                body: "x".into(),
                sent_at_ms: None,
                receive_count: 1,
                attributes: BTreeMap::new(),
            })
            .collect()
    }

    fn with_letters(n: usize) -> App {
        let mut app = App::new(Duration::from_secs(1));
        app.on_key(key(KeyCode::Char('2')));
        app.on_update(Update {
            dead_letters: letters(n),
            dead_letter_source: DeadLetterSource::Peek,
            ..Update::default()
        });
        app
    }

    #[test]
    fn q_and_ctrl_c_quit() {
        let mut app = App::new(Duration::from_secs(1));
        app.on_key(key(KeyCode::Char('q')));
        assert!(app.quit);
        let mut app = App::new(Duration::from_secs(1));
        app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(app.quit);
    }

    #[test]
    fn views_switch_by_number_tab_and_question_mark() {
        let mut app = App::new(Duration::from_secs(1));
        assert_eq!(app.on_key(key(KeyCode::Char('2'))), [Effect::Control]);
        assert_eq!(app.view, View::DeadLetters);
        assert!(app.wants_dead_letters());
        assert_eq!(app.on_key(key(KeyCode::Tab)), [Effect::Control]);
        assert_eq!(app.view, View::Help);
        app.on_key(key(KeyCode::Char('?')));
        assert_eq!(app.view, View::Overview);
        app.on_key(key(KeyCode::Char('?')));
        assert_eq!(app.view, View::Help);
        assert!(app.on_key(key(KeyCode::Char('3'))).is_empty());
    }

    #[test]
    fn selection_moves_within_the_list_and_survives_a_refresh() {
        let mut app = with_letters(3);
        app.on_key(key(KeyCode::Char('j')));
        app.on_key(key(KeyCode::Down));
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.selected, 2);
        app.on_key(key(KeyCode::Char('k')));
        assert_eq!(app.selected, 1);
        // The list shrinks from the front: the same message stays selected.
        let mut fewer = letters(3);
        fewer.remove(0);
        app.on_update(Update {
            dead_letters: fewer,
            dead_letter_source: DeadLetterSource::Peek,
            ..Update::default()
        });
        assert_eq!(app.selected_letter().unwrap().message_id, "id-1");
        app.on_key(key(KeyCode::Enter));
        assert!(app.detail);
        app.on_key(key(KeyCode::Esc));
        assert!(!app.detail);
    }

    #[test]
    fn redrive_acts_at_once_but_delete_and_purge_ask_first() {
        let mut app = with_letters(2);
        assert_eq!(
            app.on_key(key(KeyCode::Char('r'))),
            [Effect::Act(Action::Redrive("id-0".into()))]
        );
        assert!(app.on_key(key(KeyCode::Char('P'))).is_empty());
        assert!(app.confirm.as_ref().unwrap().question.contains("Purge"));
        // Anything but y cancels.
        assert!(app.on_key(key(KeyCode::Char('n'))).is_empty());
        assert!(app.confirm.is_none());
        app.on_key(key(KeyCode::Char('d')));
        assert_eq!(
            app.on_key(key(KeyCode::Char('y'))),
            [Effect::Act(Action::Delete("id-0".into()))]
        );
        app.on_key(key(KeyCode::Char('R')));
        assert_eq!(
            app.on_key(key(KeyCode::Char('y'))),
            [Effect::Act(Action::RedriveAll)]
        );
        let mut empty = with_letters(0);
        assert!(empty.on_key(key(KeyCode::Char('r'))).is_empty());
        assert!(empty.on_key(key(KeyCode::Char('d'))).is_empty());
    }

    #[test]
    fn space_freezes_and_plus_minus_step_the_refresh() {
        let mut app = App::new(Duration::from_secs(1));
        app.on_key(key(KeyCode::Char(' ')));
        assert!(app.frozen);
        app.on_update(Update {
            queues: vec![QueueRow {
                name: "orders".into(),
                is_dlq: false,
                visible: 5,
                in_flight: 0,
                delayed: 0,
                oldest_age: None,
                error: None,
            }],
            ..Update::default()
        });
        assert!(app.queues.is_empty(), "a frozen dashboard keeps its data");
        app.on_key(key(KeyCode::Char(' ')));
        assert!(!app.frozen);
        assert_eq!(app.on_key(key(KeyCode::Char('+'))), [Effect::Control]);
        assert_eq!(app.refresh, Duration::from_secs(2));
        app.on_key(key(KeyCode::Char('-')));
        app.on_key(key(KeyCode::Char('-')));
        app.on_key(key(KeyCode::Char('-')));
        assert_eq!(app.refresh, Duration::from_millis(250));
        assert!(
            app.on_key(key(KeyCode::Char('-'))).is_empty(),
            "250 ms is the floor"
        );
        assert_eq!(format_interval(Duration::from_millis(500)), "500ms");
    }

    #[test]
    fn rates_come_from_consecutive_snapshots() {
        let mut app = App::new(Duration::from_secs(1));
        let first = Snapshot {
            http_requests: 100.0,
            ..Snapshot::default()
        };
        app.on_update(Update {
            at_secs: 1.0,
            snapshot: Some(first),
            ..Update::default()
        });
        assert!(app.rates.is_none());
        let second = Snapshot {
            http_requests: 300.0,
            ..Snapshot::default()
        };
        app.on_update(Update {
            at_secs: 3.0,
            snapshot: Some(second),
            ..Update::default()
        });
        assert_eq!(app.rates.unwrap().requests_per_sec, 100.0);
        assert_eq!(app.history.len(), 1);
    }
}
