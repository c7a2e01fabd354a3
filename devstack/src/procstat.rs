//! What a process group uses, from Linux's `/proc`: resident memory and CPU time, summed over
//! every process of the group (Postgres serves each connection from a process of its own, in
//! the postmaster's group). Elsewhere (macOS) nothing is known and `None` is answered.

use std::time::Duration;

/// Clock ticks per second in `/proc/<pid>/stat` (USER_HZ: 100 on every Linux that matters).
const TICKS_PER_SECOND: f64 = 100.0;
/// `/proc/<pid>/stat` counts resident memory in pages.
const PAGE_BYTES: u64 = 4096;

/// A group's usage at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// CPU time so far (user + system), ticks.
    pub cpu_ticks: u64,
}

/// The fields of `/proc/<pid>/stat` after the command name: (process group, CPU ticks, RSS
/// pages).
fn parse_stat(stat: &str) -> Option<(u32, u64, u64)> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let group = fields.get(2)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let rss: u64 = fields.get(21)?.parse().ok()?;
    Some((group, utime + stime, rss))
}

/// The usage of process group `group` (or of the process `group` alone with `whole = false`).
pub fn usage(group: u32, whole: bool) -> Option<Usage> {
    let mut total = Usage::default();
    let mut found = false;
    let pids: Vec<u32> = if whole {
        std::fs::read_dir("/proc")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect()
    } else {
        vec![group]
    };
    for pid in pids {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((pgrp, ticks, pages)) = parse_stat(&stat) else {
            continue;
        };
        if whole && pgrp != group {
            continue;
        }
        found = true;
        total.rss_bytes += pages * PAGE_BYTES;
        total.cpu_ticks += ticks;
    }
    found.then_some(total)
}

/// CPU use between two samples `elapsed` apart, in percent of one core.
pub fn cpu_percent(before: Usage, after: Usage, elapsed: Duration) -> f64 {
    let ticks = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64;
    let seconds = elapsed.as_secs_f64().max(1e-3);
    100.0 * ticks / TICKS_PER_SECOND / seconds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_even_with_spaces_in_the_name() {
        let line = "4242 (postgres: a b) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 100 1000000 250 18446744073709551615";
        assert_eq!(parse_stat(line), Some((4242, 10, 250)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_uses_memory() {
        let me = usage(std::process::id(), false).expect("Linux /proc");
        assert!(me.rss_bytes > 1 << 20, "{me:?}");
        assert!(
            (cpu_percent(
                Usage {
                    rss_bytes: 0,
                    cpu_ticks: 0
                },
                Usage {
                    rss_bytes: 0,
                    cpu_ticks: 50
                },
                Duration::from_secs(1)
            ) - 50.0)
                .abs()
                < 1e-9
        );
    }
}
