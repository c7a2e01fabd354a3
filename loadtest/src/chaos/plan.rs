//! A chaos plan (`loadtest --chaos PLAN.toml`): a timeline of faults to apply during the load,
//! read and checked before any load starts, so a mistake costs nothing.
//!
//! ```toml
//! [[fault]]
//! at = "5s"
//! kind = "kill"            # kill | restart | pause | latency | sqs-error | sqs-duplicate | clock
//! target = "service"
//! duration = "3s"          # kill: started again after; pause: resumed; latency, sqs-*: removed
//! [[fault]]
//! at = "10s"
//! kind = "latency"
//! target = "postgres"      # a component with a proxy: postgres, redis
//! value = "300ms"
//! jitter = "50ms"
//! duration = "5s"
//! [[fault]]
//! at = "12s"
//! kind = "sqs-error"
//! target = "orders"        # a queue name or glob; "*" for every queue
//! value = "ServiceUnavailable"   # the AWS error code (status 503 unless `status`)
//! actions = ["ReceiveMessage"]   # default: every action
//! probability = 0.5
//! [[fault]]
//! at = "15s"
//! kind = "clock"
//! value = "60s"            # the emulator's clock moves forward this much
//! ```

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// Why a plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file cannot be read.
    #[error("cannot read the chaos plan {path}: {source}")]
    Read {
        /// Its path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// It is not a plan.
    #[error("the chaos plan {path} is not valid TOML for a plan: {message}")]
    Syntax {
        /// Its path.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// A fault is wrong.
    #[error("chaos plan, fault {index} (at {at}): {message}")]
    Fault {
        /// 1-based.
        index: usize,
        /// Its `at`, as written.
        at: String,
        /// What is wrong.
        message: String,
    },
}

/// A plan as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    fault: Vec<Written>,
}

/// One fault as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    at: String,
    kind: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    jitter: Option<String>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    probability: Option<f64>,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// SIGKILL to a component (started again after `duration`, if given).
    Kill,
    /// Stop a component and start it again.
    Restart,
    /// SIGSTOP to a component (resumed after `duration`, if given).
    Pause,
    /// Latency on a component's proxy.
    Latency {
        /// The delay.
        latency: Duration,
        /// Give or take.
        jitter: Duration,
    },
    /// An SQS fault rule answering with an AWS error.
    SqsError {
        /// The AWS error code.
        code: String,
        /// Its HTTP status.
        status: u16,
        /// The actions it hits (all when empty).
        actions: Vec<String>,
        /// How often it fires.
        probability: f64,
    },
    /// An SQS fault rule delivering received messages twice (visibility 0).
    SqsDuplicate {
        /// How often it fires.
        probability: f64,
    },
    /// The emulator's clock moves forward.
    Clock(Duration),
}

/// One fault of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// When, from the start of the load.
    pub at: Duration,
    /// What.
    pub action: Action,
    /// A component, or for SQS rules a queue name or glob.
    pub target: String,
    /// How long it lasts, when it ends by itself.
    pub duration: Option<Duration>,
}

impl Fault {
    /// For the report: `kill service for 3s` (without its time).
    pub fn describe(&self) -> String {
        let what = match &self.action {
            Action::Kill => format!("kill {}", self.target),
            Action::Restart => format!("restart {}", self.target),
            Action::Pause => format!("pause {}", self.target),
            Action::Latency { latency, jitter } if jitter.is_zero() => {
                format!("latency {} {}", self.target, human(*latency))
            }
            Action::Latency { latency, jitter } => format!(
                "latency {} {} ±{}",
                self.target,
                human(*latency),
                human(*jitter)
            ),
            Action::SqsError { code, .. } => format!("sqs-error {code} on {}", self.target),
            Action::SqsDuplicate { .. } => format!("sqs-duplicate on {}", self.target),
            Action::Clock(step) => format!("clock +{}", human(*step)),
        };
        let lasting = self
            .duration
            .map_or_else(String::new, |d| format!(" for {}", human(d)));
        format!("{what}{lasting}")
    }
}

fn human(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Reads and checks the plan at `path`; faults come out in time order.
pub fn load(path: &Path) -> Result<Vec<Fault>, PlanError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text).map_err(|error| match error {
        PlanError::Syntax { message, .. } => PlanError::Syntax {
            path: shown,
            message,
        },
        other => other,
    })
}

/// Parses and checks a plan.
pub fn parse(text: &str) -> Result<Vec<Fault>, PlanError> {
    let file: File = toml::from_str(text).map_err(|e| PlanError::Syntax {
        path: String::new(),
        message: e.to_string(),
    })?;
    let mut faults = file
        .fault
        .into_iter()
        .enumerate()
        .map(|(i, written)| {
            let at = written.at.clone();
            fault(written).map_err(|message| PlanError::Fault {
                index: i + 1,
                at,
                message,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    faults.sort_by_key(|f| f.at);
    Ok(faults)
}

fn duration(text: &str, what: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{what} `{text}` is not a duration (`5s`, `300ms`): {e}"))
}

fn fault(written: Written) -> Result<Fault, String> {
    let at = duration(&written.at, "`at`")?;
    let lasting = written
        .duration
        .as_deref()
        .map(|d| duration(d, "`duration`"))
        .transpose()?;
    let probability = written.probability.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&probability) || probability == 0.0 {
        return Err(format!("`probability` {probability} is not in (0, 1]"));
    }
    let value = |what: &str| {
        written
            .value
            .clone()
            .ok_or_else(|| format!("kind `{}` needs `value` ({what})", written.kind))
    };
    let action = match written.kind.as_str() {
        "kill" => Action::Kill,
        "restart" => Action::Restart,
        "pause" => Action::Pause,
        "latency" => Action::Latency {
            latency: duration(&value("the delay, `300ms`")?, "`value`")?,
            jitter: written
                .jitter
                .as_deref()
                .map_or(Ok(Duration::ZERO), |j| duration(j, "`jitter`"))?,
        },
        "sqs-error" => Action::SqsError {
            code: value("the AWS error code, `ServiceUnavailable`")?,
            status: written.status.unwrap_or(503),
            actions: written.actions.clone(),
            probability,
        },
        "sqs-duplicate" => Action::SqsDuplicate { probability },
        "clock" => Action::Clock(duration(&value("how far, `60s`")?, "`value`")?),
        other => {
            return Err(format!(
                "unknown kind `{other}`; kinds: kill, restart, pause, latency, sqs-error, \
                 sqs-duplicate, clock"
            ));
        }
    };
    let target = match (&action, written.target) {
        (Action::Clock(_), _) => String::new(),
        (Action::SqsError { .. } | Action::SqsDuplicate { .. }, target) => {
            target.unwrap_or_else(|| "*".into())
        }
        (_, Some(target)) => target,
        (_, None) => {
            return Err(format!(
                "kind `{}` needs a `target` component (service, postgres, redis, …)",
                written.kind
            ));
        }
    };
    if lasting.is_some() && matches!(action, Action::Restart | Action::Clock(_)) {
        return Err(format!("kind `{}` takes no `duration`", written.kind));
    }
    Ok(Fault {
        at,
        action,
        target,
        duration: lasting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_reads_in_time_order() {
        let plan = parse(
            r#"
            [[fault]]
            at = "10s"
            kind = "latency"
            target = "postgres"
            value = "300ms"
            duration = "5s"
            [[fault]]
            at = "5s"
            kind = "kill"
            target = "service"
            [[fault]]
            at = "12s"
            kind = "sqs-error"
            value = "ThrottlingException"
            status = 400
            actions = ["ReceiveMessage"]
            [[fault]]
            at = "15s"
            kind = "clock"
            value = "1m"
            "#,
        )
        .unwrap();
        assert_eq!(plan.len(), 4);
        assert_eq!(plan[0].action, Action::Kill);
        assert_eq!(plan[0].at, Duration::from_secs(5));
        assert_eq!(
            plan[1].action,
            Action::Latency {
                latency: Duration::from_millis(300),
                jitter: Duration::ZERO
            }
        );
        assert_eq!(plan[1].duration, Some(Duration::from_secs(5)));
        assert_eq!(plan[2].target, "*");
        assert!(matches!(
            &plan[2].action,
            Action::SqsError { status: 400, .. }
        ));
        assert_eq!(plan[3].action, Action::Clock(Duration::from_secs(60)));
        assert_eq!(plan[1].describe(), "latency postgres 300ms for 5s");
    }

    #[test]
    fn a_wrong_fault_is_refused_with_where_and_why() {
        let error = parse("[[fault]]\nat = \"1s\"\nkind = \"explode\"\ntarget = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("fault 1") && error.contains("unknown kind `explode`"),
            "{error}"
        );
        let error = parse("[[fault]]\nat = \"soon\"\nkind = \"kill\"\ntarget = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a duration"), "{error}");
        let error = parse("[[fault]]\nat = \"1s\"\nkind = \"kill\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("needs a `target`"), "{error}");
        let error = parse("[[fault]]\nat = \"1s\"\nkind = \"latency\"\ntarget = \"redis\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("needs `value`"), "{error}");
        let error = parse("[[fault]]\nat = \"1s\"\nkind = \"kill\"\ntarget = \"x\"\nwhen = 1")
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field"), "{error}");
    }
}
