//! The read-through cache of orders: one JSON value per order under `slipway:order:<id>`,
//! with a TTL; invalidated when the order's status changes.

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
        Ok(cached.and_then(|json| serde_json::from_str(&json).ok()))
    }

    async fn put(&self, order: &Order) -> Result<(), PortError> {
        let json = serde_json::to_string(order).map_err(unavailable)?;
        let mut connection = self.redis.connection().await?;
        let () = redis::cmd("SET")
            .arg(cache_key(order.id))
            .arg(json)
            .arg("EX")
            .arg(self.ttl.as_secs().max(1))
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
        let mut connection = self.redis.connection().await?;
        let _: i64 = redis::cmd("DEL")
            .arg(ids.iter().map(|id| cache_key(*id)).collect::<Vec<_>>())
            .query_async(&mut connection)
            .instrument(super::command("DEL"))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
