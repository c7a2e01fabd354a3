//! Redis, three jobs: a read-through cache of orders with a TTL; idempotency keys and the
//! per-customer rate limit decided atomically by one Lua script; and the status feed, pub/sub
//! across replicas fanned out locally through a broadcast channel.
//!
//! The connection is made on first use and re-made after failures, with short timeouts, so
//! the service starts while Redis is down and answers 503 quickly instead of hanging.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{Mutex, broadcast};

use crate::domain::order::{CustomerId, Order, OrderId, OrderStatus};
use crate::ports::{
    Admission, AdmissionControl, IdempotencyClaim, OrderCache, PortError, StatusChange, StatusFeed,
};

/// The pub/sub channel of status changes.
pub const STATUS_CHANNEL: &str = "slipway:order-status";

fn unavailable(error: impl std::fmt::Display) -> PortError {
    PortError::unavailable("redis", error)
}

/// A shared, lazily made, self-healing connection.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    connection: Arc<Mutex<Option<ConnectionManager>>>,
}

impl Redis {
    /// A handle for `url`; nothing is connected yet.
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            connection: Arc::default(),
        })
    }

    /// The connection, made now if needed.
    pub async fn connection(&self) -> Result<ConnectionManager, PortError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_millis(500))
            .set_response_timeout(Duration::from_secs(1))
            .set_number_of_retries(1)
            .set_max_delay(500);
        let connection = tokio::time::timeout(
            Duration::from_secs(2),
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| unavailable("connect timed out"))?
        .map_err(unavailable)?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// PING.
    pub async fn ping(&self) -> Result<(), PortError> {
        let mut connection = self.connection().await?;
        let _: String = redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The client, for pub/sub connections.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }
}

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
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn invalidate(&self, id: OrderId) -> Result<(), PortError> {
        let mut connection = self.redis.connection().await?;
        let _: i64 = redis::cmd("DEL")
            .arg(cache_key(id))
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Idempotency and rate limit in one round trip, atomically:
/// KEYS[1] idempotency key (or a placeholder when none), KEYS[2] the customer's counter;
/// ARGV: has-key flag, fingerprint, new order id, key TTL, limit, window.
const ADMIT: &str = r"
if ARGV[1] == '1' then
  local existing = redis.call('GET', KEYS[1])
  if existing then
    local sep = string.find(existing, '|', 1, true)
    local fingerprint = string.sub(existing, 1, sep - 1)
    local order_id = string.sub(existing, sep + 1)
    if fingerprint == ARGV[2] then return {'replay', order_id} end
    return {'conflict', order_id}
  end
end
local count = redis.call('INCR', KEYS[2])
if count == 1 then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
if count > tonumber(ARGV[5]) then
  local ttl = redis.call('TTL', KEYS[2])
  if ttl < 1 then ttl = 1 end
  return {'limited', tostring(ttl)}
end
if ARGV[1] == '1' then redis.call('SET', KEYS[1], ARGV[2] .. '|' .. ARGV[3], 'EX', ARGV[4]) end
return {'admitted', ARGV[3]}
";

/// Idempotency keys (24 h) and a per-customer limit of creates per window.
#[derive(Clone)]
pub struct RedisAdmission {
    redis: Redis,
    script: Arc<redis::Script>,
    limit: u32,
    window: Duration,
    key_ttl: Duration,
}

impl RedisAdmission {
    /// `limit` creates per customer per `window`.
    pub fn new(redis: Redis, limit: u32, window: Duration) -> Self {
        Self {
            redis,
            script: Arc::new(redis::Script::new(ADMIT)),
            limit,
            window,
            key_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

fn idempotency_key(key: &str) -> String {
    format!("slipway:idem:{key}")
}

#[async_trait]
impl AdmissionControl for RedisAdmission {
    async fn admit(
        &self,
        customer: &CustomerId,
        claim: Option<&IdempotencyClaim>,
        new_id: OrderId,
    ) -> Result<Admission, PortError> {
        let mut connection = self.redis.connection().await?;
        let (reply, detail): (String, String) = self
            .script
            .key(claim.map_or_else(|| "slipway:idem:-".to_string(), |c| idempotency_key(&c.key)))
            .key(format!("slipway:rate:{}", customer.as_str()))
            .arg(if claim.is_some() { "1" } else { "0" })
            .arg(claim.map_or("", |c| c.fingerprint.as_str()))
            .arg(new_id.to_string())
            .arg(self.key_ttl.as_secs())
            .arg(self.limit)
            .arg(self.window.as_secs().max(1))
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(match reply.as_str() {
            "replay" => OrderId::parse(&detail).map_or(Admission::Conflict, Admission::Replay),
            "conflict" => Admission::Conflict,
            "limited" => Admission::RateLimited {
                retry_after_secs: detail.parse().unwrap_or(1),
            },
            _ => Admission::Admitted,
        })
    }

    async fn release(&self, claim: &IdempotencyClaim) -> Result<(), PortError> {
        let mut connection = self.redis.connection().await?;
        let _: i64 = redis::cmd("DEL")
            .arg(idempotency_key(&claim.key))
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Status changes over Redis pub/sub, fanned out to local subscribers.
#[derive(Clone)]
pub struct RedisStatusFeed {
    redis: Redis,
    local: broadcast::Sender<StatusChange>,
}

impl RedisStatusFeed {
    /// A feed; call [`run_subscriber`](Self::run_subscriber) in a task to receive other
    /// replicas' changes.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            local: broadcast::channel(1024).0,
        }
    }

    /// Listens on the channel until `shutdown`, reconnecting after failures.
    pub async fn run_subscriber(self, shutdown: tokio_util::sync::CancellationToken) {
        let mut pause = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            let listen = async {
                let mut pubsub = self.redis.client().get_async_pubsub().await?;
                pubsub.subscribe(STATUS_CHANNEL).await?;
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    let Ok(payload) = message.get_payload::<String>() else {
                        continue;
                    };
                    if let Some(change) = decode_change(&payload) {
                        let _ = self.local.send(change);
                    }
                }
                Ok::<(), redis::RedisError>(())
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                result = listen => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "status feed subscription lost; reconnecting");
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}

fn decode_change(payload: &str) -> Option<StatusChange> {
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    Some(StatusChange {
        id: OrderId::parse(value.get("id")?.as_str()?)?,
        status: OrderStatus::parse(value.get("status")?.as_str()?)?,
    })
}

#[async_trait]
impl StatusFeed for RedisStatusFeed {
    async fn publish(&self, change: &StatusChange) -> Result<(), PortError> {
        let payload =
            serde_json::json!({"id": change.id, "status": change.status.as_str()}).to_string();
        let mut connection = self.redis.connection().await?;
        let _: i64 = redis::cmd("PUBLISH")
            .arg(STATUS_CHANNEL)
            .arg(payload)
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<StatusChange> {
        self.local.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_payloads_decode() {
        let id = OrderId::new();
        let change = decode_change(&format!(r#"{{"id":"{id}","status":"completed"}}"#)).unwrap();
        assert_eq!(
            change,
            StatusChange {
                id,
                status: OrderStatus::Completed
            }
        );
        assert!(decode_change("{}").is_none());
        assert!(decode_change(r#"{"id":"x","status":"completed"}"#).is_none());
    }
}
