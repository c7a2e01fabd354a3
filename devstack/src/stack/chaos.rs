//! Process faults on a component (`devstack chaos`): signals to its process group and to every
//! process descended from it — Postgres's backends make themselves group leaders, so the
//! group alone would pause the postmaster and leave the connections it serves answering — and
//! the record of the fault in force.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use slipway_contracts::chaos::{ActiveFault, ProcessFault};

use crate::launch::LaunchError;

/// Sends `signal` to the process group of `name`'s process `pid` (`what` names the fault in
/// the error when there is no process of its own to signal).
pub fn signal_group(
    name: &str,
    pid: Option<u32>,
    signal: Signal,
    what: &str,
) -> Result<(), LaunchError> {
    let Some(pid) = pid else {
        return Err(LaunchError::Unsupported(format!(
            "{name} has no process of its own to {what} (it is stopped, embedded in devstack, \
             a container or an external URL); for the embedded SQS emulator use its fault \
             rules: POST /_slipway/faults"
        )));
    };
    let group = i32::try_from(pid)
        .map(Pid::from_raw)
        .map_err(|_| LaunchError::Io(format!("{name}: pid {pid} out of range")))?;
    killpg(group, signal).map_err(|e| LaunchError::Io(format!("{name}: cannot {what}: {e}")))?;
    // After the group: a stopped parent forks no new child while its children are listed.
    for child in crate::procstat::descendants(pid) {
        if let Ok(child) = i32::try_from(child) {
            let _ = kill(Pid::from_raw(child), signal);
        }
    }
    Ok(())
}

/// The record of a fault done now to `component`, undone by itself at `until_unix_ms`.
pub fn record(component: &str, fault: ProcessFault, until_unix_ms: Option<i64>) -> ActiveFault {
    ActiveFault {
        component: component.to_string(),
        fault,
        since_unix_ms: now_unix_ms(),
        until_unix_ms,
    }
}

/// Now, ms since the epoch.
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
