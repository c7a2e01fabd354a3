//! A running `devstack up`, through its control socket (`contracts::control`: one JSON line
//! each way): every component's status, the log lines new since the last look, the traces the
//! Traces view asks for, and restart, stop and start. A socket that does not exist means no stack runs; one that does not answer
//! in time is reported and asked again next refresh.

use std::path::PathBuf;
use std::time::Duration;

use slipway_contracts::control::{LogLine, Request, Response};
use slipway_contracts::trace::{Span, TraceQuery, TraceSummary};

use crate::model::{StackFeed, StackReport, TraceFeed, TraceRead, Verb};

/// How long a status or logs request may take (a restart in progress holds the stack).
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a restart, stop or start may take (an app drains on stop).
const ACT_TIMEOUT: Duration = Duration::from_secs(90);
/// Log requests in one refresh, at most, to catch up with a long stream.
const LOG_ROUNDS: usize = 5;
/// Lines asked for in one logs request.
const LOG_LIMIT: usize = 2_000;

/// The control socket of the stack being watched, and how far its logs were read.
#[derive(Debug)]
pub struct StackReader {
    socket: Option<PathBuf>,
    after: u64,
}

impl StackReader {
    /// A reader of the stack at `socket`, if there is one.
    pub fn new(socket: Option<PathBuf>) -> Self {
        Self { socket, after: 0 }
    }

    /// Every component's status.
    pub async fn components(&self) -> StackFeed {
        let Some(socket) = &self.socket else {
            return StackFeed::NoStack;
        };
        match request(socket, &Request::Status, READ_TIMEOUT).await {
            Ok(response) => {
                let chaos = response
                    .faults
                    .iter()
                    .map(|f| format!("{} {}", f.component, f.fault.as_str()))
                    .chain(response.proxies.iter().flat_map(|p| {
                        p.toxics
                            .iter()
                            .map(|t| format!("{} {}", t.component, t.toxic.describe()))
                    }))
                    .collect();
                StackFeed::Components(StackReport {
                    components: response.components,
                    chaos,
                })
            }
            Err(error) => StackFeed::Unreachable(error),
        }
    }

    /// The log lines new since the last call (none when the stack does not answer).
    pub async fn new_logs(&mut self) -> Vec<LogLine> {
        let Some(socket) = &self.socket else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        for _ in 0..LOG_ROUNDS {
            let ask = Request::Logs {
                after: self.after,
                limit: Some(LOG_LIMIT),
            };
            let Ok(response) = request(socket, &ask, READ_TIMEOUT).await else {
                break;
            };
            let count = response.logs.len();
            if let Some(last) = response.logs.last() {
                self.after = last.seq;
            }
            lines.extend(response.logs);
            if count < LOG_LIMIT {
                break;
            }
        }
        lines
    }

    /// What the Traces view asked for, when it asked.
    pub async fn traces(&self, read: &TraceRead) -> Option<TraceFeed> {
        let socket = self.socket.as_ref()?;
        let ask = |asked: Request| async move {
            let response = request(socket, &asked, READ_TIMEOUT).await?;
            if response.ok {
                Ok(response)
            } else {
                Err(response
                    .error
                    .unwrap_or_else(|| "the request failed".into()))
            }
        };
        let feed = match read {
            TraceRead::Nothing => return None,
            TraceRead::Recent => ask(Request::Traces { limit: None })
                .await
                .map(|r| TraceFeed::List(r.traces)),
            TraceRead::Trace(id) => ask(Request::Trace {
                query: TraceQuery::TraceId(id.clone()),
            })
            .await
            .map(|r| TraceFeed::Spans(id.clone(), r.spans)),
            TraceRead::Search(text) => {
                let mut found = Ok(Vec::new());
                for query in queries_for(text) {
                    found = ask(Request::Trace { query }).await.map(|r| r.spans);
                    if found.as_ref().is_ok_and(|spans| !spans.is_empty()) {
                        break;
                    }
                }
                found.map(|spans| TraceFeed::List(summaries(&spans)))
            }
        };
        Some(feed.unwrap_or_else(TraceFeed::Unavailable))
    }

    /// Restarts, stops or starts `name`; what happened, for the status line.
    pub async fn act(&self, verb: Verb, name: &str) -> Result<String, String> {
        let socket = self.socket.as_ref().ok_or("no devstack is running here")?;
        let component = name.to_owned();
        let ask = match verb {
            Verb::Restart => Request::Restart { component },
            Verb::Stop => Request::Stop { component },
            Verb::Start => Request::Start { component },
        };
        let response = request(socket, &ask, ACT_TIMEOUT).await?;
        if response.ok {
            let done = match verb {
                Verb::Restart => "restarted",
                Verb::Stop => "stopped",
                Verb::Start => "started",
            };
            Ok(format!("{done} {name}"))
        } else {
            Err(response
                .error
                .unwrap_or_else(|| format!("could not {} {name}", verb.as_str())))
        }
    }
}

/// What a search text may be: a trace id (32 hex digits), else an order id or a message id.
pub fn queries_for(text: &str) -> Vec<TraceQuery> {
    let text = text.trim();
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        vec![TraceQuery::TraceId(text.to_ascii_lowercase())]
    } else {
        vec![
            TraceQuery::OrderId(text.to_string()),
            TraceQuery::MessageId(text.to_string()),
        ]
    }
}

/// Spans of several traces as their summaries, newest first.
fn summaries(spans: &[Span]) -> Vec<TraceSummary> {
    let mut by_trace: Vec<(&str, Vec<&Span>)> = Vec::new();
    for span in spans {
        match by_trace.iter_mut().find(|(id, _)| *id == span.trace_id) {
            Some((_, list)) => list.push(span),
            None => by_trace.push((&span.trace_id, vec![span])),
        }
    }
    let mut list: Vec<TraceSummary> = by_trace
        .iter()
        .filter_map(|(_, spans)| TraceSummary::of(spans))
        .collect();
    list.sort_by_key(|t| std::cmp::Reverse(t.start_unix_nano));
    list
}

/// One request, one answer, within `timeout`.
async fn request(
    socket: &std::path::Path,
    request: &Request,
    timeout: Duration,
) -> Result<Response, String> {
    let exchange = async {
        slipway_contracts::client::request(socket, request)
            .await
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("the stack did not answer within {} s", timeout.as_secs()))?
}
