//! The read-through cache of orders: one JSON value per order under `slipway:order:<id>`,
//! with a TTL.
//!
//! A status change does not delete the entry: it replaces it with a tombstone (an empty
//! value) that lives as long as an entry would, and a fill never overwrites anything
//! (`SET … NX`). So a reader that fetched the old row just before the change cannot put it
//! back after the change was announced (the cache-aside race): until the tombstone expires,
//! reads of that order miss and go to Postgres, and each process keeps the order in its own
//! tier once it is final ([`crate::adapters::local_cache`]).

use std::time::Duration;

use async_trait::async_trait;
use tracing::Instrument as _;

use super::{Redis, unavailable};
use crate::domain::order::{Order, OrderId};
use crate::ports::{OrderCache, PortError};

/// The read-through cache.
#[derive(Clone)]
pub struct RedisCache {
    redis: Redis,
    ttl: Duration,
}

impl RedisCache {
    /// A cache whose entries live `ttl`.
    pub fn new(redis: Redis, ttl: Duration) -> Self {
        Self { redis, ttl }
    }
}

/// What an invalidated order's key holds: not JSON, so a read takes it for a miss.
const TOMBSTONE: &str = "";

fn cache_key(id: OrderId) -> String {
    format!("slipway:order:{id}")
}

#[async_trait]
impl OrderCache for RedisCache {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, PortError> {
        let mut connection = self.redis.connection().await?;
        let cached: Option<String> = redis::cmd("GET")
            .arg(cache_key(id))
            .query_async(&mut connection)
            .instrument(super::command("GET"))
            .await
            .map_err(unavailable)?;
        Ok(cached
            .filter(|json| json != TOMBSTONE)
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    async fn put(&self, order: &Order) -> Result<(), PortError> {
        let json = serde_json::to_string(order).map_err(unavailable)?;
        let mut connection = self.redis.connection().await?;
        // `NX`: never over a tombstone, so a stale fill cannot undo an invalidation.
        let _: Option<String> = redis::cmd("SET")
            .arg(cache_key(order.id))
            .arg(json)
            .arg("EX")
            .arg(self.ttl.as_secs().max(1))
            .arg("NX")
            .query_async(&mut connection)
            .instrument(super::command("SET"))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn invalidate(&self, ids: &[OrderId]) -> Result<(), PortError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        for id in ids {
            pipeline
                .cmd("SET")
                .arg(cache_key(*id))
                .arg(TOMBSTONE)
                .arg("EX")
                .arg(self.ttl.as_secs().max(1))
                .ignore();
        }
        let mut connection = self.redis.connection().await?;
        let () = pipeline
            .query_async(&mut connection)
            .instrument(super::command("SET"))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
