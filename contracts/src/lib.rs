//! # slipway-contracts
//!
//! The few types that cross Slipway's process boundaries, kept in one small crate with no
//! heavy dependencies so that every other crate may use it without linking another's code:
//!
//! - [`state`]: the schema of `.devstack/state.json` and `.devstack/env`, written by `devstack`
//!   and read by `tui` and `loadtest` to find a running stack.
//! - [`metrics`]: the names and labels of the service's Prometheus metrics, exported by
//!   `service` and scraped by `tui` and `loadtest`, and how both read them (the text format,
//!   histogram quantiles).
//! - [`control`]: the requests and answers of a running `devstack up`'s control socket
//!   (`devstack restart|stop|start|status`, later the TUI).
//! - [`chaos`]: process faults on a running stack's components (`devstack chaos`).
//! - [`trace`]: spans as devstack's collector keeps them and `devstack trace --json` prints
//!   them, and the queries that find a journey (trace id, order id, message id).
//! - [`redact`]: how a URL with a password is shown wherever it leaves a process (logs,
//!   `devstack status`).
//! - [`report`]: how a binary shows a person a fatal error (causes, never a backtrace).
//!
//! - [`client`] (feature `client`): the control socket's one client.
//!
//! This crate holds data definitions and such shared rules only: no I/O beyond reading and
//! writing the state file, and no networking or runtime unless the `client` feature asks for
//! the control socket's client.

pub mod chaos;
#[cfg(feature = "client")]
pub mod client;
pub mod control;
pub mod metrics;
pub mod redact;
pub mod report;
pub mod state;
pub mod trace;
