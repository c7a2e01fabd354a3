//! # sqs-emulator — Amazon SQS, locally, in milliseconds
//!
//! The emulator embedded by `devstack up` and served alone by `devstack sqs`: an
//! ElasticMQ-compatible peer that AWS SDKs talk to over the AWS JSON 1.0 protocol (current
//! SDKs) or the Query protocol (older ones).
//!
//! Three rooms, one direction: transport → protocol adapter → core.
//!
//! - [`core`]: queues, messages, visibility, delay, retention, FIFO, dead letters and move
//!   tasks. Knows nothing of HTTP; reads time through a [`core::Clock`] tests control.
//! - [`protocol`]: the AWS JSON 1.0 adapter — wire shapes, one module per action family, and
//!   the mapping of core errors to AWS error codes — and the Query adapter, which translates
//!   to and from it.
//! - [`server`]: axum on tokio; [`server::Emulator`] binds and runs until a shutdown signal;
//!   [`listener`] is its connection loop (header-read timeout, bounded graceful drain).
//! - [`persist`]: the optional data directory — a journal of the core's changes with snapshot
//!   compaction, replayed at start, so queues and messages survive a restart or a crash.
//! - [`history`]: each message's life (sent, waited, received, deleted, dead-lettered…) for the
//!   history endpoint, and cut into phases that devstack puts in the sender's trace.
//! - [`dev_api`]: developer endpoints outside the AWS API (queue stats, side-effect-free peek,
//!   message histories, the virtual clock, fault rules).
//! - [`faults`]: fault rules — errors, latency, dropped connections and duplicate deliveries
//!   injected on purpose, checked by the server before each request.
//!
//! ```no_run
//! # async fn example() -> Result<(), sqs_emulator::server::StartError> {
//! let server = sqs_emulator::server::Emulator::builder().bind("127.0.0.1:0".parse().unwrap()).await?;
//! println!("SQS at {}", server.endpoint());
//! # Ok(()) }
//! ```

pub mod core;
pub mod dev_api;
pub mod faults;
pub mod history;
pub mod listener;
pub mod persist;
pub mod protocol;
pub mod server;
