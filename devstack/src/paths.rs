//! Where devstack keeps things: the workspace root and its `.devstack/` directory.
//!
//! ```text
//! .devstack/
//!   state.json   the running stack (contracts::state)      env   the same, as dotenv
//!   data/        persistent data: postgres/, redis/         logs/ one log per component
//! ```

use std::path::{Path, PathBuf};

use slipway_contracts::state::{ENV_FILE, STATE_DIR, STATE_FILE};

/// The directories of one devstack root.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The root (the workspace root by default).
    pub root: PathBuf,
    /// `root/.devstack`.
    pub dir: PathBuf,
}

impl Paths {
    /// Paths under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let dir = root.join(STATE_DIR);
        Self { root, dir }
    }

    /// The nearest ancestor of `start` whose `Cargo.toml` declares a `[workspace]`, else `start`.
    pub fn discover(start: &Path) -> Self {
        let root = start
            .ancestors()
            .find(|dir| {
                std::fs::read_to_string(dir.join("Cargo.toml"))
                    .is_ok_and(|text| text.contains("[workspace]"))
            })
            .unwrap_or(start);
        Self::new(root)
    }

    /// `.devstack/state.json`.
    pub fn state_file(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// `.devstack/env`.
    pub fn env_file(&self) -> PathBuf {
        self.dir.join(ENV_FILE)
    }

    /// `.devstack/data`, the persistent data.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `.devstack/control.sock`, the running `up`'s control channel.
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join(slipway_contracts::control::SOCKET_FILE)
    }

    /// `.devstack/logs`.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// `.devstack/snapshots`: one directory per snapshot (`devstack snapshot`); `reset`
    /// leaves it alone.
    pub fn snapshots_dir(&self) -> PathBuf {
        self.dir.join("snapshots")
    }

    /// `devstack.toml` at the root.
    pub fn config_file(&self) -> PathBuf {
        self.root.join("devstack.toml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_the_workspace_root_from_a_member() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        let member = dir.path().join("service/src");
        std::fs::create_dir_all(&member).unwrap();
        let paths = Paths::discover(&member);
        assert_eq!(paths.root, dir.path());
        assert_eq!(paths.state_file(), dir.path().join(".devstack/state.json"));
    }

    #[test]
    fn without_a_workspace_the_start_is_the_root() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Paths::discover(dir.path()).root, dir.path());
    }
}
