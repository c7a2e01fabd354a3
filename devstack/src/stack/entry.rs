//! One component of a running stack: what runs now (nothing while stopped), the recipe that
//! starts it again, and its history (when it last started, how often it restarted, its last
//! failure), from which `devstack status` and the control channel report it.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use slipway_contracts::chaos::{ActiveFault, ProcessFault};
use slipway_contracts::control::{ComponentState, ComponentStatus};
use slipway_contracts::state::Backend;

use super::chaos;
use crate::component::{Instance, Recipe};
use crate::launch::LaunchError;

/// A component of the stack.
#[derive(Debug)]
pub struct Started {
    /// `postgres`, `redis`, `sqs`, or an app's name.
    pub name: String,
    /// Launch to ready, the first time.
    pub startup: Duration,
    running: Option<Box<dyn Instance>>,
    recipe: Box<dyn Recipe>,
    backend: Backend,
    url: String,
    started_at: Instant,
    restarts: u32,
    failure: Option<String>,
    stale: Option<String>,
    fault: Option<ActiveFault>,
}

impl Started {
    /// A component that has just started.
    pub fn new(
        name: &str,
        running: Box<dyn Instance>,
        recipe: Box<dyn Recipe>,
        startup: Duration,
    ) -> Self {
        Self {
            name: name.to_string(),
            backend: running.backend(),
            url: running.url(),
            running: Some(running),
            recipe,
            startup,
            started_at: Instant::now(),
            restarts: 0,
            failure: None,
            stale: None,
            fault: None,
        }
    }

    /// Its URL (kept while it is stopped: a start takes the same port).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How it is provided.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The process serving it now, when devstack runs one.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().and_then(|r| r.pid())
    }

    /// What its start found worth telling.
    pub fn notes(&self) -> Vec<String> {
        self.running.as_ref().map(|r| r.notes()).unwrap_or_default()
    }

    /// Marks it stale: its code changed and could not be rebuilt (`why`); the running build
    /// keeps serving. Cleared by its next start.
    pub fn set_stale(&mut self, why: Option<String>) {
        self.stale = why;
    }

    /// Stops it; it stays in the stack, stopped.
    pub async fn stop(&mut self) -> Result<(), LaunchError> {
        if !self.recipe.is_managed() {
            return Err(LaunchError::Unsupported(format!(
                "{} is not run by devstack (an external URL or a container): it cannot be stopped from here",
                self.name
            )));
        }
        self.release();
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        Ok(())
    }

    /// The process fault in force on it, if any.
    pub fn fault(&self) -> Option<&ActiveFault> {
        self.fault.as_ref()
    }

    /// SIGSTOP to its processes: it keeps its connections and answers nothing.
    pub fn pause(&mut self, until_unix_ms: Option<i64>) -> Result<(), LaunchError> {
        chaos::signal_group(&self.name, self.pid(), Signal::SIGSTOP, "pause")?;
        self.fault = Some(chaos::record(
            &self.name,
            ProcessFault::Pause,
            until_unix_ms,
        ));
        Ok(())
    }

    /// SIGCONT to its processes, if paused.
    pub fn resume(&mut self) -> Result<(), LaunchError> {
        chaos::signal_group(&self.name, self.pid(), Signal::SIGCONT, "resume")?;
        self.fault = None;
        Ok(())
    }

    /// SIGKILL to its processes: a crash. It stays down until started again.
    pub fn kill(&mut self, until_unix_ms: Option<i64>) -> Result<(), LaunchError> {
        chaos::signal_group(&self.name, self.pid(), Signal::SIGKILL, "kill")?;
        self.fault = Some(chaos::record(&self.name, ProcessFault::Kill, until_unix_ms));
        Ok(())
    }

    /// Lets a paused process run again before it is stopped (a stopped process would not
    /// act on the stop signal) and forgets the fault.
    fn release(&mut self) {
        if self
            .fault
            .as_ref()
            .is_some_and(|f| f.fault == ProcessFault::Pause)
        {
            let _ = chaos::signal_group(&self.name, self.pid(), Signal::SIGCONT, "resume");
        }
        self.fault = None;
    }

    /// Starts it again from its recipe (same port, same data); a no-op when it runs. A
    /// process that died (or was killed) is cleaned up first.
    pub async fn start(&mut self) -> Result<(), LaunchError> {
        if self.running.as_ref().is_some_and(|r| r.healthy()) {
            return Ok(());
        }
        self.fault = None;
        if let Some(dead) = self.running.take() {
            dead.stop().await;
        }
        match self.recipe.start().await {
            Ok(running) => {
                self.url = running.url();
                self.running = Some(running);
                self.started_at = Instant::now();
                self.restarts += 1;
                self.failure = None;
                self.stale = None;
                Ok(())
            }
            Err(error) => {
                self.failure = Some(error.to_string());
                Err(error)
            }
        }
    }

    /// Stops it and starts it again.
    pub async fn restart(&mut self) -> Result<(), LaunchError> {
        self.stop().await?;
        self.start().await
    }

    /// Replaces it with a new run of its recipe (a reload after a rebuild): start-first when
    /// the recipe allows — the new instance starts beside the old one, and only once it is
    /// ready does the old one stop (draining as on SIGTERM); if the new one fails, the old one
    /// keeps serving. Otherwise stop, then start.
    pub async fn replace(&mut self) -> Result<(), LaunchError> {
        if !self.recipe.starts_beside_old() || self.running.is_none() {
            return self.restart().await;
        }
        let new = self.recipe.start().await?;
        self.url = new.url();
        if let Some(old) = self.running.replace(new) {
            old.stop().await;
        }
        self.started_at = Instant::now();
        self.restarts += 1;
        self.failure = None;
        self.stale = None;
        Ok(())
    }

    /// Stops it for good (the stack is stopping).
    pub async fn shut_down(mut self) {
        self.release();
        if let Some(running) = self.running {
            running.stop().await;
        }
    }

    /// Its state, as the control channel reports it.
    pub fn status(&self) -> ComponentStatus {
        let exited = self.running.as_ref().is_some_and(|r| !r.healthy());
        let paused = self
            .fault
            .as_ref()
            .is_some_and(|f| f.fault == ProcessFault::Pause);
        let state = match (&self.running, &self.failure) {
            (Some(_), _) if paused => ComponentState::Paused,
            (Some(_), _) if exited => ComponentState::Failed,
            (Some(_), _) if self.stale.is_some() => ComponentState::Stale,
            (Some(_), _) => ComponentState::Ready,
            (None, Some(_)) => ComponentState::Failed,
            (None, None) => ComponentState::Stopped,
        };
        let killed = self
            .fault
            .as_ref()
            .is_some_and(|f| f.fault == ProcessFault::Kill);
        let failure = if exited && killed {
            Some("killed by `devstack chaos kill`".to_string())
        } else if exited {
            Some("the process exited by itself (see `devstack logs`)".to_string())
        } else {
            self.failure.clone().or_else(|| self.stale.clone())
        };
        ComponentStatus {
            name: self.name.clone(),
            backend: self.backend,
            url: self.url.clone(),
            pid: self.pid(),
            state,
            uptime_ms: if self.running.is_some() {
                u64::try_from(self.started_at.elapsed().as_millis()).unwrap_or(u64::MAX)
            } else {
                0
            },
            restarts: self.restarts,
            error: failure,
        }
    }
}
