//! # service — the Slipway orders microservice
//!
//! A production service in the classic Go microservice shape, in Rust:
//!
//! - `http`: thin axum handlers that parse, call the domain and serialize (problem+json errors,
//!   OpenAPI, `/health`, `/livez`, `/metrics`).
//! - `domain`: the orders logic in plain Rust types; knows nothing of HTTP, SQL, Redis or AWS.
//! - `ports` / `adapters`: repository and publisher traits, implemented with sqlx (Postgres),
//!   redis and aws-sdk-sqs.
//! - `worker`: SQS pollers → a bounded channel → a fixed pool of workers, with batched deletes,
//!   backoff, a dead-letter queue and a graceful drain.
//! - [`config`]: the 12-factor configuration (env vars, each also a CLI flag).
//!
//! Today only [`config`] exists; the layers above land with the service issue. `service` depends
//! on no other Slipway crate except `slipway-contracts` (see ARCHITECTURE.md).

pub mod config;
