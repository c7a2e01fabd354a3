//! The stack's TCP proxies ([`crate::proxy`]), one per component apps reach through one
//! (Postgres, Redis), by component name: started once the components are up, kept while a
//! component restarts on its port, dropped with the stack.

use crate::launch::LaunchError;
use crate::proxy::{self, Proxy};
use slipway_contracts::chaos::ProxyStatus;

/// The proxies of a stack.
#[derive(Debug, Default)]
pub struct Proxies {
    proxies: Vec<Proxy>,
}

impl Proxies {
    /// Starts a proxy in front of `component`, reached at `url` (whose port is
    /// `default_port` when it names none).
    pub async fn start(
        &mut self,
        component: &str,
        url: &str,
        default_port: u16,
    ) -> Result<(), LaunchError> {
        let upstream = proxy::upstream_of(url, default_port).ok_or_else(|| {
            LaunchError::Unsupported(format!("{component}: no host and port in its URL"))
        })?;
        let started = Proxy::start(component, &upstream)
            .await
            .map_err(|e| LaunchError::Io(format!("{component}: cannot start its proxy: {e}")))?;
        self.proxies.push(started);
        Ok(())
    }

    /// The URL apps are handed for `component`: its proxy's when it has one, else `url`.
    pub fn url_for(&self, component: &str, url: &str) -> String {
        self.proxies
            .iter()
            .find(|p| p.component() == component)
            .and_then(|p| proxy::through(url, p.listen()))
            .unwrap_or_else(|| url.to_string())
    }

    /// `component`'s proxy, or an error that says which components have one.
    pub fn get(&self, component: &str) -> Result<&Proxy, LaunchError> {
        self.proxies
            .iter()
            .find(|p| p.component() == component)
            .ok_or_else(|| {
                let known: Vec<&str> = self.proxies.iter().map(Proxy::component).collect();
                LaunchError::Unsupported(if known.is_empty() {
                    format!(
                        "{component} has no proxy: this stack runs without proxies \
                         (`--no-proxy`, or given URLs only), so network faults cannot be added"
                    )
                } else {
                    format!(
                        "{component} has no proxy; network faults go to: {}",
                        known.join(", ")
                    )
                })
            })
    }

    /// Removes every proxy's toxics.
    pub fn clear(&self) {
        self.proxies.iter().for_each(Proxy::clear);
    }

    /// Every proxy's state.
    pub fn statuses(&self) -> Vec<ProxyStatus> {
        self.proxies.iter().map(Proxy::status).collect()
    }
}
