//! Applies a chaos plan during the load: one task that sleeps until each fault's time and
//! carries it out — process and network faults through the running stack's control socket
//! (as `devstack chaos` does), SQS fault rules and clock steps through the emulator's
//! `/_slipway` API — and records what happened. When the load ends, what the plan left in
//! force is undone (`devstack chaos reset`, the plan's SQS rules deleted), so that the
//! reconciliation measures recovery, not a stack still broken.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::json;
use slipway_contracts::chaos::{ProcessFault, Toxic};
use slipway_contracts::client;
use slipway_contracts::control::Request;

use super::plan::{Action, Fault};

/// Where faults are sent.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The running stack's control socket, when there is one.
    pub control: Option<PathBuf>,
    /// The SQS emulator's base URL, when known.
    pub sqs: Option<String>,
}

/// One fault as it was carried out.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The fault, for people.
    pub fault: String,
    /// When it was carried out, from the start of the load.
    pub at: Duration,
    /// Why it could not be, if it could not.
    pub error: Option<String>,
}

/// A plan running alongside the load.
pub struct Timeline {
    task: tokio::task::JoinHandle<()>,
    applied: Arc<Mutex<Vec<Applied>>>,
    endpoints: Endpoints,
    rules: Arc<Mutex<Vec<String>>>,
    planned: usize,
    // Whether the plan acts through the control socket (then it is reset at the end).
    controls: bool,
}

impl Timeline {
    /// Starts the plan now (the start of the load).
    pub fn start(faults: Vec<Fault>, endpoints: Endpoints) -> Self {
        let applied = Arc::new(Mutex::new(Vec::new()));
        let rules = Arc::new(Mutex::new(Vec::new()));
        let planned = faults.len();
        let controls = faults.iter().any(|f| {
            matches!(
                f.action,
                Action::Kill | Action::Restart | Action::Pause | Action::Latency { .. }
            )
        });
        let task = tokio::spawn(run(
            faults,
            endpoints.clone(),
            applied.clone(),
            rules.clone(),
        ));
        Self {
            task,
            applied,
            endpoints,
            rules,
            planned,
            controls,
        }
    }

    /// Stops the plan (faults not yet due are skipped), undoes what is in force, and returns
    /// what was carried out and how many faults were skipped.
    pub async fn finish(self) -> (Vec<Applied>, usize) {
        self.task.abort();
        let _ = self.task.await;
        if let (Some(socket), true) = (&self.endpoints.control, self.controls)
            && let Err(error) = client::carried_out(socket, &Request::ChaosReset).await
        {
            eprintln!("note: cannot undo the plan's faults: {error}");
        }
        if let Some(sqs) = &self.endpoints.sqs {
            let http = reqwest::Client::new();
            let ids = std::mem::take(&mut *self.rules.lock());
            for id in ids {
                let _ = http
                    .delete(format!(
                        "{}/_slipway/faults/{id}",
                        sqs.trim_end_matches('/')
                    ))
                    .send()
                    .await;
            }
        }
        let applied = std::mem::take(&mut *self.applied.lock());
        let skipped = self.planned - applied.len();
        (applied, skipped)
    }
}

async fn run(
    faults: Vec<Fault>,
    endpoints: Endpoints,
    applied: Arc<Mutex<Vec<Applied>>>,
    rules: Arc<Mutex<Vec<String>>>,
) {
    let started = Instant::now();
    let http = reqwest::Client::new();
    for fault in faults {
        tokio::time::sleep_until((started + fault.at).into()).await;
        let result = apply(&fault, &endpoints, &http).await;
        let error = match result {
            Ok(Some(rule)) => {
                rules.lock().push(rule);
                None
            }
            Ok(None) => None,
            Err(error) => Some(error),
        };
        applied.lock().push(Applied {
            fault: fault.describe(),
            at: started.elapsed(),
            error,
        });
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Carries out one fault; an SQS rule's id when it added one.
async fn apply(
    fault: &Fault,
    endpoints: &Endpoints,
    http: &reqwest::Client,
) -> Result<Option<String>, String> {
    let for_ms = fault.duration.map(millis);
    let request = match &fault.action {
        Action::Kill => Some(process(ProcessFault::Kill, fault, for_ms)),
        Action::Restart => Some(process(ProcessFault::Restart, fault, None)),
        Action::Pause => Some(process(ProcessFault::Pause, fault, for_ms)),
        Action::Latency { latency, jitter } => Some(Request::Toxic {
            toxic: Toxic::Latency {
                latency_ms: millis(*latency),
                jitter_ms: millis(*jitter),
            },
            component: fault.target.clone(),
            for_ms,
        }),
        _ => None,
    };
    if let Some(request) = request {
        let socket = endpoints
            .control
            .as_ref()
            .ok_or("no running devstack to send process and network faults to")?;
        client::carried_out(socket, &request)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(None);
    }
    let sqs = endpoints
        .sqs
        .as_deref()
        .ok_or("no SQS emulator endpoint for SQS faults and the clock")?
        .trim_end_matches('/');
    match &fault.action {
        Action::Clock(step) => {
            post(
                http,
                &format!("{sqs}/_slipway/clock/advance"),
                json!({ "seconds": step.as_secs_f64() }),
            )
            .await?;
            Ok(None)
        }
        action => {
            let rule = sqs_rule(action, fault);
            let answer = post(http, &format!("{sqs}/_slipway/faults"), rule).await?;
            Ok(answer["id"].as_str().map(str::to_string))
        }
    }
}

fn process(fault: ProcessFault, planned: &Fault, for_ms: Option<u64>) -> Request {
    Request::Chaos {
        fault,
        component: planned.target.clone(),
        for_ms,
    }
}

/// The emulator's fault rule for an SQS fault.
fn sqs_rule(action: &Action, fault: &Fault) -> serde_json::Value {
    let mut rule = match action {
        Action::SqsError {
            code,
            status,
            actions,
            probability,
        } => json!({
            "actions": actions,
            "probability": probability,
            "error": { "code": code, "status": status },
        }),
        Action::SqsDuplicate { probability } => json!({
            "actions": ["ReceiveMessage"],
            "probability": probability,
            "duplicate": true,
        }),
        _ => json!({}),
    };
    if fault.target != "*" {
        rule["queue"] = json!(fault.target);
    }
    if let Some(duration) = fault.duration {
        rule["duration"] = json!(format!("{}ms", millis(duration)));
    }
    rule
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let response = http
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("{url} answered {status}: {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_faults_become_the_emulators_rules() {
        let fault = Fault {
            at: Duration::ZERO,
            action: Action::SqsError {
                code: "ServiceUnavailable".into(),
                status: 503,
                actions: vec!["ReceiveMessage".into()],
                probability: 0.5,
            },
            target: "orders".into(),
            duration: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            sqs_rule(&fault.action, &fault),
            json!({
                "actions": ["ReceiveMessage"],
                "probability": 0.5,
                "error": {"code": "ServiceUnavailable", "status": 503},
                "queue": "orders",
                "duration": "2000ms",
            })
        );
        let everywhere = Fault {
            action: Action::SqsDuplicate { probability: 1.0 },
            target: "*".into(),
            duration: None,
            ..fault
        };
        let rule = sqs_rule(&everywhere.action, &everywhere);
        assert_eq!(rule["duplicate"], json!(true));
        assert!(rule.get("queue").is_none());
    }
}
