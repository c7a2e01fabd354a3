//! Faults on a running stack's components, as the control channel carries them: process
//! faults (`devstack chaos kill|restart|pause|resume COMPONENT [--for DURATION]`), network
//! faults on the TCP proxies in front of Postgres and Redis (`devstack chaos latency|bandwidth|
//! reset-peer|timeout COMPONENT …`, Toxiproxy's "toxics"), and the faults in force as the
//! channel reports them (`devstack chaos list`, `devstack status`, the TUI).

use serde::{Deserialize, Serialize};

/// What is done to a component's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessFault {
    /// SIGKILL to its process group: a crash. With a duration, it is started again after it.
    Kill,
    /// Stop it and start it again (same port, same data).
    Restart,
    /// SIGSTOP to its process group: a hung dependency, which accepts connections and never
    /// answers. With a duration, it is resumed after it.
    Pause,
    /// SIGCONT: a paused component runs again.
    Resume,
}

impl ProcessFault {
    /// Its name, as on the command line and the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kill => "kill",
            Self::Restart => "restart",
            Self::Pause => "pause",
            Self::Resume => "resume",
        }
    }
}

/// A fault in force on a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveFault {
    /// The component.
    pub component: String,
    /// `kill` (it stays down) or `pause`.
    pub fault: ProcessFault,
    /// When it was done, ms since the epoch.
    pub since_unix_ms: i64,
    /// When it is undone by itself, ms since the epoch (`--for`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_unix_ms: Option<i64>,
}

/// A network fault on a component's proxy (Toxiproxy's toxics, with its meanings). Latency
/// and bandwidth act on what the component sends back (Toxiproxy's default "downstream"
/// stream), so a request–response client sees them once per round trip; timeout and
/// reset-peer act on the whole connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Toxic {
    /// Every chunk the component sends is held `latency_ms`, give or take up to `jitter_ms`
    /// (uniformly), keeping their order.
    Latency {
        /// The delay, ms.
        latency_ms: u64,
        /// Up to this much more or less, ms.
        #[serde(default)]
        jitter_ms: u64,
    },
    /// What the component sends flows at most `rate_kbps` KB (1,000 bytes) per second.
    Bandwidth {
        /// KB per second (at least 1).
        rate_kbps: u64,
    },
    /// Connections are cut with a TCP reset `timeout_ms` after the fault starts (or after
    /// they open, for later ones); 0 cuts them at once.
    ResetPeer {
        /// Delay before the reset, ms.
        #[serde(default)]
        timeout_ms: u64,
    },
    /// A black hole: no data gets through either way; connections are closed after
    /// `timeout_ms`, or held open while it lasts when 0.
    Timeout {
        /// Delay before closing, ms (0: never).
        #[serde(default)]
        timeout_ms: u64,
    },
}

impl Toxic {
    /// Its kind's name, as on the command line (`latency`, `bandwidth`, `reset-peer`,
    /// `timeout`). A proxy holds at most one toxic of each kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Latency { .. } => "latency",
            Self::Bandwidth { .. } => "bandwidth",
            Self::ResetPeer { .. } => "reset-peer",
            Self::Timeout { .. } => "timeout",
        }
    }

    /// Its kind and size, for people: `latency 200ms ±50ms`, `bandwidth 64 KB/s`,
    /// `reset-peer after 1s`, `timeout`.
    pub fn describe(&self) -> String {
        match *self {
            Self::Latency {
                latency_ms,
                jitter_ms: 0,
            } => format!("latency {}", millis(latency_ms)),
            Self::Latency {
                latency_ms,
                jitter_ms,
            } => format!("latency {} ±{}", millis(latency_ms), millis(jitter_ms)),
            Self::Bandwidth { rate_kbps } => format!("bandwidth {rate_kbps} KB/s"),
            Self::ResetPeer { timeout_ms: 0 } => "reset-peer".into(),
            Self::ResetPeer { timeout_ms } => format!("reset-peer after {}", millis(timeout_ms)),
            Self::Timeout { timeout_ms: 0 } => "timeout (a black hole)".into(),
            Self::Timeout { timeout_ms } => {
                format!(
                    "timeout (a black hole, closed after {})",
                    millis(timeout_ms)
                )
            }
        }
    }

    /// What is wrong with it, if anything (a bandwidth of 0 would stop the flow: that is
    /// `timeout`).
    pub fn check(&self) -> Result<(), String> {
        const DAY_MS: u64 = 86_400_000;
        let too_long = |ms: u64, what: &str| {
            if ms > DAY_MS {
                Err(format!("{what} of {ms} ms is more than a day"))
            } else {
                Ok(())
            }
        };
        match *self {
            Self::Latency {
                latency_ms,
                jitter_ms,
            } => {
                too_long(latency_ms, "a latency")?;
                too_long(jitter_ms, "a jitter")
            }
            Self::Bandwidth { rate_kbps: 0 } => {
                Err("a bandwidth of 0 KB/s stops all data: use `timeout` for that".into())
            }
            Self::Bandwidth { .. } => Ok(()),
            Self::ResetPeer { timeout_ms } | Self::Timeout { timeout_ms } => {
                too_long(timeout_ms, "a timeout")
            }
        }
    }
}

/// `ms` for people: `250ms`, `2s`, `1.5s`.
fn millis(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{}s", ms as f64 / 1_000.0)
    }
}

/// A toxic in force on a component's proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveToxic {
    /// The component behind the proxy.
    pub component: String,
    /// The fault.
    pub toxic: Toxic,
    /// When it was added, ms since the epoch.
    pub since_unix_ms: i64,
    /// When it is removed by itself, ms since the epoch (`--for`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_unix_ms: Option<i64>,
}

/// A TCP proxy devstack runs in front of a component: the address apps are handed, the one
/// it forwards to, and its traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyStatus {
    /// The component behind it (`postgres`, `redis`).
    pub component: String,
    /// Where it listens (`127.0.0.1:PORT`): what `DATABASE_URL` / `REDIS_URL` name.
    pub listen: String,
    /// Where it forwards to.
    pub upstream: String,
    /// Connections open now.
    pub connections: u64,
    /// Connections accepted since it started.
    pub accepted: u64,
    /// Its toxics, in the order they were added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub toxics: Vec<ActiveToxic>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_and_write_as_lowercase_names() {
        let fault: ProcessFault = serde_json::from_str("\"pause\"").unwrap();
        assert_eq!(fault, ProcessFault::Pause);
        assert_eq!(
            serde_json::to_string(&ProcessFault::Kill).unwrap(),
            "\"kill\""
        );
        assert_eq!(ProcessFault::Resume.as_str(), "resume");
    }

    #[test]
    fn toxics_read_and_write_tagged_by_type() {
        let toxic: Toxic =
            serde_json::from_str(r#"{"type":"latency","latency_ms":200,"jitter_ms":50}"#).unwrap();
        assert_eq!(
            toxic,
            Toxic::Latency {
                latency_ms: 200,
                jitter_ms: 50
            }
        );
        let reset: Toxic = serde_json::from_str(r#"{"type":"reset_peer"}"#).unwrap();
        assert_eq!(reset, Toxic::ResetPeer { timeout_ms: 0 });
        assert_eq!(reset.kind(), "reset-peer");
        assert_eq!(
            Toxic::Latency {
                latency_ms: 1_500,
                jitter_ms: 50
            }
            .describe(),
            "latency 1.5s ±50ms"
        );
    }

    #[test]
    fn a_toxic_that_cannot_work_is_refused_with_the_reason() {
        let error = Toxic::Bandwidth { rate_kbps: 0 }.check().unwrap_err();
        assert!(error.contains("timeout"), "{error}");
        assert!(
            Toxic::Latency {
                latency_ms: 100_000_000,
                jitter_ms: 0
            }
            .check()
            .is_err()
        );
        assert!(Toxic::Timeout { timeout_ms: 0 }.check().is_ok());
    }
}
