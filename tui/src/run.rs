//! The terminal and the event loop: keys from a reader thread, updates from the collector,
//! one draw after each. `ratatui::init` puts the terminal back on exit and on panic.

use std::time::Duration;

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyEvent, KeyEventKind};
use tokio::sync::{mpsc, watch};

use crate::app::{App, Effect};
use crate::collector::Collector;
use crate::model::{Action, ActionOutcome, Control, Update};
use crate::targets::Targets;

enum Input {
    Key(KeyEvent),
    Resize,
}

/// Runs the dashboard until the user quits.
pub async fn run(targets: Targets, refresh: Duration) -> anyhow::Result<()> {
    let collector = Collector::new(targets).await;
    let (update_tx, update_rx) = mpsc::channel::<Update>(4);
    let (outcome_tx, outcome_rx) = mpsc::channel::<ActionOutcome>(4);
    let (action_tx, action_rx) = mpsc::channel::<Action>(4);
    let (control_tx, control_rx) = watch::channel(Control {
        refresh,
        ..Control::default()
    });
    tokio::spawn(collector.run(update_tx, outcome_tx, action_rx, control_rx));

    let (input_tx, input_rx) = mpsc::unbounded_channel::<Input>();
    std::thread::spawn(move || {
        loop {
            let input = match event::read() {
                Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => Input::Key(key),
                Ok(Event::Resize(..)) => Input::Resize,
                Ok(_) => continue,
                Err(_) => return,
            };
            if input_tx.send(input).is_err() {
                return;
            }
        }
    });

    let mut terminal = ratatui::init();
    let result = event_loop(
        &mut terminal,
        App::new(refresh),
        Channels {
            updates: update_rx,
            outcomes: outcome_rx,
            inputs: input_rx,
            actions: action_tx,
            control: control_tx,
        },
    )
    .await;
    ratatui::restore();
    result
}

struct Channels {
    updates: mpsc::Receiver<Update>,
    outcomes: mpsc::Receiver<ActionOutcome>,
    inputs: mpsc::UnboundedReceiver<Input>,
    actions: mpsc::Sender<Action>,
    control: watch::Sender<Control>,
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    mut app: App,
    mut channels: Channels,
) -> anyhow::Result<()> {
    loop {
        terminal.draw(|frame| crate::ui::draw(frame, &app))?;
        tokio::select! {
            Some(update) = channels.updates.recv() => app.on_update(update),
            Some(outcome) = channels.outcomes.recv() => app.on_outcome(outcome),
            input = channels.inputs.recv() => match input {
                Some(Input::Key(key)) => {
                    for effect in app.on_key(key) {
                        match effect {
                            Effect::Act(action) => {
                                let _ = channels.actions.try_send(action);
                            }
                            Effect::Control => {
                                let _ = channels.control.send(app.control());
                            }
                        }
                    }
                }
                Some(Input::Resize) => {}
                None => return Ok(()),
            },
        }
        if app.quit {
            return Ok(());
        }
    }
}
