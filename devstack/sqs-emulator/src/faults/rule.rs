//! One fault rule: what it matches (actions, a queue name or glob, a probability), what it
//! does (an AWS error, latency, a dropped connection, a duplicate delivery) and when it ends
//! (after N firings, or after a duration). [`RuleSpec`] is the JSON a developer writes;
//! [`RuleSpec::validate`] turns it into a [`Rule`] or says what is wrong.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The actions a rule may name (those the emulator serves).
pub const ACTIONS: [&str; 23] = [
    "CreateQueue",
    "DeleteQueue",
    "GetQueueUrl",
    "ListQueues",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "PurgeQueue",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "AddPermission",
    "RemovePermission",
    "ListDeadLetterSourceQueues",
    "StartMessageMoveTask",
    "CancelMessageMoveTask",
    "ListMessageMoveTasks",
];

/// The longest latency a rule may add: past it, SDKs would time out anyway.
const MAX_LATENCY_MS: u64 = 120_000;

/// A rule as written (`POST /_slipway/faults`, `[[faults]]` in devstack.toml).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Actions it applies to; every action when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// The queue name it applies to: exact, or a glob with `*` and `?`; every request when
    /// absent (requests naming no queue included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The chance that a matching request is hit, 0 to 1 (1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Answer with this AWS error instead of serving the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSpec>,
    /// Delay the request by this long before serving it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySpec>,
    /// Close the connection without answering.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop_connection: bool,
    /// ReceiveMessage on a standard queue: deliver what it received again to the next
    /// receive (at-least-once delivery made visible).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
    /// End after firing this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// End after this long (`30s`, `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

/// An AWS error to answer with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// The error code, as AWS sends it (`ServiceUnavailable`, `ThrottlingException`…).
    pub code: String,
    /// The HTTP status; AWS's for the known codes when absent, else 400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The error message; a generic one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Added latency: fixed (`{"ms": 200}`) or uniform in a range (`{"min_ms": 100, "max_ms": 300}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// Fixed latency, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
    /// Lower bound of a range, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ms: Option<u64>,
    /// Upper bound of a range, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<u64>,
}

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Answer with an error.
    Error {
        /// Code.
        code: String,
        /// HTTP status.
        status: u16,
        /// Message.
        message: String,
    },
    /// Wait between `min` and `max` before serving.
    Latency {
        /// Shortest.
        min: Duration,
        /// Longest.
        max: Duration,
    },
    /// Close the connection without answering.
    DropConnection,
    /// Deliver a receive's messages again.
    Duplicate,
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Actions; every action when empty.
    pub actions: Vec<String>,
    /// Queue name or glob; every request when `None`.
    pub queue: Option<String>,
    /// 0 to 1.
    pub probability: f64,
    /// What it does.
    pub effect: Effect,
    /// Firings left, when limited.
    pub count: Option<u64>,
    /// How long it lasts, when limited.
    pub duration: Option<Duration>,
}

/// AWS's HTTP status for the error codes a rule is likely to name.
pub fn default_status(code: &str) -> u16 {
    match code {
        "ServiceUnavailable" | "ServiceUnavailableException" => 503,
        "InternalError" | "InternalFailure" | "InternalServerError" => 500,
        "RequestThrottled" | "KmsThrottled" => 403,
        _ => 400,
    }
}

impl RuleSpec {
    /// The rule, or what is wrong with it.
    pub fn validate(&self) -> Result<Rule, String> {
        for action in &self.actions {
            if !ACTIONS.contains(&action.as_str()) {
                return Err(format!(
                    "unknown action {action:?}; actions are {}",
                    ACTIONS.join(", ")
                ));
            }
        }
        if self.queue.as_deref() == Some("") {
            return Err("queue must not be empty (leave it out to match every queue)".into());
        }
        let probability = self.probability.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&probability) {
            return Err(format!(
                "probability must be between 0 and 1, not {probability}"
            ));
        }
        let effect = self.effect()?;
        if effect == Effect::Duplicate && self.actions.iter().any(|a| a != "ReceiveMessage") {
            return Err("duplicate applies to ReceiveMessage only".into());
        }
        if self.count == Some(0) {
            return Err("count must be at least 1 (leave it out for no limit)".into());
        }
        let duration = match &self.duration {
            None => None,
            Some(text) => Some(humantime::parse_duration(text).map_err(|e| {
                format!("duration {text:?} is not a duration such as 30s or 5m: {e}")
            })?),
        };
        Ok(Rule {
            actions: self.actions.clone(),
            queue: self.queue.clone(),
            probability,
            effect,
            count: self.count,
            duration,
        })
    }

    fn effect(&self) -> Result<Effect, String> {
        let given = usize::from(self.error.is_some())
            + usize::from(self.latency.is_some())
            + usize::from(self.drop_connection)
            + usize::from(self.duplicate);
        if given != 1 {
            return Err(format!(
                "a rule has exactly one effect: error, latency, drop_connection or duplicate ({given} given)"
            ));
        }
        if let Some(error) = &self.error {
            return error_effect(error);
        }
        if let Some(latency) = &self.latency {
            return latency_effect(latency);
        }
        Ok(if self.drop_connection {
            Effect::DropConnection
        } else {
            Effect::Duplicate
        })
    }
}

fn error_effect(error: &ErrorSpec) -> Result<Effect, String> {
    let code = error.code.trim();
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
        return Err(format!(
            "error code {:?} must be letters, digits and dots, like ThrottlingException",
            error.code
        ));
    }
    let status = error.status.unwrap_or_else(|| default_status(code));
    if !(400..=599).contains(&status) {
        return Err(format!("error status must be 400 to 599, not {status}"));
    }
    let message = error
        .message
        .clone()
        .unwrap_or_else(|| format!("{code} (injected by a Slipway fault rule)"));
    Ok(Effect::Error {
        code: code.to_string(),
        status,
        message,
    })
}

fn latency_effect(latency: &LatencySpec) -> Result<Effect, String> {
    let (min, max) = match (latency.ms, latency.min_ms, latency.max_ms) {
        (Some(ms), None, None) => (ms, ms),
        (None, Some(min), Some(max)) if min <= max => (min, max),
        (None, Some(min), Some(max)) => {
            return Err(format!("latency min_ms {min} is above max_ms {max}"));
        }
        _ => {
            return Err("latency is {\"ms\": N} or {\"min_ms\": N, \"max_ms\": M}".to_string());
        }
    };
    if max > MAX_LATENCY_MS {
        return Err(format!(
            "latency must be at most {MAX_LATENCY_MS} ms, not {max}"
        ));
    }
    Ok(Effect::Latency {
        min: Duration::from_millis(min),
        max: Duration::from_millis(max),
    })
}

/// Whether `name` matches `pattern`: exact, or a glob where `*` is any run of characters and
/// `?` any one.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let (pattern, name): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), name.chars().collect());
    // Iterative matching with one backtrack point: linear in practice, no recursion.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Result<Rule, String> {
        serde_json::from_str::<RuleSpec>(json)
            .map_err(|e| e.to_string())?
            .validate()
    }

    #[test]
    fn the_issues_example_is_a_rule() {
        let rule = spec(
            r#"{"actions": ["SendMessage", "SendMessageBatch"], "queue": "orders", "probability": 1.0,
                "error": {"code": "ServiceUnavailable", "status": 503}, "count": 10}"#,
        )
        .unwrap();
        assert_eq!(rule.count, Some(10));
        assert!(matches!(rule.effect, Effect::Error { status: 503, .. }));
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        for (json, says) in [
            (
                r#"{"actions": ["Send"], "drop_connection": true}"#,
                "unknown action",
            ),
            (
                r#"{"probability": 2, "drop_connection": true}"#,
                "probability",
            ),
            (r#"{}"#, "exactly one effect"),
            (
                r#"{"drop_connection": true, "duplicate": true}"#,
                "exactly one effect",
            ),
            (r#"{"error": {"code": "X", "status": 200}}"#, "400 to 599"),
            (r#"{"error": {"code": "bad code"}}"#, "letters, digits"),
            (r#"{"latency": {"ms": 1, "max_ms": 5}}"#, "latency is"),
            (r#"{"latency": {"min_ms": 9, "max_ms": 5}}"#, "above max_ms"),
            (r#"{"latency": {"ms": 999999}}"#, "at most"),
            (
                r#"{"actions": ["SendMessage"], "duplicate": true}"#,
                "ReceiveMessage only",
            ),
            (r#"{"drop_connection": true, "count": 0}"#, "at least 1"),
            (
                r#"{"drop_connection": true, "duration": "soon"}"#,
                "not a duration",
            ),
            (r#"{"queue": "", "drop_connection": true}"#, "empty"),
        ] {
            let error = spec(json).unwrap_err();
            assert!(error.contains(says), "{json}: {error}");
        }
        assert!(
            spec(r#"{"bogus": 1}"#)
                .unwrap_err()
                .contains("unknown field")
        );
    }

    #[test]
    fn known_codes_get_aws_statuses() {
        let rule = spec(r#"{"error": {"code": "ThrottlingException"}}"#).unwrap();
        assert!(matches!(rule.effect, Effect::Error { status: 400, .. }));
        let rule = spec(r#"{"error": {"code": "InternalError"}}"#).unwrap();
        assert!(matches!(rule.effect, Effect::Error { status: 500, .. }));
        let rule = spec(r#"{"latency": {"min_ms": 5, "max_ms": 9}, "duration": "30s"}"#).unwrap();
        assert_eq!(rule.duration, Some(Duration::from_secs(30)));
    }

    #[test]
    fn globs() {
        assert!(glob_matches("orders", "orders"));
        assert!(!glob_matches("orders", "orders-dlq"));
        assert!(glob_matches("orders*", "orders-dlq"));
        assert!(glob_matches("*-dlq", "orders-dlq"));
        assert!(glob_matches("o?ders", "orders"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("a*b*c", "axxbyy"));
    }
}
