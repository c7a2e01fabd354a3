//! Startup: build every adapter from the settings, bind the HTTP listener (port 0 gives a free
//! one, for tests), start the worker pool (unless the role is `api`) and the status-feed
//! subscriber, and shut all of it down in order: stop accepting, drain the workers, finish.
//! A `worker` replica serves only the operational endpoints over HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::adapters::local_cache::LocalTier;
use crate::adapters::postgres::{PgOrders, PoolSettings};
use crate::adapters::redis::{Redis, RedisAdmission, RedisCache, RedisStatusFeed};
use crate::adapters::sqs::SqsEvents;
use crate::config::Settings;
use crate::domain::service::OrderService;
use crate::http::{self, AppState, Limits, Shared};
use crate::ports::{OrderCache, StatusFeed as _};
use crate::telemetry;
use crate::worker::{WorkerPool, WorkerSettings};

/// A built, bound, not yet running service.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// None for an API-only replica (`--role api`).
    worker: Option<WorkerPool>,
    feed: RedisStatusFeed,
    local_cache: Option<LocalTier>,
    shutdown: CancellationToken,
    connections: crate::http::serve::ConnectionLimits,
}

/// An SQS client from the standard AWS settings (endpoint, region, credentials), as given.
pub async fn sqs_client(settings: &Settings) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = &settings.aws_endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader = loader.region(aws_config::Region::new(
        settings
            .aws_region
            .clone()
            .unwrap_or_else(|| "us-east-1".into()),
    ));
    if let (Some(id), Some(secret)) = (&settings.aws_access_key_id, &settings.aws_secret_access_key)
    {
        loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
            id,
            secret,
            None,
            None,
            "environment",
        ));
    }
    Client::new(&loader.load().await)
}

impl Application {
    /// Builds everything and binds the listener. Dependencies that are down do not stop the
    /// start: connections are lazy and `/health` reports them.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        if let Err(problems) = settings.check_for_serve() {
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            anyhow::bail!("invalid configuration:\n  {}", lines.join("\n  "));
        }
        let database_url = settings.require_database_url()?;
        let redis_url = settings.require_redis_url()?;
        let queue_url = settings.require_queue_url()?.to_string();

        let pool = crate::adapters::postgres::pool(
            database_url,
            PoolSettings {
                max_connections: settings.database_pool_size,
                acquire_timeout: Duration::from_millis(settings.database_acquire_timeout_ms),
            },
        )
        .context("DATABASE_URL is not a valid Postgres URL")?;
        let redis = Redis::new(redis_url, settings.redis_ca_cert.as_deref())
            .context("REDIS_URL is not a valid Redis URL, or REDIS_CA_CERT cannot be read")?;
        let sqs = sqs_client(settings).await;
        let feed = RedisStatusFeed::new(redis.clone());
        let cache_ttl = Duration::from_secs(settings.cache_ttl_seconds);
        let redis_cache: Arc<dyn OrderCache> = Arc::new(RedisCache::new(redis.clone(), cache_ttl));
        let local_cache = (settings.cache_local_entries > 0)
            .then(|| LocalTier::new(redis_cache.clone(), settings.cache_local_entries, cache_ttl));
        let cache: Arc<dyn OrderCache> = match &local_cache {
            Some(tier) => Arc::new(tier.clone()),
            None => redis_cache,
        };
        let service = OrderService::new(
            Arc::new(PgOrders::new(pool)),
            cache,
            Arc::new(RedisAdmission::new(
                redis.clone(),
                settings.rate_limit_per_minute,
                Duration::from_secs(60),
            )),
            Arc::new(SqsEvents::new(sqs.clone(), queue_url.clone())),
            Arc::new(feed.clone()),
            Duration::from_millis(settings.worker_work_ms),
        );
        let shutdown = CancellationToken::new();
        let state = AppState::new(Shared {
            service: service.clone(),
            redis,
            sqs: sqs.clone(),
            queue_url: queue_url.clone(),
            metrics: telemetry::metrics_handle(),
            shutdown: shutdown.clone(),
        });
        let limits = Limits {
            max_body_bytes: settings.max_body_bytes,
            timeout: settings.request_timeout(),
            max_concurrent: settings.max_concurrent_requests,
        };
        let listener = listen(settings.http_addr, settings.http_reuse_port)
            .with_context(|| format!("cannot listen on {}", settings.http_addr))?;
        let worker_settings = WorkerSettings {
            queue_url,
            dlq_url: settings.sqs_dlq_url.clone().unwrap_or_default(),
            concurrency: usize::from(settings.worker_concurrency),
            visibility_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(settings.shutdown_grace_seconds),
            wait_time_seconds: settings.sqs_wait_time_seconds,
        };
        let router = if settings.role.serves_api() {
            http::router(state, limits)
        } else {
            http::operations_router(state, limits)
        };
        Ok(Self {
            listener,
            router,
            worker: settings
                .role
                .runs_workers()
                .then(|| WorkerPool::new(sqs, service, worker_settings)),
            feed,
            local_cache,
            shutdown,
            connections: crate::http::serve::ConnectionLimits {
                // A request's headers get the time a whole request gets.
                header_read_timeout: settings.request_timeout(),
                drain_grace: Duration::from_secs(settings.shutdown_grace_seconds),
            },
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `signal` completes, then shuts down: stop accepting connections and end
    /// event streams, drain the worker pool (in-flight work finishes, unstarted messages are
    /// released, deletes are flushed), then return.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            worker,
            feed,
            local_cache,
            shutdown,
            connections,
        } = self;
        if let Some(tier) = local_cache {
            let (changes, token) = (feed.subscribe(), shutdown.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = tier.follow(changes) => {}
                    () = token.cancelled() => {}
                }
            });
        }
        let worker = worker.map(|pool| tokio::spawn(pool.run_when_ready(shutdown.clone())));
        let subscriber = tokio::spawn(feed.run_subscriber(shutdown.clone()));
        let upkeep = telemetry::spawn_metrics_upkeep(
            telemetry::metrics_handle(),
            telemetry::METRICS_UPKEEP_EVERY,
            shutdown.clone(),
        );
        let token = shutdown.clone();
        tokio::spawn(async move {
            signal.await;
            tracing::info!("shutting down");
            token.cancel();
        });
        let served =
            crate::http::serve::serve(listener, router, shutdown.clone(), connections).await;
        shutdown.cancel();
        if let Some(worker) = worker {
            telemetry::report_task_end("worker", worker.await);
        }
        telemetry::report_task_end("status_feed", subscriber.await);
        telemetry::report_task_end("metrics_upkeep", upkeep.await);
        served.context("HTTP server failed")
    }
}

impl WorkerPool {
    /// Finds what the pool needs from SQS (the DLQ through the RedrivePolicy when not
    /// configured, the visibility timeout), retrying while SQS is down, then runs.
    pub async fn run_when_ready(mut self, shutdown: CancellationToken) {
        let mut pause = Duration::from_millis(200);
        loop {
            match self.discover().await {
                Ok(()) => break,
                Err(error) => tracing::warn!(%error, "worker pool waiting for SQS"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        self.run(shutdown).await;
    }

    async fn discover(&mut self) -> anyhow::Result<()> {
        let attributes = self
            .client()
            .get_queue_attributes()
            .queue_url(&self.settings().queue_url)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .attributes
            .unwrap_or_default();
        let visibility = attributes
            .get(&QueueAttributeName::VisibilityTimeout)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(30);
        let policy = attributes.get(&QueueAttributeName::RedrivePolicy).cloned();
        let client = self.client().clone();
        let settings = self.settings_mut();
        settings.visibility_timeout = Duration::from_secs(visibility);
        if settings.dlq_url.is_empty() {
            let policy = policy.context(
                "SQS_DLQ_URL is not set and the queue has no RedrivePolicy: set one of them",
            )?;
            let arn = serde_json::from_str::<serde_json::Value>(&policy)?
                .get("deadLetterTargetArn")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .context("RedrivePolicy has no deadLetterTargetArn")?;
            let parts: Vec<&str> = arn.split(':').collect();
            let (Some(account), Some(name)) = (parts.get(4), parts.get(5)) else {
                anyhow::bail!("cannot read the DLQ ARN {arn}")
            };
            let url = client
                .get_queue_url()
                .queue_name(*name)
                .queue_owner_aws_account_id(*account)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))?
                .queue_url
                .context("GetQueueUrl returned no URL")?;
            tracing::info!(dlq = %url, "dead-letter queue found through the RedrivePolicy");
            settings.dlq_url = url;
        }
        Ok(())
    }
}

/// `service migrate`: applies the embedded migrations.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let url = settings.require_database_url()?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to {}", crate::config::redact_url(url)))?;
    crate::adapters::postgres::MIGRATOR
        .run(&pool)
        .await
        .context("migration failed")?;
    pool.close().await;
    Ok(())
}

/// A listener on `addr` (backlog 1024, as `TcpListener::bind`), with `SO_REUSEPORT` when
/// `reuse_port`: another process may then listen on the same address, and the kernel spreads
/// new connections over both — what a start-first reload needs while the old process drains.
fn listen(addr: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_listener_shares_the_port_only_when_asked() {
        let first = listen("127.0.0.1:0".parse().unwrap(), true).unwrap();
        let addr = first.local_addr().unwrap();
        let second = listen(addr, true).expect("SO_REUSEPORT shares the port");
        assert_eq!(second.local_addr().unwrap(), addr);
        drop(second);
        assert!(
            listen(addr, false).is_err(),
            "without it, the port is taken"
        );
    }
}
