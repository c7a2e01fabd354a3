//! # loadtest — Slipway's load-test suite
//!
//! Goose scenarios that drive the service over HTTP and its queue over SQS, with k6-style SLO
//! thresholds that fail the run. It talks to the system only through its public interfaces
//! (HTTP, SQS, the service's Prometheus text) and finds a local stack through
//! `.devstack/state.json`.
//!
//! Layout:
//! - [`cli`]: the command line (`run`, the default, and `merge`).
//! - scenarios, SLO parsing and evaluation, reports and `merge` land with the loadtest issue.

pub mod cli;
