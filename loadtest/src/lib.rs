//! # loadtest — Slipway's load-test suite
//!
//! Goose scenarios that drive the service over HTTP and its queue over SQS, with k6-style SLO
//! thresholds that fail the run (exit status 99). It talks to the system only through its
//! public interfaces (HTTP, SQS, the service's Prometheus text) and finds a local stack
//! through `.devstack/state.json`.
//!
//! Layout:
//! - [`cli`]: the command line (`run`, the default, with goose's own options flattened in;
//!   `merge`).
//! - [`targets`]: where the load goes, and the loopback guard for write scenarios.
//! - [`scenarios`]: `browse`, `checkout`, `mixed`, `ping` (HTTP) and `queue`, `poison` (SQS).
//! - [`checks`]: after the load, every queued order finished and every poison message in
//!   the DLQ.
//! - [`service_metrics`]: the service's `/metrics` before and after (queue lag, outcomes).
//! - [`summary`]: the mergeable JSON summary; [`slo`]: rules judged on it, each into a
//!   [`verdict`]; [`report`]: the text tables.
//! - [`chaos`]: `--chaos PLAN.toml`, faults on a timeline during the load;
//!   [`reconcile`]: every message sent accounted for (applied once, twice, dead-lettered,
//!   lost), which reads the orders table — the one look behind the public interfaces.
//! - [`run`]: `run` and `merge`, tying the above together.

pub mod chaos;
pub mod checks;
pub mod cli;
pub mod reconcile;
pub mod report;
pub mod run;
pub mod scenarios;
pub mod service_metrics;
pub mod slo;
pub mod summary;
pub mod targets;
pub mod verdict;
