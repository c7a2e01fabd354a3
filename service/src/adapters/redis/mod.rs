//! Redis, three jobs, one file each: a read-through cache of orders with a TTL
//! ([`cache`]); idempotency keys and the per-customer rate limit decided atomically by one
//! Lua script ([`admission`]); and the status feed, pub/sub across replicas fanned out
//! locally through a broadcast channel ([`feed`]). This file holds the connection.
//!
//! The connection is made on first use and re-made after failures, with short timeouts, so
//! the service starts while Redis is down and answers 503 quickly instead of hanging.
//! `rediss://` URLs connect over TLS (rustls, with the aws-lc-rs provider the rest of the
//! process uses): the server's certificate is checked against the Web PKI roots (ElastiCache's
//! certificates chain to them) or, when given, a CA certificate file (`REDIS_CA_CERT`).

pub mod admission;
pub mod cache;
pub mod feed;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;

pub use admission::RedisAdmission;
pub use cache::RedisCache;
pub use feed::{RedisStatusFeed, STATUS_CHANNEL};

use crate::ports::PortError;

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
    /// A handle for `url`; nothing is connected yet. For `rediss://`, `ca_cert` (a PEM file)
    /// replaces the Web PKI roots as the trusted authority.
    pub fn new(url: &str, ca_cert: Option<&Path>) -> Result<Self, redis::RedisError> {
        if url.starts_with("rediss://") {
            // One process-wide rustls provider, the one sqlx and the AWS SDK use; an error
            // only says one is installed already.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        let client = match ca_cert {
            Some(path) => {
                let root_cert = std::fs::read(path).map_err(|e| {
                    redis::RedisError::from((
                        redis::ErrorKind::InvalidClientConfig,
                        "cannot read the CA certificate",
                        format!("{}: {e}", path.display()),
                    ))
                })?;
                redis::Client::build_with_tls(
                    url,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(root_cert),
                    },
                )?
            }
            None => redis::Client::open(url)?,
        };
        Ok(Self {
            client,
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

/// A client span for one Redis command (OpenTelemetry's database conventions), seen only when
/// traces are on: named after the command, never with its arguments (keys hold customer ids).
pub(crate) fn command(name: &'static str) -> tracing::Span {
    tracing::debug_span!(
        "command",
        otel.name = name,
        otel.kind = "client",
        db.system.name = "redis",
        db.operation.name = name,
    )
}
