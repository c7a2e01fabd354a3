//! The ports: what the domain needs from the outside world, as traits. Adapters implement
//! them with Postgres ([`crate::adapters::postgres`]), Redis ([`crate::adapters::redis`]) and
//! SQS ([`crate::adapters::sqs`]); unit tests use [`crate::adapters::memory`].
//!
//! Every method fails only with [`PortError::Unavailable`]: a dependency is down or slow. The
//! HTTP layer answers 503 to it; the worker retries with backoff.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::domain::order::{CustomerId, Order, OrderId, OrderStatus};

/// A dependency failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Down, slow or refusing.
    #[error("{dependency} unavailable: {message}")]
    Unavailable {
        /// `postgres`, `redis` or `sqs`.
        dependency: &'static str,
        /// What happened.
        message: String,
    },
}

impl PortError {
    /// `dependency` is unavailable because of `error`.
    pub fn unavailable(dependency: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Unavailable {
            dependency,
            message: error.to_string(),
        }
    }
}

/// A keyset position in a customer's orders (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last order's creation time.
    pub created_at: DateTime<Utc>,
    /// The last order's id (tie-breaker).
    pub id: OrderId,
}

/// Whether an insert created the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// New row.
    Created,
    /// A row with this id was already there (left unchanged).
    AlreadyExisted,
}

/// What completing a batch of orders did ([`OrderRepository::complete_batch`]). An id in
/// neither set was already terminal: a redelivery, nothing applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchCompletion {
    /// Completed by this call.
    pub completed: HashSet<OrderId>,
    /// Asked to complete but not stored (an unknown `created` id).
    pub unknown: HashSet<OrderId>,
}

/// Orders in their store of record.
#[async_trait]
pub trait OrderRepository: Send + Sync {
    /// Stores a new order; an existing id is left as it is.
    async fn insert(&self, order: &Order) -> Result<Inserted, PortError>;
    /// The order, if it exists.
    async fn get(&self, id: OrderId) -> Result<Option<Order>, PortError>;
    /// A customer's orders after `cursor`, newest first.
    async fn list(
        &self,
        customer: &CustomerId,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<Order>, PortError>;
    /// Deletes an order (undoes a create whose event could not be published).
    async fn delete(&self, id: OrderId) -> Result<(), PortError>;
    /// `pending` → `processing`; returns the status after the call (`None`: no such order).
    async fn start_processing(&self, id: OrderId) -> Result<Option<OrderStatus>, PortError>;
    /// `pending`/`processing` → `completed`, counting the completion; `false` when the order
    /// was already terminal (a redelivery), so that processing applies once.
    async fn complete(&self, id: OrderId) -> Result<bool, PortError>;
    /// Completes many orders at once, atomically (one statement): `created` ids must be stored
    /// already; `submitted` orders are stored first when absent. Orders already terminal are
    /// left alone, so a redelivered message never applies twice. Ids are distinct across both.
    async fn complete_batch(
        &self,
        created: &[OrderId],
        submitted: &[Order],
    ) -> Result<BatchCompletion, PortError>;
    /// `pending`/`processing` → `failed` with a reason; `false` when already terminal.
    async fn fail(&self, id: OrderId, reason: &str) -> Result<bool, PortError>;
    /// Checks the connection.
    async fn ping(&self) -> Result<(), PortError>;
}

/// A read-through cache of orders.
#[async_trait]
pub trait OrderCache: Send + Sync {
    /// The cached order, if any.
    async fn get(&self, id: OrderId) -> Result<Option<Order>, PortError>;
    /// Caches an order (with the cache's TTL).
    async fn put(&self, order: &Order) -> Result<(), PortError>;
    /// Forgets orders (they changed), in one round trip.
    async fn invalidate(&self, ids: &[OrderId]) -> Result<(), PortError>;
}

/// What admission control says about a create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead; the idempotency key (if any) now names the new order.
    Admitted,
    /// The same key with the same body: this order was created before.
    Replay(OrderId),
    /// The same key with a different body.
    Conflict,
    /// The customer's rate limit is exhausted; retry after this many seconds.
    RateLimited {
        /// Seconds until the window resets.
        retry_after_secs: u64,
    },
}

/// An idempotency key with the fingerprint of the request body it was used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// The body's fingerprint.
    pub fingerprint: String,
}

/// Idempotency keys and the per-customer rate limit, decided together and atomically.
#[async_trait]
pub trait AdmissionControl: Send + Sync {
    /// Decides on a create for `customer` that would become `new_id`.
    async fn admit(
        &self,
        customer: &CustomerId,
        claim: Option<&IdempotencyClaim>,
        new_id: OrderId,
    ) -> Result<Admission, PortError>;
    /// Forgets a claim whose create failed, so that a retry can succeed.
    async fn release(&self, claim: &IdempotencyClaim) -> Result<(), PortError>;
}

/// A status change of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// Which order.
    pub id: OrderId,
    /// Its new status.
    pub status: OrderStatus,
}

/// Status changes, across replicas (Redis pub/sub).
#[async_trait]
pub trait StatusFeed: Send + Sync {
    /// Announces changes to every replica, in order, in one round trip.
    async fn publish(&self, changes: &[StatusChange]) -> Result<(), PortError>;
    /// Changes announced from now on, by any replica.
    fn subscribe(&self) -> broadcast::Receiver<StatusChange>;
}

/// Order events to the worker pool (SQS).
#[async_trait]
pub trait OrderEvents: Send + Sync {
    /// Announces a created order.
    async fn order_created(&self, order: &Order) -> Result<(), PortError>;
}
