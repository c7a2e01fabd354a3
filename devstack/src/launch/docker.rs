//! Docker backends through testcontainers: `postgres`, `redis` and
//! `softwaremill/elasticmq-native`, for machines without the native binaries. Containers are
//! removed on stop. Whether an engine answers is checked first, with a clear message if not.

use std::path::PathBuf;
use std::time::Duration;

use testcontainers_modules::elasticmq::ElasticMq;
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::redis::Redis;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::LaunchError;

/// The ElasticMQ image: the native (GraalVM) build, which starts in milliseconds.
pub const ELASTICMQ_IMAGE: (&str, &str) = ("softwaremill/elasticmq-native", "1.6.11");

/// A running container.
pub struct DockerComponent {
    /// The URL clients use.
    pub url: String,
    // In a mutex only to be `Sync` (a component is shared with the control channel); it is
    // touched once, to stop it.
    container: std::sync::Mutex<Box<dyn StopContainer>>,
}

impl std::fmt::Debug for DockerComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerComponent")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

trait StopContainer: Send {
    fn stop(self: Box<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
}

impl<I: testcontainers_modules::testcontainers::Image + 'static> StopContainer
    for ContainerAsync<I>
{
    fn stop(self: Box<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            let _ = self.rm().await;
        })
    }
}

impl DockerComponent {
    /// Removes the container.
    pub async fn stop(self) {
        let container = self
            .container
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        container.stop().await;
    }
}

#[async_trait::async_trait]
impl crate::component::Instance for DockerComponent {
    fn backend(&self) -> slipway_contracts::state::Backend {
        slipway_contracts::state::Backend::Docker
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    async fn stop(self: Box<Self>) {
        DockerComponent::stop(*self).await;
    }
}

/// Whether a Docker engine answers `GET /_ping` at `DOCKER_HOST` or the default socket.
pub async fn engine_available() -> bool {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let ping = async {
        let request = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
        let mut reply = Vec::new();
        if let Some(path) = host.strip_prefix("unix://") {
            let mut stream = tokio::net::UnixStream::connect(PathBuf::from(path))
                .await
                .ok()?;
            stream.write_all(request).await.ok()?;
            stream.read_to_end(&mut reply).await.ok()?;
        } else if let Some(addr) = host.strip_prefix("tcp://") {
            let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
            stream.write_all(request).await.ok()?;
            stream.read_to_end(&mut reply).await.ok()?;
        } else {
            return None;
        }
        Some(reply.starts_with(b"HTTP/1.") && reply.windows(2).any(|w| w == b"OK"))
    };
    tokio::time::timeout(Duration::from_secs(2), ping)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

fn docker_error(component: &str, e: impl std::fmt::Display) -> LaunchError {
    LaunchError::Unsupported(format!("{component} (docker): {e}"))
}

async fn require_engine(component: &str) -> Result<(), LaunchError> {
    if engine_available().await {
        Ok(())
    } else {
        Err(LaunchError::Unsupported(format!(
            "{component}: no Docker engine answers (DOCKER_HOST or /var/run/docker.sock). \
             Start Docker, or install the native binaries and use --backend native."
        )))
    }
}

/// Starts `postgres` and creates the application database.
pub async fn start_postgres() -> Result<DockerComponent, LaunchError> {
    require_engine("postgres").await?;
    let container = Postgres::default()
        .with_tag("16-alpine")
        .start()
        .await
        .map_err(|e| docker_error("postgres", e))?;
    let host = container
        .get_host()
        .await
        .map_err(|e| docker_error("postgres", e))?;
    let port = container
        .get_host_port_ipv4(5432)
        .await
        .map_err(|e| docker_error("postgres", e))?;
    let admin = format!("postgres://postgres:postgres@{host}:{port}/postgres");
    super::postgres::create_database_if_missing(&admin, super::postgres::APP_DATABASE).await?;
    let url = format!(
        "postgres://postgres:postgres@{host}:{port}/{}",
        super::postgres::APP_DATABASE
    );
    Ok(DockerComponent {
        url,
        container: std::sync::Mutex::new(Box::new(container)),
    })
}

/// Starts `redis`.
pub async fn start_redis() -> Result<DockerComponent, LaunchError> {
    require_engine("redis").await?;
    let container = Redis::default()
        .with_tag("7-alpine")
        .start()
        .await
        .map_err(|e| docker_error("redis", e))?;
    let host = container
        .get_host()
        .await
        .map_err(|e| docker_error("redis", e))?;
    let port = container
        .get_host_port_ipv4(6379)
        .await
        .map_err(|e| docker_error("redis", e))?;
    Ok(DockerComponent {
        url: format!("redis://{host}:{port}"),
        container: std::sync::Mutex::new(Box::new(container)),
    })
}

/// Starts ElasticMQ (native image).
pub async fn start_elasticmq() -> Result<DockerComponent, LaunchError> {
    require_engine("sqs").await?;
    let container = ElasticMq::default()
        .with_name(ELASTICMQ_IMAGE.0)
        .with_tag(ELASTICMQ_IMAGE.1)
        .start()
        .await
        .map_err(|e| docker_error("sqs", e))?;
    let host = container
        .get_host()
        .await
        .map_err(|e| docker_error("sqs", e))?;
    let port = container
        .get_host_port_ipv4(9324)
        .await
        .map_err(|e| docker_error("sqs", e))?;
    Ok(DockerComponent {
        url: format!("http://{host}:{port}"),
        container: std::sync::Mutex::new(Box::new(container)),
    })
}
