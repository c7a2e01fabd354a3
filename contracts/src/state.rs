//! The schema of `.devstack/state.json`: what a running devstack tells other tools.
//!
//! `devstack up` writes it once every component is ready and removes it on a clean stop;
//! `devstack status`/`down`, `tui` and `loadtest` read it. The same settings are written as
//! dotenv lines to `.devstack/env` (see [`StackState::env_vars`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The directory, relative to the workspace root, where devstack keeps its state and data.
pub const STATE_DIR: &str = ".devstack";
/// The state file's name inside [`STATE_DIR`].
pub const STATE_FILE: &str = "state.json";
/// The dotenv file's name inside [`STATE_DIR`].
pub const ENV_FILE: &str = "env";
/// The schema version written in every state file.
pub const SCHEMA_VERSION: u32 = 1;

/// How a component is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A local binary run as a child process.
    Native,
    /// A container started through a Docker engine.
    Docker,
    /// A URL the user supplied; devstack does not manage its lifetime.
    External,
    /// Inside the devstack process (the SQS emulator).
    Embedded,
}

/// One running component of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// `postgres`, `redis`, `sqs` or `service`.
    pub name: String,
    /// How it is provided.
    pub backend: Backend,
    /// The URL clients use (`postgres://…`, `redis://…`, `http://…`).
    pub url: String,
    /// The process id, for native components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Milliseconds from launch to ready.
    pub startup_ms: u64,
}

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackState {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// The pid of the `devstack up` process that owns the stack.
    pub devstack_pid: u32,
    /// Whether the stack's data lives in a temporary directory.
    pub ephemeral: bool,
    /// The components, in start order.
    pub components: Vec<Component>,
    /// The environment a client uses: `DATABASE_URL`, `REDIS_URL`, `AWS_ENDPOINT_URL`,
    /// `SQS_QUEUE_URL`, `SQS_DLQ_URL`, and `SERVICE_URL` when the service runs.
    pub env: BTreeMap<String, String>,
}

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// No state file at the path: no stack is running there.
    #[error("no devstack state at {0} (is `cargo run -p devstack` running?)")]
    NotFound(PathBuf),
    /// The file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a state file of a known schema.
    #[error("{path} is not a valid devstack state file: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

impl StackState {
    /// The component with this name, if any.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// The settings as dotenv text (`KEY=value` lines, sorted), as written to `.devstack/env`.
    pub fn env_vars(&self) -> String {
        self.env
            .iter()
            .map(|(key, value)| format!("{key}={value}\n"))
            .collect()
    }

    /// Reads a state file.
    pub fn read(path: &Path) -> Result<Self, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NotFound(path.to_owned()));
            }
            Err(source) => {
                return Err(StateError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|source| StateError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes a state file atomically (a temporary file renamed over the target), so that a
    /// reader never sees half a file.
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        let io_err = |source| StateError::Io {
            path: path.to_owned(),
            source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|source| StateError::Parse {
            path: path.to_owned(),
            source,
        })?;
        let tmp = path.with_extension("json.tmp");
        write_owner_only(&tmp, text.as_bytes()).map_err(io_err)?;
        std::fs::rename(&tmp, path).map_err(io_err)
    }
}

/// Writes `bytes` to `path` readable by its owner only (0600 on Unix): the state file and
/// `.devstack/env` hold URLs with the stack's password.
pub fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let mut file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        options.open(path)?.write_all(bytes)
    }
}

/// Finds the state file for the current directory: `$DEVSTACK_STATE` if set, else
/// `.devstack/state.json` in the nearest ancestor directory that has one.
pub fn locate(start: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DEVSTACK_STATE") {
        return Some(PathBuf::from(path));
    }
    start
        .ancestors()
        .map(|dir| dir.join(STATE_DIR).join(STATE_FILE))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StackState {
        StackState {
            schema_version: SCHEMA_VERSION,
            devstack_pid: 42,
            ephemeral: false,
            components: vec![Component {
                name: "sqs".into(),
                backend: Backend::Embedded,
                url: "http://127.0.0.1:9324".into(),
                pid: None,
                startup_ms: 3,
            }],
            env: BTreeMap::from([
                (
                    "AWS_ENDPOINT_URL".to_string(),
                    "http://127.0.0.1:9324".to_string(),
                ),
                (
                    "SQS_QUEUE_URL".to_string(),
                    "http://127.0.0.1:9324/000000000000/orders".to_string(),
                ),
            ]),
        }
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        sample().write(&path).unwrap();
        assert_eq!(StackState::read(&path).unwrap(), sample());
    }

    #[test]
    fn backend_names_are_lowercase_on_the_wire() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(json["components"][0]["backend"], "embedded");
        assert!(json["components"][0].get("pid").is_none());
    }

    #[cfg(unix)]
    #[test]
    fn the_state_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        sample().write(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn env_vars_are_sorted_dotenv_lines() {
        assert_eq!(
            sample().env_vars(),
            "AWS_ENDPOINT_URL=http://127.0.0.1:9324\nSQS_QUEUE_URL=http://127.0.0.1:9324/000000000000/orders\n"
        );
    }

    #[test]
    fn a_missing_file_says_no_stack_runs() {
        let dir = tempfile::tempdir().unwrap();
        let err = StackState::read(&dir.path().join("nope.json")).unwrap_err();
        assert!(matches!(err, StateError::NotFound(_)));
        assert!(err.to_string().contains("cargo run -p devstack"));
    }

    #[test]
    fn a_garbled_file_is_a_parse_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            StackState::read(&path),
            Err(StateError::Parse { .. })
        ));
    }
}
