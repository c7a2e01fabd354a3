//! The Dead letters view's keys: move through the messages, open one, redrive one at once,
//! see its trace (`t`), and — after a question — redrive all, delete one, purge.

use ratatui::crossterm::event::KeyCode;

use super::{App, Confirm, Effect};
use crate::model::{Action, QueueRow};

impl App {
    pub(super) fn on_dead_letter_key(&mut self, code: KeyCode) -> Vec<Effect> {
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
            KeyCode::Char('t') => {
                // Its journey: the trace that carried it, found by its id in the work queue.
                if let Some(letter) = self.selected_letter() {
                    let id = letter
                        .attributes
                        .get(crate::model::SOURCE_MESSAGE_ID_ATTRIBUTE)
                        .cloned()
                        .unwrap_or_else(|| letter.message_id.clone());
                    return self.show_traces_of(id);
                }
                self.hint("no dead letter selected");
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
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use ratatui::crossterm::event::{KeyEvent, KeyModifiers};

    use super::*;
    use crate::model::{DeadLetter, DeadLetterSource, Update};

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
        let mut traced = with_letters(1);
        assert_eq!(traced.on_key(key(KeyCode::Char('t'))), [Effect::Control]);
        assert_eq!(traced.view, crate::app::View::Traces);
        assert_eq!(traced.traces.search.as_deref(), Some("id-0"));
        let mut empty = with_letters(0);
        assert!(empty.on_key(key(KeyCode::Char('r'))).is_empty());
        assert!(empty.on_key(key(KeyCode::Char('d'))).is_empty());
    }
}
