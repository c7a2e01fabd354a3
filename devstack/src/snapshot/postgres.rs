//! Postgres in a snapshot: one `pg_dump` archive (custom format, uncompressed: the export's
//! gzip compresses once) per database the stack made, and `pg_restore` into a database
//! created again from `template0`.
//!
//! Why `pg_dump` rather than a copy of the data directory (see ARCHITECTURE.md, "Snapshots"):
//! it works on a running server without stopping it (an MVCC snapshot, so the apps' open
//! connections stay up while saving), on any backend (native, Docker, a given URL), and its
//! archives load into the same or a newer major version, so an exported snapshot travels. A
//! data-directory copy would load faster for big databases but needs the server stopped and
//! the same major version; at the sizes a developer's stack holds, `pg_restore` meets the
//! 2-second target (see `bench/snapshot.sh`).
//!
//! The `postgres` maintenance database, roles and templates are not part of a snapshot.

use std::path::Path;

use sqlx::{Connection as _, Executor as _, PgConnection, Row as _};
use tokio::process::Command;

use super::SnapshotError;
use super::manifest::{DatabaseFile, FilePart, PostgresPart};
use crate::launch::postgres::PostgresBinaries;

/// A server, from a URL of the stack's (`postgres://user:password@host:port/any`).
#[derive(Debug, Clone)]
pub struct Server {
    url: url::Url,
    host: String,
    port: u16,
    user: String,
    password: String,
}

impl Server {
    /// Parses a component's URL.
    pub fn from_url(url: &str) -> Result<Self, SnapshotError> {
        let parsed = url::Url::parse(url).map_err(|e| {
            SnapshotError::Postgres(format!("{}: {e}", crate::launch::external::redact(url)))
        })?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Ok(Self {
            host: parsed.host_str().unwrap_or("127.0.0.1").to_string(),
            port: parsed.port().unwrap_or(5432),
            user: match parsed.username() {
                "" => "postgres".to_string(),
                user => decode(user),
            },
            password: parsed.password().map(decode).unwrap_or_default(),
            url: parsed,
        })
    }

    fn url(&self, database: &str) -> String {
        let mut url = self.url.clone();
        url.set_path(database);
        url.set_query(None);
        url.to_string()
    }

    async fn admin(&self) -> Result<PgConnection, SnapshotError> {
        PgConnection::connect(&self.url("postgres"))
            .await
            .map_err(|e| SnapshotError::Postgres(e.to_string()))
    }

    /// A client tool with the connection in its environment (the password never on a
    /// command line, where `ps` would show it).
    fn tool(&self, name: &str) -> Result<Command, SnapshotError> {
        let program = PostgresBinaries::client_tool(name).ok_or_else(|| {
            SnapshotError::Postgres(format!(
                "{name} not found (looked beside the server binaries, in PATH, pg_config \
                 --bindir and /usr/lib/postgresql/*/bin); install the PostgreSQL client tools"
            ))
        })?;
        let mut command = Command::new(program);
        command
            .env("PGHOST", &self.host)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", &self.user)
            .env("PGPASSWORD", &self.password)
            .env("PGCONNECT_TIMEOUT", "10")
            .kill_on_drop(true);
        Ok(command)
    }
}

/// Dumps every database of `server` into `dir/postgres/`.
pub async fn dump(server: &Server, dir: &Path) -> Result<PostgresPart, SnapshotError> {
    let mut admin = server.admin().await?;
    let (server_version, server_version_num) = version(&mut admin).await?;
    let names = databases(&mut admin).await?;
    let _ = admin.close().await;
    if let Some(odd) = names.iter().find(|name| !is_plain_name(name)) {
        return Err(SnapshotError::Postgres(format!(
            "database {odd:?}: snapshots hold databases named with letters, digits, '-' and '_' only"
        )));
    }
    let out = dir.join("postgres");
    std::fs::create_dir_all(&out).map_err(super::io_at(&out))?;
    let dumps = names.iter().map(|name| async move {
        let path = format!("postgres/{name}.dump");
        let mut command = server.tool("pg_dump")?;
        command
            .args(["--format=custom", "--compress=0", "--no-sync", "--file"])
            .arg(dir.join(&path))
            .arg(name);
        run(command, "pg_dump").await?;
        Ok::<_, SnapshotError>(DatabaseFile {
            name: name.clone(),
            file: FilePart::describe(dir, &path)?,
        })
    });
    let databases = futures::future::try_join_all(dumps).await?;
    Ok(PostgresPart {
        server_version,
        server_version_num,
        method: "pg_dump --format=custom, one archive per database".into(),
        databases,
    })
}

/// Refuses what this server or these tools cannot load, before anything changes: a snapshot
/// of a newer major version, or an archive `pg_restore` cannot read.
pub async fn check(server: &Server, part: &PostgresPart, dir: &Path) -> Result<(), SnapshotError> {
    let mut admin = server.admin().await?;
    let (running, running_num) = version(&mut admin).await?;
    let _ = admin.close().await;
    if part.server_version_num / 10000 > running_num / 10000 {
        return Err(SnapshotError::Refused(format!(
            "the snapshot's Postgres is {}, newer than this stack's {running}: its archives may \
             use what this server lacks. Load it on a stack with Postgres {} or newer; nothing \
             was changed",
            part.server_version,
            part.server_version_num / 10000
        )));
    }
    for database in &part.databases {
        if !is_plain_name(&database.name) {
            return Err(SnapshotError::Refused(format!(
                "the snapshot names a database {:?}, which devstack does not create; nothing \
                 was changed",
                database.name
            )));
        }
        let mut command = server.tool("pg_restore")?;
        command.arg("--list").arg(dir.join(&database.file.path));
        run(command, "pg_restore --list").await.map_err(|e| {
            SnapshotError::Refused(format!(
                "{} is not an archive this pg_restore reads ({e}); nothing was changed",
                database.file.path
            ))
        })?;
    }
    Ok(())
}

/// Makes the server's databases the snapshot's: each one dropped (its connections ended),
/// created again and restored; databases the snapshot does not have are dropped.
pub async fn restore(
    server: &Server,
    part: &PostgresPart,
    dir: &Path,
) -> Result<(), SnapshotError> {
    let mut admin = server.admin().await?;
    let (_, running_num) = version(&mut admin).await?;
    for name in databases(&mut admin).await? {
        drop_database(&mut admin, &name, running_num).await?;
    }
    let _ = admin.close().await;
    let restores = part.databases.iter().map(|database| async move {
        let archive = dir.join(&database.file.path);
        restore_as(server, &archive, &database.name).await
    });
    futures::future::try_join_all(restores).await?;
    Ok(())
}

/// Creates database `name` (from `template0`) and restores `archive` into it.
pub async fn restore_as(server: &Server, archive: &Path, name: &str) -> Result<(), SnapshotError> {
    let mut admin = server.admin().await?;
    let sql = format!(r#"CREATE DATABASE "{name}" TEMPLATE template0"#);
    admin.execute(sql.as_str()).await.map_err(pg_error)?;
    let _ = admin.close().await;
    let mut command = server.tool("pg_restore")?;
    command
        .args([
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--dbname",
        ])
        .arg(name)
        .arg(archive);
    run(command, "pg_restore").await
}

async fn drop_database(
    admin: &mut PgConnection,
    name: &str,
    version_num: u32,
) -> Result<(), SnapshotError> {
    if version_num >= 130_000 {
        let sql = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
        admin.execute(sql.as_str()).await.map_err(pg_error)?;
        return Ok(());
    }
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .execute(&mut *admin)
    .await
    .map_err(pg_error)?;
    let sql = format!(r#"DROP DATABASE IF EXISTS "{name}""#);
    admin.execute(sql.as_str()).await.map_err(pg_error)?;
    Ok(())
}

/// The server's version, as shown and as a number.
async fn version(admin: &mut PgConnection) -> Result<(String, u32), SnapshotError> {
    let row = sqlx::query(
        "SELECT current_setting('server_version'), current_setting('server_version_num')::int",
    )
    .fetch_one(&mut *admin)
    .await
    .map_err(pg_error)?;
    let num: i32 = row.get(1);
    Ok((row.get(0), u32::try_from(num).unwrap_or(0)))
}

/// The databases a snapshot holds: all but templates and the maintenance database.
async fn databases(admin: &mut PgConnection) -> Result<Vec<String>, SnapshotError> {
    let rows = sqlx::query(
        "SELECT datname FROM pg_database \
         WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY datname",
    )
    .fetch_all(&mut *admin)
    .await
    .map_err(pg_error)?;
    Ok(rows.iter().map(|row| row.get::<String, _>(0)).collect())
}

/// A name that is safe as a file name and a quoted identifier.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

async fn run(mut command: Command, what: &str) -> Result<(), SnapshotError> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| SnapshotError::Postgres(format!("cannot run {what}: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(SnapshotError::Postgres(format!(
        "{what} failed ({}): {}",
        output.status,
        stderr.trim()
    )))
}

fn pg_error(e: sqlx::Error) -> SnapshotError {
    SnapshotError::Postgres(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_a_server_and_back() {
        let server = Server::from_url("postgres://app:p%40ss@127.0.0.1:55432/slipway").unwrap();
        assert_eq!(server.user, "app");
        assert_eq!(server.password, "p@ss");
        assert_eq!(server.port, 55432);
        assert_eq!(
            server.url("postgres"),
            "postgres://app:p%40ss@127.0.0.1:55432/postgres"
        );
        assert!(Server::from_url("not a url").is_err());
    }

    #[test]
    fn database_names_are_checked_before_they_are_quoted() {
        assert!(is_plain_name("slipway"));
        assert!(is_plain_name("test_0af3"));
        for bad in ["", "a\"b", "../x", "a b", &"x".repeat(64)] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
