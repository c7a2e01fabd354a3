//! The terminal progress display of `devstack up`: one spinner per component, with its
//! backend and startup time once ready (indicatif; hidden when stderr is not a terminal).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::stack::Progress;

/// Spinners for `devstack up`.
#[derive(Default)]
pub struct Spinners {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Spinners {
    fn bar(&self, component: &str) -> Option<ProgressBar> {
        self.bars
            .lock()
            .ok()
            .and_then(|bars| bars.get(component).cloned())
    }
}

impl Spinners {
    /// Stops every spinner still turning (an interrupted start), leaving its line.
    pub fn clear(&self) {
        if let Ok(bars) = self.bars.lock() {
            for bar in bars.values().filter(|b| !b.is_finished()) {
                bar.abandon_with_message("interrupted");
            }
        }
    }
}

impl Progress for Spinners {
    fn starting(&self, component: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:<9} {msg}") {
            bar.set_style(style);
        }
        bar.set_prefix(component.to_string());
        bar.set_message("starting…");
        bar.enable_steady_tick(Duration::from_millis(80));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(component.to_string(), bar);
        }
    }

    fn ready(&self, component: &str, backend: &str, elapsed: Duration) {
        if let Some(bar) = self.bar(component) {
            bar.finish_with_message(format!("ready ({backend}) in {} ms", elapsed.as_millis()));
        }
    }

    fn failed(&self, component: &str) {
        if let Some(bar) = self.bar(component) {
            bar.abandon_with_message("failed");
        }
    }

    fn message(&self, component: &str, text: &str) {
        if let Some(bar) = self.bar(component) {
            bar.set_message(text.to_string());
        }
    }
}
