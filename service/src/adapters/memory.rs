//! In-memory implementations of every port, for unit tests of the service layer only (never
//! for integration tests, which use the real Postgres, Redis and SQS). Each dependency can be
//! switched "down" to exercise failure paths.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::broadcast;

use crate::domain::order::{CustomerId, Order, OrderId, OrderStatus};
use crate::domain::service::OrderService;
use crate::ports::{
    Admission, AdmissionControl, BatchCompletion, Cursor, IdempotencyClaim, Inserted, OrderCache,
    OrderEvents, OrderRepository, PortError, StatusChange, StatusFeed,
};

#[derive(Default)]
struct State {
    orders: HashMap<OrderId, (Order, u32)>,
    cache: HashMap<OrderId, Order>,
    keys: HashMap<String, (String, OrderId)>,
    requests: HashMap<String, u32>,
    events: Vec<OrderId>,
    repo_down: bool,
    cache_down: bool,
    events_down: bool,
    undo_down: bool,
    /// Orders whose every write fails (a row-level fault, such as a lock timeout).
    stuck: HashSet<OrderId>,
}

/// Every port in memory; clones share state.
#[derive(Clone)]
pub struct Memory {
    state: Arc<Mutex<State>>,
    feed: broadcast::Sender<StatusChange>,
    rate_limit: u32,
}

impl Default for Memory {
    fn default() -> Self {
        Self::with_rate_limit(u32::MAX)
    }
}

fn down(dependency: &'static str) -> PortError {
    PortError::unavailable(dependency, "switched off by the test")
}

impl Memory {
    /// With a per-customer limit of `limit` creates.
    pub fn with_rate_limit(limit: u32) -> Self {
        Self {
            state: Arc::default(),
            feed: broadcast::channel(64).0,
            rate_limit: limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A service over these ports.
    pub fn service(&self) -> OrderService {
        self.service_with_work(Duration::ZERO)
    }

    /// A service over these ports whose processing takes `work`.
    pub fn service_with_work(&self, work: Duration) -> OrderService {
        let me = Arc::new(self.clone());
        OrderService::new(me.clone(), me.clone(), me.clone(), me.clone(), me, work)
    }

    /// Ids of announced orders.
    pub fn events(&self) -> Vec<OrderId> {
        self.lock().events.clone()
    }

    /// Stored orders.
    pub fn order_count(&self) -> usize {
        self.lock().orders.len()
    }

    /// How often an order was completed.
    pub fn processed_count(&self, id: OrderId) -> u32 {
        self.lock().orders.get(&id).map_or(0, |(_, n)| *n)
    }

    /// Switches the repository off or on.
    pub fn set_repo_down(&self, down: bool) {
        self.lock().repo_down = down;
    }

    /// Switches the cache off or on.
    pub fn set_cache_down(&self, down: bool) {
        self.lock().cache_down = down;
    }

    /// Makes the undo steps of a failed create (deleting the order, releasing the key) fail.
    pub fn set_undo_down(&self, down: bool) {
        self.lock().undo_down = down;
    }

    /// Switches the event publisher off or on.
    pub fn set_events_down(&self, down: bool) {
        self.lock().events_down = down;
    }

    /// Makes every write of this order fail (or succeed again), like a row-level fault in a
    /// real database: a statement that touches it fails whole.
    pub fn set_order_stuck(&self, id: OrderId, stuck: bool) {
        let mut state = self.lock();
        if stuck {
            state.stuck.insert(id);
        } else {
            state.stuck.remove(&id);
        }
    }

    fn transition(
        &self,
        id: OrderId,
        to: OrderStatus,
        reason: Option<&str>,
    ) -> Result<bool, PortError> {
        let mut state = self.lock();
        if state.repo_down || state.stuck.contains(&id) {
            return Err(down("postgres"));
        }
        let Some((order, count)) = state.orders.get_mut(&id) else {
            return Ok(false);
        };
        if order.status.is_terminal() {
            return Ok(false);
        }
        order.status = to;
        order.failure_reason = reason.map(str::to_string);
        order.updated_at = Utc::now();
        if to == OrderStatus::Completed {
            *count += 1;
        }
        Ok(true)
    }
}

#[async_trait]
impl OrderRepository for Memory {
    async fn insert(&self, order: &Order) -> Result<Inserted, PortError> {
        let mut state = self.lock();
        if state.repo_down || state.stuck.contains(&order.id) {
            return Err(down("postgres"));
        }
        if state.orders.contains_key(&order.id) {
            return Ok(Inserted::AlreadyExisted);
        }
        state.orders.insert(order.id, (order.clone(), 0));
        Ok(Inserted::Created)
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, PortError> {
        let state = self.lock();
        if state.repo_down {
            return Err(down("postgres"));
        }
        Ok(state.orders.get(&id).map(|(o, _)| o.clone()))
    }

    async fn list(
        &self,
        customer: &CustomerId,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<Order>, PortError> {
        let state = self.lock();
        if state.repo_down {
            return Err(down("postgres"));
        }
        let mut orders: Vec<Order> = state
            .orders
            .values()
            .map(|(o, _)| o.clone())
            .filter(|o| &o.customer_id == customer)
            .collect();
        orders.sort_by_key(|o| std::cmp::Reverse((o.created_at, o.id)));
        Ok(orders
            .into_iter()
            .filter(|o| after.is_none_or(|c| (o.created_at, o.id) < (c.created_at, c.id)))
            .take(limit as usize)
            .collect())
    }

    async fn delete(&self, id: OrderId) -> Result<(), PortError> {
        let mut state = self.lock();
        if state.undo_down {
            return Err(down("postgres"));
        }
        state.orders.remove(&id);
        Ok(())
    }

    async fn start_processing(&self, id: OrderId) -> Result<Option<OrderStatus>, PortError> {
        self.transition(id, OrderStatus::Processing, None)?;
        Ok(self.lock().orders.get(&id).map(|(o, _)| o.status))
    }

    async fn complete(&self, id: OrderId) -> Result<bool, PortError> {
        self.transition(id, OrderStatus::Completed, None)
    }

    async fn complete_batch(
        &self,
        created: &[OrderId],
        submitted: &[Order],
    ) -> Result<BatchCompletion, PortError> {
        {
            let state = self.lock();
            let ids = created.iter().chain(submitted.iter().map(|o| &o.id));
            if state.repo_down || ids.clone().any(|id| state.stuck.contains(id)) {
                return Err(down("postgres"));
            }
        }
        let mut outcome = BatchCompletion::default();
        for order in submitted {
            self.insert(order).await?;
        }
        for id in created {
            if !self.lock().orders.contains_key(id) {
                outcome.unknown.insert(*id);
            }
        }
        for id in created.iter().chain(submitted.iter().map(|o| &o.id)) {
            if self.transition(*id, OrderStatus::Completed, None)? {
                outcome.completed.insert(*id);
            }
        }
        Ok(outcome)
    }

    async fn fail(&self, id: OrderId, reason: &str) -> Result<bool, PortError> {
        self.transition(id, OrderStatus::Failed, Some(reason))
    }

    async fn ping(&self) -> Result<(), PortError> {
        if self.lock().repo_down {
            Err(down("postgres"))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl OrderCache for Memory {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, PortError> {
        let state = self.lock();
        if state.cache_down {
            return Err(down("redis"));
        }
        Ok(state.cache.get(&id).cloned())
    }

    async fn put(&self, order: &Order) -> Result<(), PortError> {
        let mut state = self.lock();
        if state.cache_down {
            return Err(down("redis"));
        }
        state.cache.insert(order.id, order.clone());
        Ok(())
    }

    async fn invalidate(&self, ids: &[OrderId]) -> Result<(), PortError> {
        let mut state = self.lock();
        for id in ids {
            state.cache.remove(id);
        }
        Ok(())
    }
}

#[async_trait]
impl AdmissionControl for Memory {
    async fn admit(
        &self,
        customer: &CustomerId,
        claim: Option<&IdempotencyClaim>,
        new_id: OrderId,
    ) -> Result<Admission, PortError> {
        let mut state = self.lock();
        if let Some(claim) = claim
            && let Some((fingerprint, existing)) = state.keys.get(&claim.key)
        {
            return Ok(if *fingerprint == claim.fingerprint {
                Admission::Replay(*existing)
            } else {
                Admission::Conflict
            });
        }
        let count = state
            .requests
            .entry(customer.as_str().to_string())
            .or_default();
        *count += 1;
        if *count > self.rate_limit {
            return Ok(Admission::RateLimited {
                retry_after_secs: 60,
            });
        }
        if let Some(claim) = claim {
            state
                .keys
                .insert(claim.key.clone(), (claim.fingerprint.clone(), new_id));
        }
        Ok(Admission::Admitted)
    }

    async fn release(&self, claim: &IdempotencyClaim) -> Result<(), PortError> {
        let mut state = self.lock();
        if state.undo_down {
            return Err(down("redis"));
        }
        state.keys.remove(&claim.key);
        Ok(())
    }
}

#[async_trait]
impl StatusFeed for Memory {
    async fn publish(&self, changes: &[StatusChange]) -> Result<(), PortError> {
        for change in changes {
            let _ = self.feed.send(change.clone());
        }
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<StatusChange> {
        self.feed.subscribe()
    }
}

#[async_trait]
impl OrderEvents for Memory {
    async fn order_created(&self, order: &Order) -> Result<(), PortError> {
        let mut state = self.lock();
        if state.events_down {
            return Err(down("sqs"));
        }
        state.events.push(order.id);
        Ok(())
    }
}
