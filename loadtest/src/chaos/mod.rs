//! Chaos runs (`loadtest --chaos PLAN.toml`): faults applied on a timeline during the load,
//! then a reconciliation of every message sent ([`crate::reconcile`]).
//!
//! - [`plan`]: the plan file, read and checked before any load;
//! - [`timeline`]: the plan carried out alongside the load, and undone after it.

pub mod plan;
pub mod timeline;
