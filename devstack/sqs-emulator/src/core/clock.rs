//! Time as the core sees it: milliseconds since the Unix epoch, read through a [`Clock`] so
//! that time can be moved by hand: by tests ([`ManualClock`]), and by a developer on a running
//! emulator ([`VirtualClock`], `POST /_slipway/clock/advance`), so that visibility timeouts,
//! delays, retention and deduplication windows pass without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Now, in milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;

    /// Moves time forward by `by`, if this clock can be moved; whether it was.
    fn advance(&self, by: Duration) -> bool {
        let _ = by;
        false
    }

    /// How far this clock has been moved ahead of the time it follows, in milliseconds.
    fn offset_millis(&self) -> u64 {
        0
    }
}

/// The system's wall clock plus an offset that only grows: the emulator's clock. Time follows
/// the wall clock and jumps forward when advanced; it never goes backwards.
#[derive(Debug, Default)]
pub struct VirtualClock {
    offset: AtomicU64,
}

impl Clock for VirtualClock {
    fn now_millis(&self) -> u64 {
        SystemClock
            .now_millis()
            .saturating_add(self.offset.load(Ordering::SeqCst))
    }

    fn advance(&self, by: Duration) -> bool {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(millis))
            });
        true
    }

    fn offset_millis(&self) -> u64 {
        self.offset.load(Ordering::SeqCst)
    }
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock set to `start_millis`.
    pub fn new(start_millis: u64) -> Self {
        Self(Arc::new(AtomicU64::new(start_millis)))
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new(1_700_000_000_000)
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn advance(&self, by: Duration) -> bool {
        ManualClock::advance(self, by);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced_and_clones_share_time() {
        let clock = ManualClock::new(1_000);
        let other = clock.clone();
        assert_eq!(clock.now_millis(), 1_000);
        other.advance(Duration::from_secs(2));
        assert_eq!(clock.now_millis(), 3_000);
    }

    #[test]
    fn a_virtual_clock_follows_the_wall_clock_and_jumps_when_advanced() {
        let clock = VirtualClock::default();
        let before = SystemClock.now_millis();
        assert!(clock.now_millis() >= before);
        assert!(clock.advance(Duration::from_secs(3600)));
        assert_eq!(clock.offset_millis(), 3_600_000);
        assert!(clock.now_millis() >= before + 3_600_000);
        assert!(!SystemClock.advance(Duration::from_secs(1)));
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_millis() > 1_577_836_800_000);
    }
}
