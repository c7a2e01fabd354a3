//! Where snapshots live: `.devstack/snapshots/NAME/`, one directory each (its manifest and its
//! files). A snapshot is written into a staging directory beside them and renamed into place
//! once complete, so a crash or a failure mid-save never leaves a half snapshot under a name;
//! `--force` replaces an old one only after the new one is whole.

use std::path::{Path, PathBuf};

use super::SnapshotError;
use super::manifest::Manifest;

/// The snapshots of one stack.
#[derive(Debug, Clone)]
pub struct Library {
    root: PathBuf,
}

/// A snapshot as `list` shows it.
#[derive(Debug)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Its manifest, or why it cannot be read.
    pub manifest: Result<Manifest, String>,
}

impl Library {
    /// The library under `root` (`.devstack/snapshots`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory of snapshot `name`, which must exist.
    pub fn existing(&self, name: &str) -> Result<PathBuf, SnapshotError> {
        let dir = self.dir(name)?;
        if dir.join(super::manifest::FILE).is_file() {
            Ok(dir)
        } else {
            Err(SnapshotError::NotFound(name.to_string()))
        }
    }

    /// Every snapshot, by name.
    pub fn list(&self) -> Result<Vec<Listed>, SnapshotError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(super::io_at(&self.root)(e)),
        };
        let mut listed = Vec::new();
        for entry in entries {
            let entry = entry.map_err(super::io_at(&self.root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_valid_name(&name) || !entry.path().is_dir() {
                continue;
            }
            let manifest = Manifest::read(&entry.path()).map_err(|e| e.to_string());
            listed.push(Listed { name, manifest });
        }
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    /// A new, empty directory to write a snapshot into (removed when dropped).
    pub fn staging(&self) -> Result<tempfile::TempDir, SnapshotError> {
        std::fs::create_dir_all(&self.root).map_err(super::io_at(&self.root))?;
        tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(&self.root)
            .map_err(super::io_at(&self.root))
    }

    /// Puts a complete snapshot in place under `name`; an existing one is replaced only with
    /// `force`.
    pub fn commit(
        &self,
        staging: tempfile::TempDir,
        name: &str,
        force: bool,
    ) -> Result<PathBuf, SnapshotError> {
        let dir = self.dir(name)?;
        let old = self.root.join(format!(".replaced-{name}"));
        if dir.exists() {
            if !force {
                return Err(SnapshotError::Exists(name.to_string()));
            }
            remove_dir_if_present(&old)?;
            std::fs::rename(&dir, &old).map_err(super::io_at(&dir))?;
        }
        let staged = staging.keep();
        std::fs::rename(&staged, &dir).map_err(super::io_at(&dir))?;
        remove_dir_if_present(&old)?;
        Ok(dir)
    }

    /// Deletes snapshot `name`.
    pub fn remove(&self, name: &str) -> Result<(), SnapshotError> {
        let dir = self.existing(name)?;
        std::fs::remove_dir_all(&dir).map_err(super::io_at(&dir))
    }

    fn dir(&self, name: &str) -> Result<PathBuf, SnapshotError> {
        if is_valid_name(name) {
            Ok(self.root.join(name))
        } else {
            Err(SnapshotError::BadName(name.to_string()))
        }
    }
}

/// 1-64 letters, digits, `.`, `-` or `_`, starting with a letter or a digit: a directory
/// name on every system, and never a path.
pub fn is_valid_name(name: &str) -> bool {
    name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn remove_dir_if_present(path: &Path) -> Result<(), SnapshotError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(super::io_at(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_directory_names() {
        for good in ["bug-123", "before.migration", "a", "X_1"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", ".hidden", "-x", "a/b", "..", "a b", &"x".repeat(65)] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_commit_refuses_to_replace_without_force_and_keeps_the_old_one() {
        let root = tempfile::tempdir().unwrap();
        let library = Library::new(root.path().join("snapshots"));
        let first = library.staging().unwrap();
        std::fs::write(first.path().join("manifest.json"), "1").unwrap();
        let dir = library.commit(first, "s", false).unwrap();
        let second = library.staging().unwrap();
        std::fs::write(second.path().join("manifest.json"), "2").unwrap();
        assert!(matches!(
            library.commit(second, "s", false),
            Err(SnapshotError::Exists(_))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.join("manifest.json")).unwrap(),
            "1"
        );
        let third = library.staging().unwrap();
        std::fs::write(third.path().join("manifest.json"), "3").unwrap();
        library.commit(third, "s", true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("manifest.json")).unwrap(),
            "3"
        );
        // Nothing is left behind: no staging or replaced directories.
        let left: Vec<_> = std::fs::read_dir(root.path().join("snapshots"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["s"]);
        library.remove("s").unwrap();
        assert!(matches!(
            library.remove("s"),
            Err(SnapshotError::NotFound(_))
        ));
    }
}
