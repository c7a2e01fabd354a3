//! The status feed: a status change is published on one pub/sub channel, and each replica's
//! subscriber fans what it hears out to local listeners (the SSE streams) through a
//! broadcast channel.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt as _;
use tokio::sync::broadcast;
use tracing::Instrument as _;

use super::{Redis, unavailable};
use crate::domain::order::{OrderId, OrderStatus};
use crate::ports::{PortError, StatusChange, StatusFeed};

/// The pub/sub channel of status changes.
pub const STATUS_CHANNEL: &str = "slipway:order-status";

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
    async fn publish(&self, changes: &[StatusChange]) -> Result<(), PortError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        for change in changes {
            let payload =
                serde_json::json!({"id": change.id, "status": change.status.as_str()}).to_string();
            pipeline
                .cmd("PUBLISH")
                .arg(STATUS_CHANNEL)
                .arg(payload)
                .ignore();
        }
        let mut connection = self.redis.connection().await?;
        let () = pipeline
            .query_async(&mut connection)
            .instrument(super::command("PUBLISH"))
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
