//! # service — the Slipway orders microservice
//!
//! A production service in the classic Go microservice shape, in Rust. One direction:
//! http → domain → ports; adapters implement ports.
//!
//! - [`http`]: thin axum handlers that parse, call the domain and serialize; problem+json
//!   errors, OpenAPI, `/health`, `/livez`, `/metrics`, server-sent events.
//! - [`domain`]: the orders logic in plain Rust types; knows nothing of HTTP, SQL, Redis or
//!   AWS. Unit-tested with in-memory ports.
//! - [`ports`]: the traits the domain needs. [`adapters`]: Postgres (sqlx), Redis, SQS.
//! - [`worker`]: SQS pollers → a bounded channel → a fixed pool of workers, with batched
//!   deletes, backoff, a dead-letter queue, heartbeats and a graceful drain.
//! - [`config`]: 12-factor settings (env vars, each also a flag). [`telemetry`]: tracing and
//!   the Prometheus recorder; [`otel`]: OpenTelemetry export (off without an OTLP endpoint);
//!   [`trace_context`]: W3C trace context on HTTP requests and SQS messages. [`app`]: startup
//!   and shutdown. [`probe`]: `service healthcheck`
//!   for images without curl.
//!
//! `service` depends on no other Slipway crate but `slipway-contracts` (see ARCHITECTURE.md).

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod otel;
pub mod ports;
pub mod probe;
pub mod telemetry;
pub mod trace_context;
pub mod worker;

pub use adapters::postgres::MIGRATOR;
