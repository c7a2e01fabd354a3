//! The control channel of a running `devstack up`: a Unix socket at `.devstack/control.sock`
//! that other processes — `devstack restart|stop|start COMPONENT`, `devstack status`, later
//! the TUI — use to act on the running stack. JSON lines, one request → one answer; the
//! messages are `slipway_contracts::control`.
//!
//! Only the stack's owner gets in: the socket is mode 0600 and every connection's peer
//! credentials are checked (another user is refused even if the mode were wider). No TCP.
//!
//! - [`server`]: the listener `up` runs, which carries requests out on the stack.
//!
//! The client is `slipway_contracts::client`, shared with the TUI and the load tester.

pub mod server;
