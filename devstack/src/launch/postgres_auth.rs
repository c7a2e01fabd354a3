//! Password authentication for devstack's Postgres: SCRAM on loopback, the password the
//! stack's ([`crate::secret`]).
//!
//! devstack owns `pg_hba.conf`. Its first line carries a fingerprint (a SHA-256 prefix, not
//! the password) of the password the superuser has. When the line is missing or names
//! another password — a data directory made by a devstack that used trust authentication,
//! or a stack whose password file was replaced — the password is set first in single-user
//! mode (`postgres --single`, the statement on its stdin): no connection is needed, so no
//! authentication, and the password appears on no command line.

use std::path::Path;
use std::process::Stdio;

use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use super::LaunchError;
use super::postgres::SUPERUSER;

const MARKER: &str = "# devstack: SCRAM password authentication, loopback only; password";

/// The first line of devstack's `pg_hba.conf` for `password`.
fn marker(password: &str) -> String {
    let digest = Sha256::digest(format!("slipway-devstack:{password}").as_bytes());
    format!("{MARKER} {}", &hex::encode(digest)[..16])
}

/// The whole `pg_hba.conf`.
pub fn hba_conf(password: &str) -> String {
    format!(
        "{}\n\
         # TYPE  DATABASE  USER  ADDRESS        METHOD\n\
         host    all       all   127.0.0.1/32   scram-sha-256\n\
         host    all       all   ::1/128        scram-sha-256\n",
        marker(password)
    )
}

/// Whether `data_dir`'s `pg_hba.conf` is devstack's, for `password`.
pub fn is_current(data_dir: &Path, password: &str) -> bool {
    std::fs::read_to_string(data_dir.join("pg_hba.conf"))
        .is_ok_and(|text| text.lines().next() == Some(marker(password).as_str()))
}

/// Makes `data_dir` require `password` (before the server starts): sets it in single-user
/// mode unless `pg_hba.conf` says it is set, then writes `pg_hba.conf`. `as_user` makes a
/// command run as the server's user; `own` gives it a file.
pub async fn require_password(
    postgres: &Path,
    data_dir: &Path,
    password: &str,
    as_user: impl Fn(&mut Command),
    own: impl Fn(&Path) -> Result<(), LaunchError>,
) -> Result<(), LaunchError> {
    if is_current(data_dir, password) {
        return Ok(());
    }
    set_password_single_user(postgres, data_dir, password, as_user).await?;
    write_hba(data_dir, password, own)
}

/// Writes devstack's `pg_hba.conf` for `password` (after `initdb --pwfile` set it).
pub fn write_hba(
    data_dir: &Path,
    password: &str,
    own: impl Fn(&Path) -> Result<(), LaunchError>,
) -> Result<(), LaunchError> {
    let hba = data_dir.join("pg_hba.conf");
    crate::secret::write_private(&hba, hba_conf(password).as_bytes())
        .map_err(|e| LaunchError::Io(format!("cannot write {}: {e}", hba.display())))?;
    own(&hba)
}

async fn set_password_single_user(
    postgres: &Path,
    data_dir: &Path,
    password: &str,
    as_user: impl Fn(&mut Command),
) -> Result<(), LaunchError> {
    let mut command = Command::new(postgres);
    command
        .arg("--single")
        .arg("-D")
        .arg(data_dir)
        .args(["-c", "log_min_messages=warning", "postgres"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    as_user(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| LaunchError::Io(format!("cannot run {} --single: {e}", postgres.display())))?;
    let statements = format!(
        "SET password_encryption = 'scram-sha-256';\nALTER ROLE \"{SUPERUSER}\" PASSWORD '{}';\n",
        password.replace('\'', "''")
    );
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(statements.as_bytes())
            .await
            .map_err(|e| LaunchError::Io(format!("postgres --single: {e}")))?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| LaunchError::Io(format!("postgres --single: {e}")))?;
    let errors = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || errors.contains("ERROR") {
        return Err(LaunchError::Startup {
            component: "postgres".into(),
            reason: "cannot set the superuser's password in single-user mode".into(),
            log_tail: format!("{}{errors}", String::from_utf8_lossy(&output.stdout)),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_the_password_without_showing_it() {
        let conf = hba_conf("s3cret");
        assert!(!conf.contains("s3cret"));
        assert_ne!(marker("s3cret"), marker("other"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pg_hba.conf"), &conf).unwrap();
        assert!(is_current(dir.path(), "s3cret"));
        assert!(!is_current(dir.path(), "other"));
        assert!(!conf.contains("trust"), "{conf}");
    }
}
