//! The Redis cache against the cache-aside race, on the real Redis: a reader that fetched an
//! order from Postgres just before its status changed, and stores it only after the change
//! was announced, must not bring the old status back for everyone.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::Utc;
use service::adapters::redis::{Redis, RedisCache};
use service::domain::order::{CustomerId, Order, OrderId, OrderStatus};
use service::ports::OrderCache;

fn order(status: OrderStatus) -> Order {
    Order {
        id: OrderId::new(),
        customer_id: CustomerId::parse("c-race").unwrap(),
        items: Vec::new(),
        status,
        total_cents: 0,
        failure_reason: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_fill_that_lost_the_race_with_a_change_is_not_stored() {
    let stack = common::stack();
    let redis = Redis::new(stack.redis_url(), None).unwrap();
    let cache = RedisCache::new(redis, Duration::from_secs(60));

    // The reader fetched the order while pending; then the worker completed it and
    // invalidated the entry; then the reader's fill arrives.
    let stale = order(OrderStatus::Pending);
    cache.invalidate(&[stale.id]).await.unwrap();
    cache.put(&stale).await.unwrap();
    assert_eq!(
        cache.get(stale.id).await.unwrap(),
        None,
        "the late fill was refused: the next read goes to Postgres"
    );

    // An order nobody changed fills and is read back; a second fill does not replace it.
    let fresh = order(OrderStatus::Pending);
    cache.put(&fresh).await.unwrap();
    assert_eq!(cache.get(fresh.id).await.unwrap(), Some(fresh.clone()));
    let mut other = fresh.clone();
    other.total_cents = 1;
    cache.put(&other).await.unwrap();
    assert_eq!(cache.get(fresh.id).await.unwrap(), Some(fresh.clone()));
    // Its change invalidates it.
    cache.invalidate(&[fresh.id]).await.unwrap();
    assert_eq!(cache.get(fresh.id).await.unwrap(), None);
}
