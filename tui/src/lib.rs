//! # tui — Slipway's terminal dashboard
//!
//! A ratatui + crossterm dashboard an on-call engineer keeps open: the worker pool, queue and
//! DLQ depths, HTTP and queue latency; browse and redrive dead letters. It reads the service's
//! `/metrics`, the SQS API and the emulator's developer endpoints, and finds a local stack
//! through `.devstack/state.json`.
//!
//! Layout (Elm style: state apart from drawing, collection apart from both):
//! - [`cli`] and [`targets`]: the command line and what to watch.
//! - [`collector`]: a background task that scrapes, queries SQS and carries out actions;
//!   it sends [`model::Update`]s, so drawing never waits on the network.
//! - [`metrics`]: Prometheus text into snapshots, and rates and percentiles between two.
//! - [`app`]: the state, and how updates and keys change it (tested without a terminal).
//! - [`ui`]: drawing, a pure function of the state (snapshot-tested with `TestBackend`).
//! - [`run`]: the terminal and the event loop.

pub mod app;
pub mod cli;
pub mod collector;
pub mod metrics;
pub mod model;
pub mod run;
pub mod targets;
pub mod ui;
