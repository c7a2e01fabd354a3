//! The Components view's state: the running stack's components as its control socket last
//! reported them, the selected one, and what its keys ask for (restart, stop — after a
//! question —, start, open its logs).

use ratatui::crossterm::event::KeyCode;
use slipway_contracts::control::ComponentStatus;

use super::{Confirm, Effect, View};
use crate::model::{Action, StackFeed, Verb};

/// The stack's components.
#[derive(Debug, Clone, Default)]
pub struct Components {
    /// Every component, in start order (kept while the socket does not answer).
    pub rows: Vec<ComponentStatus>,
    /// Whether a stack was found at all.
    pub has_stack: bool,
    /// Why the last status could not be read.
    pub unreachable: Option<String>,
    /// The selected row.
    pub selected: usize,
    /// Faults in force (`postgres paused`, `redis latency 200ms`).
    pub chaos: Vec<String>,
}

/// What a key of the Components view asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Nothing.
    Nothing,
    /// Act at once.
    Act(Action),
    /// Ask `question` first.
    Confirm(String, Action),
    /// Show this component's logs.
    OpenLogs(String),
    /// Say this.
    Hint(String),
}

impl Components {
    /// Takes in the stack's report; the selection follows its component.
    pub fn take(&mut self, feed: StackFeed) {
        match feed {
            StackFeed::NoStack => {
                self.has_stack = false;
                self.rows.clear();
            }
            StackFeed::Unreachable(why) => {
                self.has_stack = true;
                self.unreachable = Some(why);
            }
            StackFeed::Components(report) => {
                let kept = self.selected_row().map(|c| c.name.clone());
                self.has_stack = true;
                self.unreachable = None;
                self.rows = report.components;
                self.chaos = report.chaos;
                self.selected = kept
                    .and_then(|name| self.rows.iter().position(|c| c.name == name))
                    .unwrap_or(self.selected)
                    .min(self.rows.len().saturating_sub(1));
            }
        }
    }

    /// The selected component.
    pub fn selected_row(&self) -> Option<&ComponentStatus> {
        self.rows.get(self.selected)
    }

    /// The components' names.
    pub fn names(&self) -> Vec<String> {
        self.rows.iter().map(|c| c.name.clone()).collect()
    }

    /// Handles a key of the Components view.
    pub fn on_key(&mut self, code: KeyCode) -> Ask {
        let count = self.rows.len();
        match code {
            KeyCode::Char('j') | KeyCode::Down if count > 0 => {
                self.selected = (self.selected + 1).min(count - 1);
                Ask::Nothing
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.selected = self.selected.saturating_sub(1);
                Ask::Nothing
            }
            KeyCode::Char('r' | 'x' | 's' | 'l') | KeyCode::Enter => {
                let Some(name) = self.selected_row().map(|c| c.name.clone()) else {
                    return Ask::Hint("no component selected".into());
                };
                let act = |verb| Action::Component {
                    verb,
                    name: name.clone(),
                };
                match code {
                    KeyCode::Char('r') => Ask::Act(act(Verb::Restart)),
                    KeyCode::Char('s') => Ask::Act(act(Verb::Start)),
                    KeyCode::Char('x') => Ask::Confirm(
                        format!("Stop {name}? Whatever uses it fails until `s` starts it. (y/n)"),
                        act(Verb::Stop),
                    ),
                    _ => Ask::OpenLogs(name),
                }
            }
            _ => Ask::Nothing,
        }
    }
}

impl super::App {
    /// A key of the Components view.
    pub(super) fn on_component_key(&mut self, code: KeyCode) -> Vec<Effect> {
        match self.components.on_key(code) {
            Ask::Nothing => Vec::new(),
            Ask::Act(action) => {
                if let Action::Component { verb, name } = &action {
                    self.hint(&format!("{} {name}…", verb.progressive()));
                }
                vec![Effect::Act(action)]
            }
            Ask::Confirm(question, action) => {
                self.confirm = Some(Confirm { question, action });
                Vec::new()
            }
            Ask::OpenLogs(name) => {
                self.logs.open(&name);
                self.switch(View::Logs)
            }
            Ask::Hint(text) => {
                self.hint(&text);
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use slipway_contracts::control::ComponentState;
    use slipway_contracts::state::Backend;

    use super::*;
    use crate::model::StackReport;

    fn row(name: &str) -> ComponentStatus {
        ComponentStatus {
            name: name.into(),
            backend: Backend::Native,
            url: format!("{name}://127.0.0.1:1"),
            pid: Some(1),
            state: ComponentState::Ready,
            uptime_ms: 1_000,
            restarts: 0,
            error: None,
        }
    }

    #[test]
    fn keys_restart_start_stop_after_a_question_and_open_logs() {
        let mut components = Components::default();
        components.take(StackFeed::Components(StackReport::of(vec![
            row("postgres"),
            row("redis"),
        ])));
        components.on_key(KeyCode::Down);
        components.on_key(KeyCode::Down);
        assert_eq!(components.selected_row().unwrap().name, "redis");
        let redis = |verb| Action::Component {
            verb,
            name: "redis".into(),
        };
        assert_eq!(
            components.on_key(KeyCode::Char('r')),
            Ask::Act(redis(Verb::Restart))
        );
        assert_eq!(
            components.on_key(KeyCode::Char('s')),
            Ask::Act(redis(Verb::Start))
        );
        assert!(matches!(
            components.on_key(KeyCode::Char('x')),
            Ask::Confirm(q, a) if q.starts_with("Stop redis?") && a == redis(Verb::Stop)
        ));
        assert_eq!(
            components.on_key(KeyCode::Enter),
            Ask::OpenLogs("redis".into())
        );
    }

    #[test]
    fn the_selection_follows_its_component_and_an_unanswered_status_keeps_the_rows() {
        let mut components = Components::default();
        assert!(matches!(
            components.on_key(KeyCode::Char('r')),
            Ask::Hint(_)
        ));
        components.take(StackFeed::Components(StackReport::of(vec![
            row("a"),
            row("b"),
            row("c"),
        ])));
        components.selected = 2;
        components.take(StackFeed::Components(StackReport::of(vec![
            row("c"),
            row("a"),
        ])));
        assert_eq!(components.selected_row().unwrap().name, "c");
        components.take(StackFeed::Unreachable("busy".into()));
        assert_eq!(components.rows.len(), 2);
        assert_eq!(components.unreachable.as_deref(), Some("busy"));
        components.take(StackFeed::NoStack);
        assert!(!components.has_stack && components.rows.is_empty());
    }
}
