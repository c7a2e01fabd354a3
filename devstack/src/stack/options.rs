//! What a stack is asked to be ([`StackOptions`]: ephemeral or persistent, ports, backends,
//! given URLs, the trace collector's sink) and how its start reports progress ([`Progress`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::DevstackConfig;

/// What to start, and how.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Data in a temporary directory removed at stop (and fsync off).
    pub ephemeral: bool,
    /// Where persistent data lives (ignored when ephemeral).
    pub data_dir: PathBuf,
    /// Where logs go (inside the temporary directory when ephemeral and `None`).
    pub log_dir: Option<PathBuf>,
    /// Ports, backends and queues.
    pub config: DevstackConfig,
    /// Use this Postgres instead of starting one.
    pub postgres_url: Option<String>,
    /// Use this Redis instead of starting one.
    pub redis_url: Option<String>,
    /// Use this SQS endpoint instead of starting one.
    pub sqs_url: Option<String>,
    /// Start the emulator over damaged data files, keeping what can be read.
    pub repair: bool,
    /// Hand apps Postgres's and Redis's own URLs instead of devstack's TCP proxies (no
    /// network faults then).
    pub no_proxy: bool,
    /// Run the trace collector, its spans going here (`up` does; tests need not).
    pub telemetry: Option<crate::otlp::receiver::Sink>,
}

impl StackOptions {
    /// An ephemeral stack on free ports with the default queues: what tests want.
    pub fn ephemeral_on_free_ports() -> Self {
        let mut config = DevstackConfig::default();
        config.ports.postgres = 0;
        config.ports.redis = 0;
        config.ports.sqs = 0;
        config.ports.service = 0;
        config.ports.otlp = 0;
        config.ports.otlp_grpc = 0;
        Self {
            ephemeral: true,
            data_dir: PathBuf::new(),
            log_dir: None,
            config,
            postgres_url: None,
            redis_url: None,
            sqs_url: None,
            repair: false,
            no_proxy: false,
            telemetry: None,
        }
    }
}

/// Reports progress of the concurrent start (a terminal progress display, or nothing).
pub trait Progress: Sync {
    /// `component` is starting.
    fn starting(&self, component: &str);
    /// `component` is ready with `backend` after `elapsed`.
    fn ready(&self, component: &str, backend: &str, elapsed: Duration);
    /// `component` failed.
    fn failed(&self, component: &str);
    /// What `component` is doing now (a build's progress).
    fn message(&self, _component: &str, _text: &str) {}
}

/// No progress display.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn starting(&self, _: &str) {}
    fn ready(&self, _: &str, _: &str, _: Duration) {}
    fn failed(&self, _: &str) {}
}
