//! # devstack — Slipway's local platform
//!
//! `cargo run -p devstack` brings up Postgres, Redis and an SQS emulator, migrates, creates the
//! queues, runs the service and hands out its settings (`.devstack/env`, `.devstack/state.json`).
//! The same crate is a library: integration tests start one stack per test binary and take a
//! fresh database and fresh queues per test, with no Docker.
//!
//! Layout:
//! - [`cli`]: the command line; [`commands`]: one module per subcommand (`up`, `status`, `env`,
//!   `down`, `reset`, `logs`) and the progress display.
//! - [`launch`]: one launcher per component and backend (native Postgres and Redis, Docker,
//!   external URLs, the embedded SQS emulator, the service), each start → ready → url → stop.
//! - [`apps`]: `[[apps]]` of `devstack.toml` (the orders service by default): declarations,
//!   `${NAME}` settings, running one app.
//! - [`component`]: the component interface (a `Recipe` starts an `Instance`: url, pid,
//!   health, stop), behind which every part of a stack is held.
//! - [`stack`]: the registry of infrastructure kinds (`stack::kinds`), started concurrently,
//!   then the apps; the settings; one component's stop, start and restart by typed id.
//! - [`proxy`]: the TCP proxies in front of Postgres and Redis, and their toxics (network
//!   faults: `devstack chaos latency|bandwidth|reset-peer|timeout`).
//! - [`control`]: the running `up`'s control socket (`devstack restart|stop|start|status`).
//! - [`logs`]: every component's log file read back as one stream (`devstack logs`), and kept
//!   bounded on disk.
//! - [`otlp`]: the trace collector (`up` runs it; `devstack trace` queries it).
//! - [`snapshot`]: snapshots of the whole stack (`devstack snapshot`): Postgres, Redis and
//!   the emulator captured together, loaded back together, exported as one file.
//! - [`testing`]: one stack per test binary, `fresh_database()`, `fresh_queues()`.
//! - [`procstat`]: a process group's memory and CPU, from `/proc` (for `status`);
//!   [`listeners`]: which process listens on a port (for a start-first reload).
//! - [`process`]: child processes that cannot outlive devstack (process groups and watchdogs).
//! - [`hooks`]: `[hooks]` of `devstack.toml`, commands run once the stack is ready (once per
//!   fresh state) and before it stops.
//! - [`config`] (`devstack.toml`), [`paths`] (`.devstack/`), [`ports`], [`signals`], [`secret`]
//!   (the stack's password for Postgres and Redis).
//! - [`watch`]: reload on save (`up --watch`): watch, rebuild, replace; a failed build keeps
//!   the old process serving.
//! - [`sqs`]: `devstack sqs`, the emulator served alone (the emulator itself is the
//!   `sqs-emulator` crate under `devstack/sqs-emulator/`).
//!
//! devstack never links the `service` crate: it builds and runs it as a child process, so that
//! the service's tests can use this library without a dependency cycle.

pub mod apps;
pub mod cli;
pub mod commands;
pub mod component;
pub mod config;
pub mod control;
pub mod hooks;
pub mod launch;
pub mod listeners;
pub mod logs;
pub mod otlp;
pub mod paths;
pub mod ports;
pub mod process;
pub mod procstat;
pub mod proxy;
pub mod secret;
pub mod signals;
pub mod snapshot;
pub mod sqs;
pub mod stack;
pub mod testing;
pub mod watch;
