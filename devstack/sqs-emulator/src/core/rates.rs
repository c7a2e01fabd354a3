//! Per-queue rates for the developer stats endpoint: sends, receives and deletes per second,
//! averaged over the last [`WINDOW_SECONDS`] whole seconds.
//!
//! A ring of one-second buckets: counting is O(1) and allocation-free, reading sums the ring.

use serde::Serialize;

/// The seconds a rate is averaged over.
pub const WINDOW_SECONDS: u64 = 10;

/// Buckets kept: the window plus the second in progress.
const BUCKETS: usize = WINDOW_SECONDS as usize + 1;

/// What is counted.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// A message accepted (sent or moved in).
    Sent,
    /// A delivery.
    Received,
    /// A delete by receipt handle.
    Deleted,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    second: u64,
    counts: [u64; 3],
}

/// Recent events per second.
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    buckets: [Bucket; BUCKETS],
}

/// Events per second over the last window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Messages sent (or moved in) per second.
    pub sent_per_second: f64,
    /// Deliveries per second.
    pub received_per_second: f64,
    /// Deletes per second.
    pub deleted_per_second: f64,
}

impl RateMeter {
    /// Counts one event at `now` (ms since epoch).
    pub fn count(&mut self, event: Event, now: u64) {
        let second = now / 1000;
        let bucket = &mut self.buckets[(second % BUCKETS as u64) as usize];
        if bucket.second != second {
            *bucket = Bucket {
                second,
                counts: [0; 3],
            };
        }
        bucket.counts[event as usize] += 1;
    }

    /// The rates over the whole seconds before `now` (the second in progress is left out, so
    /// a rate does not dip at the start of each second).
    pub fn rates(&self, now: u64) -> Rates {
        let current = now / 1000;
        let mut sums = [0u64; 3];
        for bucket in &self.buckets {
            if bucket.second < current && bucket.second + WINDOW_SECONDS >= current {
                for (sum, count) in sums.iter_mut().zip(bucket.counts) {
                    *sum += count;
                }
            }
        }
        let per_second = |n: u64| n as f64 / WINDOW_SECONDS as f64;
        Rates {
            sent_per_second: per_second(sums[0]),
            received_per_second: per_second(sums[1]),
            deleted_per_second: per_second(sums[2]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_average_the_last_whole_seconds() {
        let mut meter = RateMeter::default();
        // 20 sends in each of seconds 100..110, 5 deletes in second 109.
        for second in 100..110u64 {
            for i in 0..20 {
                meter.count(Event::Sent, second * 1000 + i * 10);
            }
        }
        for _ in 0..5 {
            meter.count(Event::Deleted, 109_500);
        }
        // The second in progress does not count yet.
        meter.count(Event::Received, 110_100);
        let rates = meter.rates(110_200);
        assert_eq!(rates.sent_per_second, 20.0);
        assert_eq!(rates.deleted_per_second, 0.5);
        assert_eq!(rates.received_per_second, 0.0);
        // Twenty seconds later everything has left the window.
        assert_eq!(meter.rates(130_000), Rates::default());
    }

    #[test]
    fn a_reused_bucket_starts_from_zero() {
        let mut meter = RateMeter::default();
        meter.count(Event::Sent, 1_000);
        meter.count(Event::Sent, (1 + BUCKETS as u64) * 1000);
        let rates = meter.rates((2 + BUCKETS as u64) * 1000);
        assert_eq!(rates.sent_per_second, 0.1);
    }
}
