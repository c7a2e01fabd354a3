//! The transport: axum on tokio. Routes every request to the protocol adapter it speaks: JSON
//! when `X-Amz-Target` is present, Query when its form parameters (a POST body, or a GET
//! query string) hold an `Action`. Builds queue URLs from the `Host` header; the connection
//! loop (header-read timeout, graceful drain) is `listener.rs`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::core::{Clock, Sqs, SqsSettings, VirtualClock};
use crate::dev_api;
use crate::faults::Faults;
use crate::faults::gate::{self, Gate, Protocol};
use crate::history::{self, History, PhaseSink};
use crate::listener::{DEFAULT_HEADER_READ_TIMEOUT, DropConnection};
use crate::persist::{PersistError, PersistOptions, Recovery, Store};
use crate::protocol::context::{QueueUrlStyle, RequestContext, request_region};
use crate::protocol::{WireResponse, json, query};

/// Largest request body accepted: a 1 MiB message, or a batch of them, with JSON overhead.
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// Largest snapshot image a `PUT /_slipway/snapshot` accepts.
pub const MAX_IMAGE_BYTES: usize = 4 << 30;

/// What the router serves besides the core: message histories, fault rules, the URL style.
#[derive(Debug, Clone, Default)]
pub struct RouterParts {
    /// Message histories, when kept.
    pub history: Option<Arc<History>>,
    /// Fault rules.
    pub faults: Arc<Faults>,
    /// How queue URLs are written.
    pub url_style: QueueUrlStyle,
    /// The data directory's store, which a loaded snapshot must reach.
    pub persisted: dev_api::snapshot::Persisted,
}

/// The axum router serving `sqs`.
pub fn router(sqs: Arc<Sqs>, parts: RouterParts) -> Router {
    Router::new()
        .route(
            "/_slipway/messages/{id}/history",
            get(crate::dev_api::message_history),
        )
        .route("/health", get(|| async { "ok" }))
        .route("/_slipway/clock", get(crate::dev_api::clock::read))
        .route(
            "/_slipway/clock/advance",
            post(crate::dev_api::clock::advance),
        )
        .route(
            "/_slipway/faults",
            get(dev_api::faults::list)
                .post(dev_api::faults::add)
                .delete(dev_api::faults::clear),
        )
        .route(
            "/_slipway/faults/{id}",
            axum::routing::delete(dev_api::faults::remove),
        )
        .route(
            "/_slipway/snapshot",
            get(dev_api::snapshot::save)
                .put(dev_api::snapshot::load)
                .post(dev_api::snapshot::copy)
                .layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES)),
        )
        .route("/_slipway/queues", get(crate::dev_api::queues))
        .route(
            "/_slipway/queues/{name}/messages",
            get(crate::dev_api::messages),
        )
        .route("/", post(handle).get(handle_get))
        .route("/{*path}", post(handle).get(handle_get))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(axum::Extension(parts.history))
        .layer(axum::Extension(parts.faults))
        .layer(axum::Extension(parts.url_style))
        .layer(axum::Extension(parts.persisted))
        .with_state(sqs)
}

async fn handle(
    State(sqs): State<Arc<Sqs>>,
    Extension(url_style): Extension<QueueUrlStyle>,
    Extension(faults): Extension<Arc<Faults>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut context = context_of(&sqs, url_style, &headers);
    let target = headers.get("x-amz-target").and_then(|h| h.to_str().ok());
    if target.is_some() {
        if !faults.is_empty() {
            let (action, queue) = gate::json_request(target, &body);
            match gate::check(&faults, &action, queue.as_deref(), Protocol::Json).await {
                Gate::Serve { duplicate } => context.duplicate_delivery = duplicate,
                Gate::Answer(wire) => return into_response(wire),
                Gate::Drop => return dropped(),
            }
        }
        let response = json::handle(&sqs, &context, target, &body).await;
        return match sqs.durable().await {
            Ok(()) => into_response(response),
            Err(error) => into_response(json::error_response(&error)),
        };
    }
    // Query parameters may come in the body, the query string, or both.
    let mut params = match query::parse_params(&body) {
        Ok(params) => params,
        Err(error) => {
            return into_response(query::error_response(&error, "", context.response_format));
        }
    };
    if let Some(query_string) = uri.query()
        && let Ok(more) = query::parse_params(query_string.as_bytes())
    {
        params.extend(more);
    }
    serve_query(&sqs, &faults, context, uri.path(), params).await
}

async fn handle_get(
    State(sqs): State<Arc<Sqs>>,
    Extension(url_style): Extension<QueueUrlStyle>,
    Extension(faults): Extension<Arc<Faults>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let context = context_of(&sqs, url_style, &headers);
    let params = match query::parse_params(uri.query().unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(error) => {
            return into_response(query::error_response(&error, "", context.response_format));
        }
    };
    serve_query(&sqs, &faults, context, uri.path(), params).await
}

async fn serve_query(
    sqs: &Arc<Sqs>,
    faults: &Faults,
    mut context: RequestContext,
    path: &str,
    params: Vec<(String, String)>,
) -> Response {
    if !query::is_query(&params) {
        // Neither protocol's marker.
        return into_response(query::unknown_operation());
    }
    if !faults.is_empty() {
        let (action, queue) = gate::query_request(&params, path);
        let protocol = Protocol::Query(context.response_format);
        match gate::check(faults, &action, queue.as_deref(), protocol).await {
            Gate::Serve { duplicate } => context.duplicate_delivery = duplicate,
            Gate::Answer(wire) => return into_response(wire),
            Gate::Drop => return dropped(),
        }
    }
    let response = query::handle(sqs, &context, path, params).await;
    into_response(match sqs.durable().await {
        Ok(()) => response,
        Err(error) => query::error_response(&error, "", context.response_format),
    })
}

/// A response the connection loop drops instead of writing (a fault rule's).
fn dropped() -> Response {
    let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

fn context_of(sqs: &Sqs, url_style: QueueUrlStyle, headers: &HeaderMap) -> RequestContext {
    let text = |name| {
        headers
            .get(name)
            .and_then(|h: &HeaderValue| h.to_str().ok())
    };
    let host = text(header::HOST).unwrap_or("localhost");
    let mut scope = sqs.settings().scope();
    if let Some(region) = request_region(text(header::AUTHORIZATION), host) {
        scope.region = region.to_string();
    }
    let mut context = RequestContext::new(host, scope);
    context.default_region.clone_from(&sqs.settings().region);
    context.url_style = url_style;
    context.response_format = query::ResponseFormat::from_accept(
        headers.get(header::ACCEPT).and_then(|h| h.to_str().ok()),
    );
    context.trace_header = headers
        .get("x-amzn-trace-id")
        .and_then(|h| h.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    context
}

fn into_response(wire: WireResponse) -> Response {
    let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, wire.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire.content_type),
    );
    if let Some(value) = wire
        .query_error
        .and_then(|q| HeaderValue::from_str(&q).ok())
    {
        headers.insert("x-amzn-query-error", value);
    }
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The data directory could not be opened or read.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// Opening the data directory panicked (a bug).
    #[error("opening the data directory failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Builds and starts an emulator.
pub struct EmulatorBuilder {
    settings: SqsSettings,
    clock: Option<Arc<dyn Clock>>,
    persist: Option<PersistOptions>,
    header_read_timeout: Duration,
    history_capacity: usize,
    phases: Option<Arc<dyn PhaseSink>>,
    url_style: QueueUrlStyle,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            settings: SqsSettings::default(),
            clock: None,
            persist: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            history_capacity: history::DEFAULT_CAPACITY,
            phases: None,
            url_style: QueueUrlStyle::Path,
        }
    }
}

impl EmulatorBuilder {
    /// The default region (of requests that name none) and the account.
    pub fn settings(mut self, settings: SqsSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The clock (by default a [`VirtualClock`]: the system's, moved forward by
    /// `POST /_slipway/clock/advance`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Keeps queues and messages in a data directory, restored at start (in memory only
    /// without it).
    pub fn persist(mut self, options: PersistOptions) -> Self {
        self.persist = Some(options);
        self
    }

    /// How long a client may take to send a request's headers before its connection is
    /// closed (10 s by default).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How many messages' histories to keep for `/_slipway/messages/{id}/history`
    /// ([`history::DEFAULT_CAPACITY`] by default; 0 keeps none and records nothing).
    pub fn message_history(mut self, capacity: usize) -> Self {
        self.history_capacity = capacity;
        self
    }

    /// Hands the phases of messages that carry a trace context (waiting, in flight, dead
    /// letter…) to `sink`, to become spans in their senders' traces. Needs a history.
    pub fn phases(mut self, sink: Arc<dyn PhaseSink>) -> Self {
        self.phases = Some(sink);
        self
    }

    /// How queue URLs are written: path style (the default) or AWS's host style,
    /// `http://sqs.<region>.<host>/<account>/<name>`.
    pub fn queue_url_style(mut self, style: QueueUrlStyle) -> Self {
        self.url_style = style;
        self
    }

    /// Binds `addr` (port 0 for any free port), restores persisted state, and serves in a
    /// background task.
    pub async fn bind(self, addr: SocketAddr) -> Result<Emulator, StartError> {
        let bind_error = |source| StartError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let sqs = Sqs::new(
            self.settings,
            self.clock
                .unwrap_or_else(|| Arc::new(VirtualClock::default())),
        );
        let persistence = match self.persist {
            Some(options) => Some(open_store(&sqs, options).await?),
            None => None,
        };
        let history = (self.history_capacity > 0).then(|| {
            let history = Arc::new(History::new(self.history_capacity, self.phases));
            sqs.attach_observer(history.clone());
            history
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let faults = Arc::new(Faults::default());
        let parts = RouterParts {
            history,
            faults: faults.clone(),
            url_style: self.url_style,
            persisted: dev_api::snapshot::Persisted(persistence.as_ref().map(|p| p.store.clone())),
        };
        let app = router(sqs.clone(), parts);
        let task = tokio::spawn(crate::listener::serve(
            listener,
            app,
            stopped,
            self.header_read_timeout,
        ));
        Ok(Emulator {
            sqs,
            faults,
            local_addr,
            stop: Some(stop),
            task,
            persistence,
        })
    }
}

/// A persistent emulator's store and the task that compacts it.
struct Persistence {
    store: Arc<Store>,
    recovery: Recovery,
    compactor: JoinHandle<()>,
}

async fn open_store(sqs: &Arc<Sqs>, options: PersistOptions) -> Result<Persistence, StartError> {
    let opened = {
        let sqs = sqs.clone();
        tokio::task::spawn_blocking(move || Store::open(&sqs, &options)).await
    };
    let (store, recovery) = opened??;
    let compactor = tokio::spawn({
        let (store, sqs) = (store.clone(), Arc::downgrade(sqs));
        async move {
            loop {
                store.compaction_wanted().await;
                let Some(sqs) = sqs.upgrade() else { return };
                let store = store.clone();
                let started = std::time::Instant::now();
                match tokio::task::spawn_blocking(move || store.compact(&sqs)).await {
                    Ok(Ok(())) => {
                        tracing::info!(elapsed = ?started.elapsed(), "compacted the SQS journal")
                    }
                    Ok(Err(e)) => tracing::error!(error = %e, "cannot compact the SQS journal"),
                    Err(e) => tracing::error!(error = %e, "journal compaction panicked"),
                }
            }
        }
    });
    Ok(Persistence {
        store,
        recovery,
        compactor,
    })
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    sqs: Arc<Sqs>,
    faults: Arc<Faults>,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    persistence: Option<Persistence>,
}

impl Emulator {
    /// A builder.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Its fault rules (what `/_slipway/faults` adds to and lists), for a host that declares
    /// rules at start.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The endpoint URL for SDKs (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The core, for in-process use (declaring queues, stats).
    pub fn sqs(&self) -> &Arc<Sqs> {
        &self.sqs
    }

    /// What was restored from the data directory, when persistent.
    pub fn recovery(&self) -> Option<&Recovery> {
        self.persistence.as_ref().map(|p| &p.recovery)
    }

    /// The data directory, when persistent.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.persistence.as_ref().map(|p| p.store.dir())
    }

    /// Compacts the journal now (persistent emulators; a no-op otherwise).
    pub async fn compact(&self) -> std::io::Result<()> {
        let Some(persistence) = &self.persistence else {
            return Ok(());
        };
        let (store, sqs) = (persistence.store.clone(), self.sqs.clone());
        tokio::task::spawn_blocking(move || store.compact(&sqs))
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)
    }

    /// Stops accepting connections, lets in-flight requests finish, syncs the journal, and
    /// waits.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        };
        if let Some(persistence) = self.persistence.take() {
            // Awaited, not only aborted: the task holds the store (and so the directory's
            // lock) until it is dropped, and a restart in the same directory needs the lock.
            persistence.compactor.abort();
            let _ = persistence.compactor.await;
            let store = persistence.store;
            tokio::task::spawn_blocking(move || store.close())
                .await
                .map_err(std::io::Error::other)?;
        }
        served
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> std::io::Result<()> {
        signal.await;
        self.shutdown().await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
