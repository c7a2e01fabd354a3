//! The in-process tier of the order cache, in front of Redis: a hit costs no round trip, no
//! serialization, no lock held across an await.
//!
//! It holds only terminal orders (completed or failed). No status leaves a terminal one
//! ([`OrderStatus::is_terminal`]; every status change is a conditional UPDATE from `pending` or
//! `processing`), so such an entry cannot go stale and no replica has to be told about it.
//! An order that can still change is read from Redis every time, where the writer leaves a
//! tombstone that no late fill can overwrite before it announces the change
//! ([`crate::adapters::redis::cache`], [`crate::domain::processing`]). So the bound across
//! replicas is the one Redis gives: a replica's next read after the writer's invalidation,
//! a fortiori after the replica heard the change on the status feed, sees the new status.
//!
//! As a second line, every change heard on the status feed evicts its order here
//! ([`LocalTier::follow`]), and the whole tier is cleared when the listener fell behind.
//! Bounded: at most `capacity` entries (quick_cache, S3-FIFO eviction), each kept at most
//! `ttl`, the Redis entries' lifetime.
//!
//! [`OrderStatus::is_terminal`]: crate::domain::order::OrderStatus::is_terminal

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::domain::order::{Order, OrderId};
use crate::ports::{OrderCache, PortError, StatusChange};

#[derive(Clone)]
struct Entry {
    order: Arc<Order>,
    expires: Instant,
}

/// An in-process tier over another cache.
#[derive(Clone)]
pub struct LocalTier {
    next: Arc<dyn OrderCache>,
    local: Arc<quick_cache::sync::Cache<OrderId, Entry>>,
    ttl: Duration,
}

impl LocalTier {
    /// Up to `capacity` terminal orders kept for `ttl` in front of `next`.
    pub fn new(next: Arc<dyn OrderCache>, capacity: usize, ttl: Duration) -> Self {
        Self {
            next,
            local: Arc::new(quick_cache::sync::Cache::new(capacity.max(1))),
            ttl,
        }
    }

    fn keep(&self, order: &Order) {
        if order.status.is_terminal() {
            let entry = Entry {
                order: Arc::new(order.clone()),
                expires: Instant::now() + self.ttl,
            };
            self.local.insert(order.id, entry);
        }
    }

    /// How many orders are held here.
    pub fn len(&self) -> usize {
        self.local.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.local.is_empty()
    }

    /// Evicts every order heard changing on `changes`, until the feed closes; clears all when
    /// the listener fell behind (it cannot know which it missed).
    pub async fn follow(self, mut changes: broadcast::Receiver<StatusChange>) {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    self.local.remove(&change.id);
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "status feed lagged; clearing the local cache");
                    self.local.clear();
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

#[async_trait]
impl OrderCache for LocalTier {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, PortError> {
        if let Some(entry) = self.local.get(&id) {
            if entry.expires > Instant::now() {
                return Ok(Some(Order::clone(&entry.order)));
            }
            self.local.remove(&id);
        }
        let order = self.next.get(id).await?;
        if let Some(order) = &order {
            self.keep(order);
        }
        Ok(order)
    }

    async fn put(&self, order: &Order) -> Result<(), PortError> {
        self.keep(order);
        self.next.put(order).await
    }

    async fn invalidate(&self, ids: &[OrderId]) -> Result<(), PortError> {
        for id in ids {
            self.local.remove(id);
        }
        self.next.invalidate(ids).await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::adapters::memory::Memory;
    use crate::domain::order::{CustomerId, OrderStatus};

    fn order(status: OrderStatus) -> Order {
        Order {
            id: OrderId::new(),
            customer_id: CustomerId::parse("c").unwrap(),
            items: Vec::new(),
            status,
            total_cents: 0,
            failure_reason: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn only_terminal_orders_are_held_and_hits_skip_the_next_tier() {
        let memory = Memory::default();
        let tier = LocalTier::new(Arc::new(memory.clone()), 100, Duration::from_secs(60));
        let (done, pending) = (order(OrderStatus::Completed), order(OrderStatus::Pending));
        tier.put(&done).await.unwrap();
        tier.put(&pending).await.unwrap();
        assert_eq!(tier.len(), 1, "the pending order is not held");
        memory.set_cache_down(true);
        assert_eq!(
            tier.get(done.id).await.unwrap(),
            Some(done.clone()),
            "no round trip"
        );
        assert!(
            tier.get(pending.id).await.is_err(),
            "pending: asks Redis every time"
        );
    }

    #[tokio::test]
    async fn a_change_heard_evicts_and_a_lagging_listener_clears_everything() {
        let memory = Memory::default();
        let tier = LocalTier::new(Arc::new(memory.clone()), 100, Duration::from_secs(60));
        let (tx, rx) = broadcast::channel(2);
        let follower = tokio::spawn(tier.clone().follow(rx));
        let (a, b) = (order(OrderStatus::Completed), order(OrderStatus::Failed));
        tier.put(&a).await.unwrap();
        tier.put(&b).await.unwrap();
        tx.send(StatusChange {
            id: a.id,
            status: OrderStatus::Completed,
        })
        .unwrap();
        tokio::task::yield_now().await;
        while tier.len() != 1 {
            tokio::task::yield_now().await;
        }
        tier.put(&a).await.unwrap();
        for _ in 0..5 {
            tx.send(StatusChange {
                id: OrderId::new(),
                status: OrderStatus::Completed,
            })
            .unwrap();
        }
        drop(tx);
        follower.await.unwrap();
        assert!(tier.is_empty(), "lagged: cleared");
    }

    #[tokio::test]
    async fn entries_expire_after_the_ttl() {
        let memory = Memory::default();
        let tier = LocalTier::new(Arc::new(memory.clone()), 100, Duration::ZERO);
        let done = order(OrderStatus::Completed);
        tier.put(&done).await.unwrap();
        memory.invalidate(&[done.id]).await.unwrap();
        assert_eq!(
            tier.get(done.id).await.unwrap(),
            None,
            "expired: read through"
        );
    }
}
