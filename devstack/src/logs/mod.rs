//! Every component's log in one place. Each component of a stack writes its own file under
//! `.devstack/logs/` (`postgres.log`, `redis.log`, `service.log`, `build.log`, …); this module
//! reads them back as one stream in time order, for `devstack logs` and the service's echo.
//!
//! - [`line`]: the time of a line in each component's own format, and the service's JSON
//!   lines rendered for people.
//! - [`files`]: which file belongs to which component, reading and merging them, and keeping
//!   them bounded on disk (rotation).
//! - [`tail`]: following a file as it grows, and across a rotation.
//! - [`level`]: how severe a line is, in each component's own words.
//! - [`hub`]: the merged stream a running `up` keeps in memory for the control channel.

pub mod files;
pub mod hub;
pub mod level;
pub mod line;
pub mod tail;
