//! Apps: the programs a stack runs on top of its infrastructure, declared as data in
//! `devstack.toml` (`[[apps]]`) — the orders service is the default declaration — rather than
//! written into devstack.
//!
//! - [`declaration`]: an `[[apps]]` table, the default one (the orders service), and the checks
//!   that refuse a bad file with the line at fault (unknown dependencies, cycles, settings no
//!   component provides).
//! - [`template`]: `${NAME}` in an app's command and env, filled from the stack's settings.
//! - [`process`]: running one app — build, setup, start with its settings on its port, wait
//!   for its health check, stop (SIGTERM, as the service drains).

pub mod declaration;
pub mod process;
pub mod template;
