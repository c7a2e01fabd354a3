//! # tui — Slipway's terminal dashboard
//!
//! A ratatui + crossterm dashboard an on-call engineer keeps open: the worker pool, queue and
//! DLQ depths, HTTP and queue latency; browse and redrive dead letters. It reads the service's
//! `/metrics`, the SQS API and the emulator's developer endpoints, and finds a local stack
//! through `.devstack/state.json`.
//!
//! Layout (state apart from drawing, in the manner of tokio-console):
//! - [`cli`]: the command line.
//! - `state`, `collect`, `view`, `input` land with the tui issue.

pub mod cli;
