//! Process faults on a running stack's components (`devstack chaos kill|restart|pause|resume
//! COMPONENT [--for DURATION]`): what a client asks over the control channel, and the faults
//! in force as the channel reports them (`devstack chaos list`, `devstack status`, the TUI).

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
}
