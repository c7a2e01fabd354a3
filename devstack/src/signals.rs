//! The shutdown signal: Ctrl-C (SIGINT) or SIGTERM, whichever comes first.
//!
//! [`Shutdown`] listens from the moment it is created, so a command that creates it first
//! (as `devstack up` does, before it starts anything) hears a signal sent at any moment of
//! a long start — the build of the service, the wait for Postgres — not only once the stack
//! is up.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Listens for SIGINT and SIGTERM from its creation on.
#[derive(Debug)]
pub struct Shutdown {
    interrupt: Option<Signal>,
    terminate: Option<Signal>,
}

impl Shutdown {
    /// Starts listening. A signal whose handler cannot be installed is ignored (the other
    /// still works), as tokio reports that only on exotic platforms.
    pub fn listen() -> Self {
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Completes at the next SIGINT or SIGTERM (at once for one already received).
    pub async fn recv(&mut self) {
        let interrupt = async {
            match &mut self.interrupt {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        let terminate = async {
            match &mut self.terminate {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = interrupt => {}
            () = terminate => {}
        }
    }
}

/// Completes on Ctrl-C or SIGTERM (listening from the first poll).
pub async fn shutdown_signal() {
    Shutdown::listen().recv().await;
}
