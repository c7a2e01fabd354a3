//! Retry delays for transient failures: exponential in the receive count, capped, with
//! jitter so that a burst of failures does not come back as a burst.

use std::time::Duration;

/// First delay.
pub const BASE: Duration = Duration::from_secs(1);
/// Longest delay.
pub const CAP: Duration = Duration::from_secs(300);

/// The visibility timeout to set after the `receive_count`-th delivery failed: BASE·2^(n−1),
/// at most CAP, scaled by a jitter factor in [0.8, 1.2).
pub fn delay(receive_count: u32, jitter: f64) -> Duration {
    let exponent = receive_count.saturating_sub(1).min(16);
    let raw = BASE.saturating_mul(1 << exponent).min(CAP);
    let jitter = jitter.clamp(0.0, 1.0);
    raw.mul_f64(0.8 + 0.4 * jitter).min(CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_then_caps() {
        assert_eq!(delay(1, 0.5), Duration::from_secs(1));
        assert_eq!(delay(2, 0.5), Duration::from_secs(2));
        assert_eq!(delay(4, 0.5), Duration::from_secs(8));
        assert_eq!(delay(30, 0.5), CAP);
        assert_eq!(delay(0, 0.5), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        assert_eq!(delay(3, 0.0), Duration::from_millis(3200));
        assert!(delay(3, 0.999) < Duration::from_millis(4800));
    }
}
