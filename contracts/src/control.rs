//! The control channel of a running `devstack up`: a Unix socket at `.devstack/control.sock`
//! (owner-only), one JSON object a line, one answer a request. `devstack restart|stop|start`,
//! `devstack status` and the TUI's Components and Logs views are its clients.
//!
//! ```text
//! → {"command":"restart","component":"redis"}
//! ← {"ok":true,"components":[{"name":"redis","state":"ready","pid":4242,…},…]}
//! → {"command":"start","component":"mysql"}
//! ← {"ok":false,"error":"no component `mysql`; there are: postgres, redis, sqs, service"}
//! → {"command":"logs","after":120}
//! ← {"ok":true,"logs":[{"seq":121,"at_unix_ms":…,"component":"redis","level":"info","text":"…"},…]}
//! → {"command":"trace","query":{"by":"order_id","id":"…"}}
//! ← {"ok":true,"spans":[{"trace_id":"…","span_id":"…","parent_span_id":null,"name":"…",…},…]}
//! ```

use serde::{Deserialize, Serialize};

use crate::chaos::{ActiveFault, ProcessFault, ProxyStatus, Toxic};
use crate::state::Backend;
use crate::trace::{Span, TraceQuery, TraceSummary};

/// The socket's file name under `.devstack/`.
pub const SOCKET_FILE: &str = "control.sock";

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "lowercase")]
pub enum Request {
    /// Every component's status.
    Status,
    /// Stop a component, then start it again (same port, same data).
    Restart {
        /// Its name.
        component: String,
    },
    /// Stop a component (it stays in the stack, stopped).
    Stop {
        /// Its name.
        component: String,
    },
    /// Start a stopped component.
    Start {
        /// Its name.
        component: String,
    },
    /// The merged log lines the running `up` has seen since line `after` (0: the oldest it
    /// still keeps), oldest first; at most `limit` of them (the server's default when absent).
    /// Answered with `logs` and no `components`.
    Logs {
        /// The last `seq` the client has.
        #[serde(default)]
        after: u64,
        /// Most lines in one answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
    /// The spans of the traces `query` selects, from the stack's collector. Answered with
    /// `spans` and no `components`.
    Trace {
        /// Which journey.
        query: TraceQuery,
    },
    /// The most recent traces the collector holds, newest first. Answered with `traces`.
    Traces {
        /// Most traces (the server's default when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
    /// A process fault on a component (`devstack chaos`).
    Chaos {
        /// What to do.
        fault: ProcessFault,
        /// To which component.
        component: String,
        /// Undo it after this many ms (a kill is followed by a start, a pause by a resume).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// A network fault on a component's proxy (`devstack chaos latency|bandwidth|reset-peer|
    /// timeout`); it replaces a toxic of the same kind.
    Toxic {
        /// The fault.
        toxic: Toxic,
        /// On which component's proxy.
        component: String,
        /// Remove it after this many ms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// Undo every fault (`devstack chaos reset`): toxics removed, paused components resumed,
    /// killed ones started again.
    ChaosReset,
}

impl Request {
    /// The component a restart, stop or start is about.
    pub fn component(&self) -> Option<&str> {
        match self {
            Self::Restart { component }
            | Self::Stop { component }
            | Self::Start { component }
            | Self::Chaos { component, .. }
            | Self::Toxic { component, .. } => Some(component),
            Self::Status
            | Self::Logs { .. }
            | Self::Trace { .. }
            | Self::Traces { .. }
            | Self::ChaosReset => None,
        }
    }
}

/// The answer: every component's status after the request, or why it failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request was carried out.
    pub ok: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every component, in start order.
    #[serde(default)]
    pub components: Vec<ComponentStatus>,
    /// Log lines, for a `logs` request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogLine>,
    /// Spans, for a `trace` request, ordered by start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// Recent traces, for a `traces` request, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<TraceSummary>,
    /// Process faults in force, with every component list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<ActiveFault>,
    /// The TCP proxies in front of components, with their toxics, with every component list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<ProxyStatus>,
}

/// How severe a log line is, in the order a minimum-level filter compares them. Each
/// component's own words are mapped onto these (Postgres `WARNING` is `warn`, Redis `#` is
/// `warn`, `FATAL` is `error`, …); a line that says nothing is `info`, or its first line's level
/// when it continues one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Finest detail.
    Trace,
    /// Detail for debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Something unusual, handled.
    Warn,
    /// Something failed.
    Error,
}

impl LogLevel {
    /// Its lowercase name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// One line of one component's log, as the running `up` merged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Its place in the merged stream: increasing, never reused while `up` runs.
    pub seq: u64,
    /// When it was written (the line's own time, or its first line's), in ms since the epoch.
    pub at_unix_ms: i64,
    /// Whose line (`postgres`, `redis`, `service`, `service-build`, …).
    pub component: String,
    /// How severe.
    pub level: LogLevel,
    /// The line for people (a JSON line of the service is rendered as time, level, message,
    /// fields).
    pub text: String,
}

/// Where a component is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentState {
    /// Being started.
    Starting,
    /// Started and ready.
    Ready,
    /// Running, but its code changed and the rebuild failed: the old build still serves
    /// (`error` says why).
    Stale,
    /// Stopped on request.
    Stopped,
    /// Its processes are stopped by `devstack chaos pause` (SIGSTOP): it holds its
    /// connections and answers nothing.
    Paused,
    /// Its last start failed, or it exited by itself.
    Failed,
}

/// One component, as the running `up` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// `postgres`, `redis`, `sqs`, `service`, …
    pub name: String,
    /// How it is provided.
    pub backend: Backend,
    /// Its URL (with the password: redact before showing).
    pub url: String,
    /// The process serving it, when devstack started one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Its state.
    pub state: ComponentState,
    /// Milliseconds since it was last started (0 when not running).
    pub uptime_ms: u64,
    /// How often it was started again after the first time.
    pub restarts: u32,
    /// The last failure, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    /// A failed request.
    pub fn failure(error: impl Into<String>) -> Self {
        Self {
            ok: false,
            error: Some(error.into()),
            components: Vec::new(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_json_lines() {
        let restart = Request::Restart {
            component: "redis".into(),
        };
        let text = serde_json::to_string(&restart).unwrap();
        assert_eq!(text, r#"{"command":"restart","component":"redis"}"#);
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), restart);
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"command":"status"}"#).unwrap(),
            Request::Status
        );
        assert!(serde_json::from_str::<Request>(r#"{"command":"explode"}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"command":"logs"}"#).unwrap(),
            Request::Logs {
                after: 0,
                limit: None
            }
        );
    }

    #[test]
    fn levels_order_from_trace_to_error() {
        assert!(LogLevel::Warn > LogLevel::Info);
        assert!(LogLevel::Error > LogLevel::Warn);
        assert_eq!(serde_json::to_string(&LogLevel::Warn).unwrap(), "\"warn\"");
        assert_eq!(LogLevel::Debug.as_str(), "debug");
    }

    #[test]
    fn states_are_lowercase_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&ComponentState::Ready).unwrap(),
            "\"ready\""
        );
    }
}
