//! Admission: idempotency keys and the per-customer rate limit, decided atomically by one
//! Lua script in one round trip. Every key carries one hash tag, so the script runs on
//! cluster-mode Redis too.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tracing::Instrument as _;

use super::{Redis, unavailable};
use crate::domain::order::{CustomerId, OrderId};
use crate::ports::{Admission, AdmissionControl, IdempotencyClaim, PortError};

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

/// The hash tag every admission key carries. The script touches two keys (the idempotency
/// key and the customer's counter); on cluster-mode Redis (ElastiCache) the keys of one script
/// must live in one slot or it fails with CROSSSLOT, and a slot is chosen by the `{…}` part
/// of a key alone. The cost: all admission keys live on one shard, a few small keys per
/// order, well within one shard's means.
const HASH_TAG: &str = "{slipway-admission}";

fn idempotency_key(key: &str) -> String {
    format!("{HASH_TAG}:idem:{key}")
}

/// The placeholder for KEYS[1] when a request has no idempotency key.
fn no_idempotency_key() -> String {
    format!("{HASH_TAG}:idem:-")
}

fn rate_key(customer: &CustomerId) -> String {
    format!("{HASH_TAG}:rate:{}", customer.as_str())
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
            .key(claim.map_or_else(no_idempotency_key, |c| idempotency_key(&c.key)))
            .key(rate_key(customer))
            .arg(if claim.is_some() { "1" } else { "0" })
            .arg(claim.map_or("", |c| c.fingerprint.as_str()))
            .arg(new_id.to_string())
            .arg(self.key_ttl.as_secs())
            .arg(self.limit)
            .arg(self.window.as_secs().max(1))
            .invoke_async(&mut connection)
            .instrument(super::command("EVALSHA"))
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
            .instrument(super::command("DEL"))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of a key Redis Cluster hashes: the first `{…}` with something inside.
    fn hashed_part(key: &str) -> &str {
        key.find('{')
            .and_then(|open| {
                let close = key[open + 1..].find('}')? + open + 1;
                (close > open + 1).then(|| &key[open + 1..close])
            })
            .unwrap_or(key)
    }

    #[test]
    fn the_scripts_keys_share_one_slot() {
        let customer = CustomerId::parse("c-42").unwrap();
        let rate = rate_key(&customer);
        let slot = hashed_part(&rate);
        assert_eq!(slot, "slipway-admission");
        assert_eq!(hashed_part(&idempotency_key("k-1")), slot);
        assert_eq!(hashed_part(&no_idempotency_key()), slot);
        // A key that is itself braced cannot move the slot: only the first tag counts.
        assert_eq!(hashed_part(&idempotency_key("{other}")), slot);
    }
}
