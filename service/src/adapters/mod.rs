//! Adapters: the ports implemented over real infrastructure.
//!
//! - [`postgres`]: [`OrderRepository`](crate::ports::OrderRepository) with sqlx; every query
//!   through bind parameters.
//! - [`redis`]: the read-through cache, idempotency + rate limit in one Lua script, and the
//!   status feed over pub/sub.
//! - [`local_cache`]: the in-process tier in front of the Redis cache (terminal orders only,
//!   which cannot change, so nothing held there goes stale).
//! - [`sqs`]: [`OrderEvents`](crate::ports::OrderEvents) with aws-sdk-sqs.
//! - `memory` (tests only): every port in memory, for unit tests of the domain.

pub mod local_cache;
#[cfg(test)]
pub mod memory;
pub mod postgres;
pub mod redis;
pub mod sqs;
