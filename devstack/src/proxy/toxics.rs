//! The toxics in force on one proxy, as its connections read them: a small immutable set
//! (swapped whole through a `tokio::sync::watch` channel whenever one is added or removed),
//! and the questions a connection asks of it — how long to hold a chunk, how fast to let it
//! through, whether data is black-holed, and when to cut the connection.

use std::time::{Duration, Instant};

use slipway_contracts::chaos::{ActiveToxic, Toxic};

/// One toxic, with when it started here (for the timers of reset-peer and timeout).
#[derive(Debug, Clone)]
pub struct Placed {
    /// What it reports.
    pub active: ActiveToxic,
    /// When it was added, on this process's monotonic clock.
    pub since: Instant,
    /// Told apart from a later toxic of the same kind (a `--for` removes only its own).
    pub serial: u64,
}

/// How a connection is to be ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// A TCP reset (reset-peer).
    Reset,
    /// A plain close (timeout).
    Close,
}

/// The toxics of one proxy, at most one of each kind, in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct ToxicSet {
    placed: Vec<Placed>,
}

impl ToxicSet {
    /// No toxic: data flows untouched.
    pub fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }

    /// The toxics, as reported.
    pub fn active(&self) -> Vec<ActiveToxic> {
        self.placed.iter().map(|p| p.active.clone()).collect()
    }

    /// This set with `placed` in, replacing a toxic of its kind.
    pub fn with(&self, placed: Placed) -> Self {
        let mut next = self.without_kind(placed.active.toxic.kind());
        next.placed.push(placed);
        next
    }

    /// This set without the toxic of `kind`.
    pub fn without_kind(&self, kind: &str) -> Self {
        Self {
            placed: self
                .placed
                .iter()
                .filter(|p| p.active.toxic.kind() != kind)
                .cloned()
                .collect(),
        }
    }

    /// Whether the toxic `serial` is still in force.
    pub fn holds(&self, serial: u64) -> bool {
        self.placed.iter().any(|p| p.serial == serial)
    }

    /// This set without the toxic `serial`.
    pub fn without(&self, serial: u64) -> Self {
        Self {
            placed: self
                .placed
                .iter()
                .filter(|p| p.serial != serial)
                .cloned()
                .collect(),
        }
    }

    /// How long to hold a chunk the component sent: the latency, plus or minus a uniform
    /// jitter.
    pub fn delay(&self) -> Option<Duration> {
        self.placed.iter().find_map(|p| match p.active.toxic {
            Toxic::Latency {
                latency_ms,
                jitter_ms,
            } => {
                let jitter = if jitter_ms == 0 {
                    0
                } else {
                    i128::from(fastrand::u64(0..=2 * jitter_ms)) - i128::from(jitter_ms)
                };
                let ms = (i128::from(latency_ms) + jitter).max(0);
                Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
            }
            _ => None,
        })
    }

    /// How long `bytes` take at the bandwidth limit, if there is one.
    pub fn transfer_time(&self, bytes: usize) -> Option<Duration> {
        self.placed.iter().find_map(|p| match p.active.toxic {
            Toxic::Bandwidth { rate_kbps } if rate_kbps > 0 => Some(Duration::from_secs_f64(
                bytes as f64 / (rate_kbps as f64 * 1_000.0),
            )),
            _ => None,
        })
    }

    /// Whether data is dropped (a timeout toxic is in force).
    pub fn black_hole(&self) -> bool {
        self.placed
            .iter()
            .any(|p| matches!(p.active.toxic, Toxic::Timeout { .. }))
    }

    /// When a connection opened at `opened` is to be cut, and how: reset-peer's and a
    /// non-zero timeout's delay, counted from the later of the toxic's start and the
    /// connection's.
    pub fn cut(&self, opened: Instant) -> Option<(Instant, Cut)> {
        self.placed
            .iter()
            .filter_map(|p| {
                let from = p.since.max(opened);
                match p.active.toxic {
                    Toxic::ResetPeer { timeout_ms } => {
                        Some((from + Duration::from_millis(timeout_ms), Cut::Reset))
                    }
                    Toxic::Timeout { timeout_ms } if timeout_ms > 0 => {
                        Some((from + Duration::from_millis(timeout_ms), Cut::Close))
                    }
                    _ => None,
                }
            })
            .min_by_key(|(at, _)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(toxic: Toxic, serial: u64) -> Placed {
        Placed {
            active: ActiveToxic {
                component: "postgres".into(),
                toxic,
                since_unix_ms: 0,
                until_unix_ms: None,
            },
            since: Instant::now(),
            serial,
        }
    }

    #[test]
    fn a_toxic_replaces_one_of_its_kind_and_keeps_the_others() {
        let set = ToxicSet::default()
            .with(placed(
                Toxic::Latency {
                    latency_ms: 100,
                    jitter_ms: 0,
                },
                1,
            ))
            .with(placed(Toxic::Bandwidth { rate_kbps: 10 }, 2))
            .with(placed(
                Toxic::Latency {
                    latency_ms: 300,
                    jitter_ms: 0,
                },
                3,
            ));
        assert_eq!(set.active().len(), 2);
        assert_eq!(set.delay(), Some(Duration::from_millis(300)));
        assert!(!set.holds(1));
        assert!(set.holds(3));
        assert_eq!(set.without(3).delay(), None);
        assert_eq!(
            set.transfer_time(5_000),
            Some(Duration::from_millis(500)),
            "5 KB at 10 KB/s"
        );
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let set = ToxicSet::default().with(placed(
            Toxic::Latency {
                latency_ms: 100,
                jitter_ms: 30,
            },
            1,
        ));
        let delays: Vec<Duration> = (0..200).filter_map(|_| set.delay()).collect();
        assert!(delays.iter().all(|d| (70..=130).contains(&d.as_millis())));
        assert!(delays.iter().any(|d| d.as_millis() != 100), "no jitter");
    }

    #[test]
    fn a_connection_is_cut_by_the_earliest_timer() {
        let set = ToxicSet::default()
            .with(placed(Toxic::Timeout { timeout_ms: 0 }, 1))
            .with(placed(Toxic::ResetPeer { timeout_ms: 500 }, 2));
        assert!(set.black_hole());
        let opened = Instant::now() + Duration::from_secs(1);
        let (at, how) = set.cut(opened).unwrap();
        assert_eq!(how, Cut::Reset);
        assert_eq!(
            at,
            opened + Duration::from_millis(500),
            "from the connection's start"
        );
        assert!(ToxicSet::default().cut(opened).is_none());
    }
}
