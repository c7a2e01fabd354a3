//! devstack's TCP proxies: one on loopback in front of Postgres and one in front of Redis,
//! so that network faults can be added to a running stack without restarting anything. The
//! `DATABASE_URL` and `REDIS_URL` apps are handed name the proxy (`up --no-proxy` opts out).
//! The model is Toxiproxy's, which users know: a proxy with "toxics" (latency with jitter,
//! bandwidth, reset-peer, timeout), at most one of each kind, added and removed at any time
//! and acting on open connections too.
//!
//! - [`toxics`]: the set in force and what it asks of a chunk or a connection;
//! - [`connection`]: one proxied connection, its two directions and its cut;
//! - here: the listener, its counters, and adding and removing toxics.
//!
//! Every proxy runs on one thread of its own with a current-thread runtime ([`io_runtime`]):
//! a round trip through a proxy is then two wake-ups on one thread, never a hand-over between
//! the stack's worker threads, which on a small machine is most of what a proxy costs.
//!
//! Written here rather than taken from a crate: `noxious` (the Rust port of Toxiproxy) has
//! had no release since 2021 and brings its own HTTP server; what a stack needs is a few
//! hundred lines on tokio.

pub mod connection;
pub mod toxics;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use slipway_contracts::chaos::{ActiveToxic, ProxyStatus, Toxic};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::stack::chaos::now_unix_ms;
use toxics::{Placed, ToxicSet};

/// A running proxy; stops listening when dropped (open connections end by themselves).
#[derive(Debug)]
pub struct Proxy {
    component: String,
    listen: String,
    upstream: String,
    toxics: Arc<watch::Sender<ToxicSet>>,
    counters: Arc<Counters>,
    serial: AtomicU64,
    accept: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Counters {
    open: AtomicU64,
    accepted: AtomicU64,
}

impl Proxy {
    /// Listens on a free loopback port and forwards each connection to `upstream`
    /// (`host:port`).
    pub async fn start(component: &str, upstream: &str) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let listen = listener.local_addr()?.to_string();
        let runtime = io_runtime()?;
        let (toxics, _) = watch::channel(ToxicSet::default());
        let toxics = Arc::new(toxics);
        let counters = Arc::new(Counters::default());
        let accept = runtime.spawn(accept_loop(
            listener,
            upstream.to_string(),
            toxics.clone(),
            counters.clone(),
        ));
        Ok(Self {
            component: component.to_string(),
            listen,
            upstream: upstream.to_string(),
            toxics,
            counters,
            serial: AtomicU64::new(0),
            accept,
        })
    }

    /// The component behind it.
    pub fn component(&self) -> &str {
        &self.component
    }

    /// Where it listens, `127.0.0.1:PORT`.
    pub fn listen(&self) -> &str {
        &self.listen
    }

    /// Adds `toxic` (replacing one of its kind); with `for_duration`, it is removed by itself
    /// then, unless replaced or removed before.
    pub fn add(&self, toxic: Toxic, for_duration: Option<Duration>) {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let now = now_unix_ms();
        let until_unix_ms = for_duration
            .map(|d| now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
        let placed = Placed {
            active: ActiveToxic {
                component: self.component.clone(),
                toxic,
                since_unix_ms: now,
                until_unix_ms,
            },
            since: Instant::now(),
            serial,
        };
        self.toxics.send_modify(|set| *set = set.with(placed));
        if let Some(after) = for_duration {
            let toxics = Arc::downgrade(&self.toxics);
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if let Some(toxics) = toxics.upgrade() {
                    toxics.send_if_modified(|set| {
                        let held = set.holds(serial);
                        if held {
                            *set = set.without(serial);
                        }
                        held
                    });
                }
            });
        }
    }

    /// Removes every toxic.
    pub fn clear(&self) {
        self.toxics.send_if_modified(|set| {
            let had = !set.is_empty();
            *set = ToxicSet::default();
            had
        });
    }

    /// The toxics in force.
    pub fn toxics(&self) -> Vec<ActiveToxic> {
        self.toxics.borrow().active()
    }

    /// Its state, as the control channel reports it.
    pub fn status(&self) -> ProxyStatus {
        ProxyStatus {
            component: self.component.clone(),
            listen: self.listen.clone(),
            upstream: self.upstream.clone(),
            connections: self.counters.open.load(Ordering::Relaxed),
            accepted: self.counters.accepted.load(Ordering::Relaxed),
            toxics: self.toxics(),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    upstream: String,
    toxics: Arc<watch::Sender<ToxicSet>>,
    counters: Arc<Counters>,
) {
    let upstream: Arc<str> = upstream.into();
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%error, "proxy cannot listen");
            return;
        }
    };
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(error) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(%error, "proxy cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        counters.open.fetch_add(1, Ordering::Relaxed);
        let (upstream, toxics, counters) = (upstream.clone(), toxics.subscribe(), counters.clone());
        tokio::spawn(async move {
            connection::serve(client, &upstream, toxics).await;
            counters.open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// The proxies' runtime: one thread, started with the first proxy, living as long as the
/// process.
fn io_runtime() -> std::io::Result<tokio::runtime::Handle> {
    static RUNTIME: std::sync::Mutex<Option<tokio::runtime::Handle>> = std::sync::Mutex::new(None);
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(handle) = slot.as_ref() {
        return Ok(handle.clone());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("devstack-proxy".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
    *slot = Some(handle.clone());
    Ok(handle)
}

/// `url` with its host and port replaced by `listen` (`127.0.0.1:PORT`): the URL apps are
/// handed when a proxy stands in front of the component. `None` when `url` has no host.
pub fn through(url: &str, listen: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    let (host, port) = listen.rsplit_once(':')?;
    parsed.set_host(Some(host)).ok()?;
    parsed.set_port(Some(port.parse().ok()?)).ok()?;
    Some(parsed.to_string())
}

/// `host:port` of a component's URL, what its proxy forwards to.
pub fn upstream_of(url: &str, default_port: u16) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let port = parsed.port().unwrap_or(default_port);
    Some(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_pointed_at_the_proxy_keeping_the_rest() {
        assert_eq!(
            through(
                "postgres://app:s3cret@127.0.0.1:5432/orders?sslmode=disable",
                "127.0.0.1:40001"
            )
            .as_deref(),
            Some("postgres://app:s3cret@127.0.0.1:40001/orders?sslmode=disable")
        );
        assert_eq!(
            through("redis://127.0.0.1:6379", "127.0.0.1:40002").as_deref(),
            Some("redis://127.0.0.1:40002")
        );
        assert_eq!(
            upstream_of("redis://localhost", 6379).as_deref(),
            Some("localhost:6379")
        );
    }
}
