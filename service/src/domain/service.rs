//! The use cases: create, get and list orders (for the HTTP layer); processing messages (for
//! the worker) is in [`super::processing`]. Plain function calls over the ports; unit-tested
//! with in-memory adapters.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use slipway_contracts::metrics as names;

use super::order::{CustomerId, NewOrder, Order, OrderId, ValidationErrors};
pub use super::processing::{ProcessError, Processed};
use crate::ports::{
    Admission, AdmissionControl, Cursor, IdempotencyClaim, OrderCache, OrderEvents,
    OrderRepository, PortError, StatusFeed,
};

/// Now, to the microsecond: what Postgres stores, so a created order equals its stored form.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Why a request could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// Bad input; every bad field listed.
    #[error("invalid request")]
    Validation(ValidationErrors),
    /// No such order.
    #[error("order not found")]
    NotFound,
    /// The idempotency key was used with another body.
    #[error("idempotency key reused with a different request body")]
    IdempotencyConflict,
    /// The idempotency key's first request is still being handled.
    #[error("a request with this idempotency key is still in progress")]
    IdempotencyInProgress,
    /// Too many requests from this customer.
    #[error("rate limit exceeded")]
    RateLimited {
        /// Seconds until the window resets.
        retry_after_secs: u64,
    },
    /// A dependency is down.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Whether a read was served from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// From the cache.
    Hit,
    /// From the repository.
    Miss,
}

/// A page of orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPage {
    /// The orders, newest first.
    pub orders: Vec<Order>,
    /// Where the next page starts, if there may be one.
    pub next: Option<Cursor>,
}

/// The orders service.
#[derive(Clone)]
pub struct OrderService {
    pub(super) repo: Arc<dyn OrderRepository>,
    pub(super) cache: Arc<dyn OrderCache>,
    admission: Arc<dyn AdmissionControl>,
    events: Arc<dyn OrderEvents>,
    pub(super) feed: Arc<dyn StatusFeed>,
    pub(super) work: Duration,
}

impl OrderService {
    /// A service over these ports; `work` is how long processing one order takes (simulated
    /// fulfilment; zero by default).
    pub fn new(
        repo: Arc<dyn OrderRepository>,
        cache: Arc<dyn OrderCache>,
        admission: Arc<dyn AdmissionControl>,
        events: Arc<dyn OrderEvents>,
        feed: Arc<dyn StatusFeed>,
        work: Duration,
    ) -> Self {
        Self {
            repo,
            cache,
            admission,
            events,
            feed,
            work,
        }
    }

    /// Creates an order from a JSON draft. With an idempotency key, the same key and body
    /// return the first order (`false`: not created now); another body is a conflict.
    pub async fn create(
        &self,
        draft: &serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> Result<(Order, bool), OrderError> {
        let new = NewOrder::parse(draft).map_err(OrderError::Validation)?;
        let claim = idempotency_key.map(|key| IdempotencyClaim {
            key: key.to_string(),
            fingerprint: new.fingerprint(),
        });
        let id = OrderId::new();
        match self
            .admission
            .admit(&new.customer_id, claim.as_ref(), id)
            .await?
        {
            Admission::Admitted => {}
            Admission::Replay(existing) => {
                return match self.repo.get(existing).await? {
                    Some(order) => Ok((order, false)),
                    None => Err(OrderError::IdempotencyInProgress),
                };
            }
            Admission::Conflict => return Err(OrderError::IdempotencyConflict),
            Admission::RateLimited { retry_after_secs } => {
                return Err(OrderError::RateLimited { retry_after_secs });
            }
        }
        let order = new.into_order(id, now());
        let stored = async {
            self.repo.insert(&order).await?;
            if let Err(error) = self.events.order_created(&order).await {
                // Without its event the order would never be processed: undo, let the client retry.
                if let Err(undo) = self.repo.delete(order.id).await {
                    undo_failed("delete_order", order.id, &undo);
                }
                return Err(error);
            }
            Ok(())
        };
        if let Err(error) = stored.await {
            if let Some(claim) = &claim
                && let Err(undo) = self.admission.release(claim).await
            {
                undo_failed("release_idempotency_key", order.id, &undo);
            }
            return Err(error.into());
        }
        Ok((order, true))
    }

    /// An order, through the cache. A cache that is down is skipped, not fatal.
    pub async fn get(&self, id: OrderId) -> Result<(Order, CacheOutcome), OrderError> {
        match self.cache.get(id).await {
            Ok(Some(order)) => return Ok((order, CacheOutcome::Hit)),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "cache read failed; reading the repository"),
        }
        let order = self.repo.get(id).await?.ok_or(OrderError::NotFound)?;
        if let Err(error) = self.cache.put(&order).await {
            tracing::warn!(%error, "cache write failed");
        }
        Ok((order, CacheOutcome::Miss))
    }

    /// A customer's orders, newest first, `limit` at a time.
    pub async fn list(
        &self,
        customer: &CustomerId,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<OrderPage, OrderError> {
        let orders = self.repo.list(customer, after, limit).await?;
        let next = (orders.len() == limit as usize)
            .then(|| {
                orders.last().map(|o| Cursor {
                    created_at: o.created_at,
                    id: o.id,
                })
            })
            .flatten();
        Ok(OrderPage { orders, next })
    }

    /// The status feed, for server-sent events.
    pub fn feed(&self) -> &Arc<dyn StatusFeed> {
        &self.feed
    }

    /// Checks the store of record.
    pub async fn ping_repository(&self) -> Result<(), PortError> {
        self.repo.ping().await
    }
}

/// An undo step of [`OrderService::create`] failed: the order row or the idempotency key
/// stays behind. Logged with the order id and counted, never dropped.
fn undo_failed(step: &'static str, order: OrderId, error: &PortError) {
    tracing::error!(order_id = %order, step, %error, "undoing a failed order creation failed");
    metrics::counter!(names::ORDER_CREATE_UNDO_FAILURES_TOTAL, "step" => step).increment(1);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::adapters::memory::Memory;
    use crate::domain::order::OrderStatus;

    fn draft() -> serde_json::Value {
        json!({"customer_id": "c-42", "items": [{"sku": "A-1", "quantity": 2, "unit_price_cents": 1250}]})
    }

    #[tokio::test]
    async fn create_stores_the_order_and_announces_it() {
        let memory = Memory::default();
        let service = memory.service();
        let (order, created) = service.create(&draft(), None).await.unwrap();
        assert!(created);
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(order.total_cents, 2500);
        assert_eq!(memory.events(), vec![order.id]);
        assert_eq!(service.get(order.id).await.unwrap().0, order);
    }

    #[tokio::test]
    async fn idempotency_replays_the_same_body_and_refuses_another() {
        let memory = Memory::default();
        let service = memory.service();
        let (first, _) = service.create(&draft(), Some("k1")).await.unwrap();
        let (again, created) = service.create(&draft(), Some("k1")).await.unwrap();
        assert_eq!((again.id, created), (first.id, false));
        let other = json!({"customer_id": "c-42", "items": [{"sku": "B", "quantity": 1, "unit_price_cents": 1}]});
        assert_eq!(
            service.create(&other, Some("k1")).await.unwrap_err(),
            OrderError::IdempotencyConflict
        );
        assert_eq!(memory.events().len(), 1, "one order, one event");
    }

    #[tokio::test]
    async fn a_failed_publish_undoes_the_create_and_frees_the_key() {
        let memory = Memory::default();
        let service = memory.service();
        memory.set_events_down(true);
        assert!(matches!(
            service.create(&draft(), Some("k")).await,
            Err(OrderError::Unavailable(_))
        ));
        assert_eq!(memory.order_count(), 0, "nothing half-created");
        memory.set_events_down(false);
        let (_, created) = service.create(&draft(), Some("k")).await.unwrap();
        assert!(created, "the retry with the same key goes through");
    }

    #[test]
    fn failed_undo_steps_are_counted_not_dropped() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async {
                let memory = Memory::default();
                let service = memory.service();
                memory.set_events_down(true);
                memory.set_undo_down(true);
                assert!(service.create(&draft(), Some("k")).await.is_err());
                assert_eq!(memory.order_count(), 1, "the row the undo could not delete");
            });
        });
        let text = handle.render();
        for step in ["delete_order", "release_idempotency_key"] {
            assert!(
                text.contains(&format!(
                    "{}{{step=\"{step}\"}} 1",
                    names::ORDER_CREATE_UNDO_FAILURES_TOTAL
                )),
                "{step} counted:\n{text}"
            );
        }
    }

    #[tokio::test]
    async fn the_rate_limit_answers_with_a_retry_time() {
        let memory = Memory::with_rate_limit(2);
        let service = memory.service();
        service.create(&draft(), None).await.unwrap();
        service.create(&draft(), None).await.unwrap();
        assert!(
            matches!(service.create(&draft(), None).await, Err(OrderError::RateLimited { retry_after_secs }) if retry_after_secs > 0)
        );
    }

    #[tokio::test]
    async fn reads_go_through_the_cache_and_survive_it_being_down() {
        let memory = Memory::default();
        let service = memory.service();
        let (order, _) = service.create(&draft(), None).await.unwrap();
        assert_eq!(service.get(order.id).await.unwrap().1, CacheOutcome::Miss);
        assert_eq!(service.get(order.id).await.unwrap().1, CacheOutcome::Hit);
        memory.set_cache_down(true);
        assert_eq!(service.get(order.id).await.unwrap().1, CacheOutcome::Miss);
        assert_eq!(
            service.get(OrderId::new()).await.unwrap_err(),
            OrderError::NotFound
        );
    }

    #[tokio::test]
    async fn lists_page_by_cursor() {
        let memory = Memory::default();
        let service = memory.service();
        for _ in 0..5 {
            service.create(&draft(), None).await.unwrap();
        }
        let customer = CustomerId::parse("c-42").unwrap();
        let first = service.list(&customer, None, 2).await.unwrap();
        assert_eq!(first.orders.len(), 2);
        let second = service.list(&customer, first.next, 2).await.unwrap();
        let third = service.list(&customer, second.next, 2).await.unwrap();
        assert_eq!(third.orders.len(), 1);
        assert!(third.next.is_none());
        let mut ids: Vec<_> = [first, second, third]
            .iter()
            .flat_map(|p| p.orders.iter().map(|o| o.id))
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 5);
    }
}
