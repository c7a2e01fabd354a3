//! Fault rules: make the emulator fail on purpose, so a developer sees what their code does
//! when SQS throttles, is slow, drops a connection or delivers a message twice.
//!
//! [`Faults`] holds the active rules ([`rule`]: what one matches, does and when it ends). The
//! server asks [`Faults::decide`] about each AWS request (its action and queue name) before
//! serving it and applies what fired: an error in the request's protocol, a delay, a dropped
//! connection, or a duplicate delivery. Rules are checked in the order they were added; the
//! first that matches and wins its probability roll fires. Durations are wall-clock time (the
//! virtual clock does not end rules). With no rule the check is one atomic load.

pub mod gate;
pub mod rule;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;

pub use rule::{Effect, Rule, RuleSpec};

/// What a fired rule asks the server to do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// Answer with this error instead of serving.
    Error {
        /// Code.
        code: String,
        /// HTTP status.
        status: u16,
        /// Message.
        message: String,
    },
    /// Wait this long, then serve.
    Delay(Duration),
    /// Close the connection without answering.
    DropConnection,
    /// Serve, then deliver the received messages again.
    Duplicate,
}

/// A rule as `GET /_slipway/faults` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    /// Its id, for `DELETE /_slipway/faults/{id}`.
    pub id: String,
    /// The rule as written.
    #[serde(flatten)]
    pub spec: RuleSpec,
    /// How often it fired.
    pub fired: u64,
    /// Firings left, when limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// Time left, ms, when limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_ms: Option<u64>,
}

struct Active {
    id: String,
    spec: RuleSpec,
    rule: Rule,
    fired: u64,
    expires_at: Option<Instant>,
}

impl Active {
    fn view(&self, now: Instant) -> RuleView {
        RuleView {
            id: self.id.clone(),
            spec: self.spec.clone(),
            fired: self.fired,
            remaining: self.rule.count,
            expires_in_ms: self
                .expires_at
                .map(|at| at.saturating_duration_since(now).as_millis() as u64),
        }
    }

    fn matches(&self, action: &str, queue: Option<&str>) -> bool {
        let action_ok =
            self.rule.actions.is_empty() || self.rule.actions.iter().any(|a| a == action);
        let queue_ok = match (&self.rule.queue, queue) {
            (None, _) => true,
            (Some(pattern), Some(name)) => rule::glob_matches(pattern, name),
            (Some(_), None) => false,
        };
        action_ok && queue_ok
    }
}

#[derive(Default)]
struct State {
    next_id: u64,
    rules: Vec<Active>,
    fired_by_queue: HashMap<String, u64>,
    fired_total: u64,
}

/// The active fault rules and what they fired.
#[derive(Default)]
pub struct Faults {
    any: AtomicBool,
    state: Mutex<State>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("rules", &self.state.lock().rules.len())
            .finish()
    }
}

impl Faults {
    /// Adds a rule (validated first); its view, or what is wrong with it.
    pub fn add(&self, spec: RuleSpec) -> Result<RuleView, String> {
        let rule = spec.validate()?;
        let now = Instant::now();
        let mut state = self.state.lock();
        state.next_id += 1;
        let active = Active {
            id: format!("fault-{}", state.next_id),
            expires_at: rule.duration.map(|d| now + d),
            spec,
            rule,
            fired: 0,
        };
        let view = active.view(now);
        state.rules.push(active);
        self.any.store(true, Ordering::Release);
        Ok(view)
    }

    /// The active rules, oldest first.
    pub fn list(&self) -> Vec<RuleView> {
        let now = Instant::now();
        let mut state = self.state.lock();
        self.expire(&mut state, now);
        state.rules.iter().map(|r| r.view(now)).collect()
    }

    /// Removes one rule; whether it was there.
    pub fn remove(&self, id: &str) -> bool {
        let mut state = self.state.lock();
        let before = state.rules.len();
        state.rules.retain(|r| r.id != id);
        self.any.store(!state.rules.is_empty(), Ordering::Release);
        state.rules.len() < before
    }

    /// Removes every rule; how many there were.
    pub fn clear(&self) -> usize {
        let mut state = self.state.lock();
        let removed = state.rules.len();
        state.rules.clear();
        self.any.store(false, Ordering::Release);
        removed
    }

    /// Whether any rule is active (one atomic load: the fast path of every request).
    pub fn is_empty(&self) -> bool {
        !self.any.load(Ordering::Acquire)
    }

    /// What, if anything, fires for a request of `action` naming `queue`.
    pub fn decide(&self, action: &str, queue: Option<&str>) -> Option<Fired> {
        if self.is_empty() {
            return None;
        }
        let now = Instant::now();
        let mut state = self.state.lock();
        self.expire(&mut state, now);
        let index = state.rules.iter().position(|r| {
            r.matches(action, queue)
                && (r.rule.probability >= 1.0 || fastrand::f64() < r.rule.probability)
        })?;
        let active = &mut state.rules[index];
        active.fired += 1;
        let fired = fire(&active.rule.effect);
        if let Some(left) = active.rule.count.as_mut() {
            *left -= 1;
            if *left == 0 {
                state.rules.remove(index);
                self.any.store(!state.rules.is_empty(), Ordering::Release);
            }
        }
        state.fired_total += 1;
        if let Some(name) = queue {
            *state.fired_by_queue.entry(name.to_string()).or_default() += 1;
        }
        Some(fired)
    }

    /// Faults fired on requests naming `queue`.
    pub fn fired_for(&self, queue: &str) -> u64 {
        self.state
            .lock()
            .fired_by_queue
            .get(queue)
            .copied()
            .unwrap_or(0)
    }

    /// Faults fired in all.
    pub fn fired_total(&self) -> u64 {
        self.state.lock().fired_total
    }

    fn expire(&self, state: &mut State, now: Instant) {
        state
            .rules
            .retain(|r| r.expires_at.is_none_or(|at| at > now));
        self.any.store(!state.rules.is_empty(), Ordering::Release);
    }
}

fn fire(effect: &Effect) -> Fired {
    match effect {
        Effect::Error {
            code,
            status,
            message,
        } => Fired::Error {
            code: code.clone(),
            status: *status,
            message: message.clone(),
        },
        Effect::Latency { min, max } => {
            let span = max.saturating_sub(*min).as_millis() as u64;
            let extra = if span == 0 {
                0
            } else {
                fastrand::u64(0..=span)
            };
            Fired::Delay(*min + Duration::from_millis(extra))
        }
        Effect::DropConnection => Fired::DropConnection,
        Effect::Duplicate => Fired::Duplicate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> RuleSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_rule_fires_for_its_actions_and_queue_until_its_count_runs_out() {
        let faults = Faults::default();
        assert!(faults.is_empty());
        let view = faults
            .add(spec(r#"{"actions": ["SendMessage"], "queue": "orders*", "error": {"code": "ThrottlingException"}, "count": 2}"#))
            .unwrap();
        assert_eq!(view.remaining, Some(2));
        assert_eq!(faults.decide("ReceiveMessage", Some("orders")), None);
        assert_eq!(faults.decide("SendMessage", Some("payments")), None);
        assert_eq!(faults.decide("SendMessage", None), None);
        assert!(matches!(
            faults.decide("SendMessage", Some("orders-dlq")),
            Some(Fired::Error { status: 400, .. })
        ));
        assert_eq!(faults.list()[0].fired, 1);
        assert!(faults.decide("SendMessage", Some("orders")).is_some());
        assert!(faults.is_empty(), "the rule ran out");
        assert_eq!(faults.decide("SendMessage", Some("orders")), None);
        assert_eq!(faults.fired_for("orders"), 1);
        assert_eq!(faults.fired_for("orders-dlq"), 1);
        assert_eq!(faults.fired_total(), 2);
    }

    #[test]
    fn probability_zero_never_fires_and_rules_are_removed_by_id() {
        let faults = Faults::default();
        let never = faults
            .add(spec(r#"{"probability": 0, "drop_connection": true}"#))
            .unwrap();
        for _ in 0..100 {
            assert_eq!(faults.decide("SendMessage", Some("q")), None);
        }
        let delay = faults
            .add(spec(r#"{"latency": {"min_ms": 10, "max_ms": 20}}"#))
            .unwrap();
        match faults.decide("GetQueueUrl", None) {
            Some(Fired::Delay(d)) => {
                assert!((Duration::from_millis(10)..=Duration::from_millis(20)).contains(&d))
            }
            other => panic!("{other:?}"),
        }
        assert!(faults.remove(&never.id));
        assert!(!faults.remove(&never.id));
        assert_eq!(faults.list().len(), 1);
        assert_eq!(faults.list()[0].id, delay.id);
        assert_eq!(faults.clear(), 1);
        assert!(faults.is_empty());
    }

    #[test]
    fn a_rule_with_a_duration_ends() {
        let faults = Faults::default();
        faults
            .add(spec(r#"{"duplicate": true, "duration": "1ms"}"#))
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(faults.decide("ReceiveMessage", Some("q")), None);
        assert!(faults.list().is_empty());
    }
}
