//! The connection loop: hyper (HTTP/1.1 and HTTP/2) under the axum router, with what
//! `axum::serve` lacks — a deadline for a request's headers, so that a client that opens a
//! connection and never finishes its headers (or sends them a byte at a time) is cut off
//! instead of holding a socket and a task forever — and a bounded graceful shutdown.
//!
//! The service has the same loop (`service/src/http/serve.rs`); the emulator keeps its own
//! because it depends on nothing of Slipway (see ARCHITECTURE.md, the dependency rule).

use std::time::Duration;

use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Marks a response whose connection is to be closed without writing it (a fault rule's
/// dropped connection): the loop turns it into a service error, on which hyper closes the
/// connection, so the client sees it end with no answer.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// The error a marked response becomes.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a fault rule")]
pub struct ConnectionDropped;

impl From<std::convert::Infallible> for ConnectionDropped {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// How long a client may take to send a request's headers, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for requests in progress (a long poll lasts up to 20 s).
pub const DRAIN_GRACE: Duration = Duration::from_secs(25);

/// Serves `router` on `listener` until `stop` fires (or its sender is dropped), then lets
/// the requests in progress finish, for at most [`DRAIN_GRACE`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut stop: oneshot::Receiver<()>,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before accept: keep
                    // serving the connections we have and try again shortly.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(tower::ServiceExt::<Request<Incoming>>::map_result(
            router.clone(),
            |result: Result<axum::response::Response, std::convert::Infallible>| match result {
                Ok(response) if response.extensions().get::<DropConnection>().is_some() => {
                    Err(ConnectionDropped)
                }
                Ok(response) => Ok(response),
                Err(never) => match never {},
            },
        ));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_GRACE) => {
            tracing::warn!(grace = ?DRAIN_GRACE, "requests still in progress after the grace period; closing them");
        }
    }
    Ok(())
}
