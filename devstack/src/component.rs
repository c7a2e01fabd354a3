//! The component interface: what every part of a stack is to the rest of devstack, whatever it
//! is (Postgres, Redis, the emulator, a container, an external URL, an app).
//!
//! - A [`Recipe`] is a component resolved for this stack — its binaries, port, data directory,
//!   password — and starts it, again and again, on the same port with the same data: a restart
//!   keeps every app's settings valid.
//! - An [`Instance`] is one run of it: its URL, pid and backend, whether it is still healthy,
//!   and how it stops.
//!
//! Restart is stop then start (`stack::entry`); a reload replaces start-first when the recipe
//! allows it (the new instance ready, then the old one stopped). Readiness is part of `start`: it returns once
//! the component answers. The stack holds components as `Box<dyn Recipe>` and
//! `Box<dyn Instance>` in a registry with typed ids (`stack::ComponentId`); the kinds of
//! infrastructure are listed in `stack::kinds::INFRASTRUCTURE`.

use slipway_contracts::state::Backend;

use crate::launch::LaunchError;

/// How to start a component (again).
#[async_trait::async_trait]
pub trait Recipe: Send + Sync + std::fmt::Debug {
    /// Starts it; returns once it is ready.
    async fn start(&self) -> Result<Box<dyn Instance>, LaunchError>;

    /// Whether devstack runs it, and so can stop and start it (not an external URL or a
    /// container whose port Docker chose).
    fn is_managed(&self) -> bool {
        true
    }

    /// Whether a reload may start a new instance while the old one still runs (on the same
    /// port), and stop the old one after: an app declared `reload = "start-first"`.
    fn starts_beside_old(&self) -> bool {
        false
    }
}

/// A running component.
#[async_trait::async_trait]
pub trait Instance: Send + Sync + std::fmt::Debug {
    /// How it is provided.
    fn backend(&self) -> Backend;

    /// The URL clients use (with its password).
    fn url(&self) -> String;

    /// The process serving it, when devstack started one.
    fn pid(&self) -> Option<u32> {
        None
    }

    /// Whether it still runs: by default, whether its process is alive.
    fn healthy(&self) -> bool {
        self.pid().is_none_or(crate::process::is_alive)
    }

    /// What its start found that a person should hear of (an emulator's recovery).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Stops it (a component devstack does not manage is left alone).
    async fn stop(self: Box<Self>);
}

/// A URL devstack was given (or a container it does not restart): checked once, never
/// stopped or started from here.
#[derive(Debug, Clone)]
pub struct Unmanaged {
    /// The URL.
    pub url: String,
    /// How it is provided (`external` or `docker`).
    pub backend: Backend,
}

#[async_trait::async_trait]
impl Instance for Unmanaged {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    async fn stop(self: Box<Self>) {}
}

/// The recipe of an [`Unmanaged`] component: it cannot be started again.
#[derive(Debug)]
pub struct NotManaged(pub String);

#[async_trait::async_trait]
impl Recipe for NotManaged {
    async fn start(&self) -> Result<Box<dyn Instance>, LaunchError> {
        Err(LaunchError::Unsupported(format!(
            "{} is not run by devstack (an external URL or a container): it cannot be started or stopped from here",
            self.0
        )))
    }

    fn is_managed(&self) -> bool {
        false
    }
}
