//! The stack's password: one per stack, for Postgres (SCRAM) and Redis (`requirepass`), so
//! that on a shared machine (a CI runner, a team server) another local user cannot read or
//! change a developer's data over loopback.
//!
//! A persistent stack keeps it in `.devstack/data/password` (owner-only, removed by `reset`
//! with the data it protects); an ephemeral stack and the test library make a new one each
//! time. It reaches clients inside the URLs devstack hands out (`.devstack/env` and
//! `state.json`, both owner-only), and is redacted wherever a URL is shown.

use std::path::Path;

/// A new random password: 32 hex digits (122 random bits, from the OS's generator).
pub fn generate() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The password kept at `path`, made (owner-only) when missing.
pub fn load_or_create(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let password = generate();
    write_private(path, password.as_bytes())?;
    Ok(password)
}

/// Writes `bytes` to `path`, readable and writable by its owner only (mode 0600), replacing
/// what was there.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    slipway_contracts::state::write_owner_only(path, bytes)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_password_is_made_once_and_kept_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/password");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(load_or_create(&path).unwrap(), first);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_ne!(generate(), generate());
    }
}
