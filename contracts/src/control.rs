//! The control channel of a running `devstack up`: a Unix socket at `.devstack/control.sock`
//! (owner-only), one JSON object a line, one answer a request. `devstack restart|stop|start`
//! and `devstack status` are its clients; the TUI will be one too.
//!
//! ```text
//! → {"command":"restart","component":"redis"}
//! ← {"ok":true,"components":[{"name":"redis","state":"ready","pid":4242,…},…]}
//! → {"command":"start","component":"mysql"}
//! ← {"ok":false,"error":"no component `mysql`; there are: postgres, redis, sqs, service"}
//! ```

use serde::{Deserialize, Serialize};

use crate::state::Backend;

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
}

/// The answer: every component's status after the request, or why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request was carried out.
    pub ok: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every component, in start order.
    #[serde(default)]
    pub components: Vec<ComponentStatus>,
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
    }

    #[test]
    fn states_are_lowercase_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&ComponentState::Ready).unwrap(),
            "\"ready\""
        );
    }
}
