//! What a process group uses, from Linux's `/proc`: resident memory and CPU time, summed over
//! every process of the group; and a process's descendants (Postgres serves each connection
//! from a process of its own, which makes itself a group leader, so signalling the
//! postmaster's group does not reach it). Elsewhere (macOS) nothing is known: `None`, or no
//! descendants.

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

/// The parent of a process, from the fields of `/proc/<pid>/stat` after the command name.
fn parent_of(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every process descended from `root` (children, their children…), parents before children.
pub fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parent_of(&stat)?))
        })
        .collect();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, _) in parents
            .iter()
            .filter(|(pid, ppid)| *ppid == parent && *pid != root)
        {
            if !found.contains(pid) {
                found.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    found
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
    fn a_child_is_a_descendant() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let found = descendants(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&child.id()), "{found:?}");
        assert_eq!(parent_of("1 (a) b) S 42 1 1"), Some(42));
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
