//! The domain: orders and what can be done with them, in plain Rust. Knows nothing of HTTP,
//! SQL, Redis or AWS; talks to the world only through [`crate::ports`].
//!
//! - [`order`]: the types, and parsing of raw input into them.
//! - [`service`]: the use cases of the API (create, get, list).
//! - [`processing`]: the worker's use case, queue messages to completed orders, batch by batch.
//! - [`messages`]: the queue messages the service and outside producers send.

pub mod messages;
pub mod order;
pub mod processing;
pub mod service;
