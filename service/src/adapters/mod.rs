//! Adapters: the ports implemented over real infrastructure.
//!
//! - [`postgres`]: [`OrderRepository`](crate::ports::OrderRepository) with sqlx; every query
//!   through bind parameters.
//! - [`redis`]: the read-through cache, idempotency + rate limit in one Lua script, and the
//!   status feed over pub/sub.
//! - [`sqs`]: [`OrderEvents`](crate::ports::OrderEvents) with aws-sdk-sqs.
//! - `memory` (tests only): every port in memory, for unit tests of the domain.

#[cfg(test)]
pub mod memory;
pub mod postgres;
pub mod redis;
pub mod sqs;
