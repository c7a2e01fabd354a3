//! Postgres, native: find the server binaries, `initdb` once per data dir, run `postgres` as a
//! child on a port, ready when a connection succeeds, fast shutdown (SIGINT) on stop.
//!
//! Postgres refuses to run as root. As root, initdb and postgres run as an unprivileged user
//! (the `postgres` system user where present, else `nobody`) that owns the data directory.
//!
//! Authentication is SCRAM with the stack's password ([`crate::secret`]) on loopback only:
//! devstack writes `pg_hba.conf` itself, with a fingerprint of the password in its first line.
//! When the fingerprint is missing or stale (a data directory from a devstack that used trust
//! authentication, or a new password), the password is set first in single-user mode, which
//! needs no connection and shows the password on no command line.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::{Gid, Uid, User};
use sqlx::Connection;
use tokio::process::Command;

use super::{LaunchError, wait_ready};
use crate::process::ManagedChild;

/// The superuser devstack creates and connects as (SCRAM, loopback only).
pub const SUPERUSER: &str = "postgres";
/// The database created for the application.
pub const APP_DATABASE: &str = "slipway";

/// Where the server binaries are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresBinaries {
    /// The directory holding `postgres` and `initdb`.
    pub bin_dir: PathBuf,
}

impl PostgresBinaries {
    /// Looks in PATH, `pg_config --bindir`, Debian's `/usr/lib/postgresql/*/bin` (newest first)
    /// and Homebrew's prefixes.
    pub fn find() -> Option<Self> {
        candidates()
            .into_iter()
            .find(|dir| dir.join("postgres").is_file() && dir.join("initdb").is_file())
            .map(|bin_dir| Self { bin_dir })
    }

    /// A client tool (`pg_dump`, `pg_restore`): the one installed with the server found (through
    /// a symlink such as `/usr/local/bin/postgres`, to its real directory), else the first in
    /// the places [`Self::find`] looks.
    pub fn client_tool(name: &str) -> Option<PathBuf> {
        let server_dir = Self::find()
            .and_then(|found| std::fs::canonicalize(found.bin_dir.join("postgres")).ok())
            .and_then(|real| real.parent().map(std::path::Path::to_path_buf));
        server_dir
            .into_iter()
            .chain(candidates())
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    }

    fn program(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

fn candidates() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    if let Ok(output) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        && output.status.success()
    {
        dirs.push(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim(),
        ));
    }
    let mut versioned = |pattern_root: &str, prefix: &str, suffix: &str| {
        let Ok(entries) = std::fs::read_dir(pattern_root) else {
            return;
        };
        let mut found: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let version = name
                    .strip_prefix(prefix)?
                    .split('.')
                    .next()?
                    .parse::<u32>()
                    .ok()?;
                Some((version, e.path().join(suffix)))
            })
            .collect();
        found.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
        dirs.extend(found.into_iter().map(|(_, p)| p));
    };
    versioned("/usr/lib/postgresql", "", "bin");
    versioned("/opt/homebrew/opt", "postgresql@", "bin");
    versioned("/usr/local/opt", "postgresql@", "bin");
    dirs.push(PathBuf::from("/opt/homebrew/opt/postgresql/bin"));
    dirs.push(PathBuf::from("/usr/local/opt/postgresql/bin"));
    dirs
}

/// Options of a native Postgres.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// The data directory (created and initialized when empty).
    pub data_dir: PathBuf,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// Ephemeral: fsync and friends off.
    pub ephemeral: bool,
    /// The log file.
    pub log: PathBuf,
    /// A directory the watchdog removes if devstack dies (an ephemeral stack's root).
    pub cleanup_on_crash: Option<PathBuf>,
    /// The superuser's password, see [`crate::secret`].
    pub password: String,
}

/// A running native Postgres.
#[derive(Debug)]
pub struct NativePostgres {
    child: ManagedChild,
    port: u16,
    password: String,
}

/// The user to run Postgres as: the current user, or as root an unprivileged one.
#[derive(Debug, Clone)]
struct RunAs {
    user: Option<(String, Uid, Gid)>,
}

impl RunAs {
    fn detect() -> Result<Self, LaunchError> {
        if !Uid::effective().is_root() {
            return Ok(Self { user: None });
        }
        for name in ["postgres", "nobody"] {
            if let Ok(Some(user)) = User::from_name(name) {
                return Ok(Self {
                    user: Some((name.to_string(), user.uid, user.gid)),
                });
            }
        }
        Err(LaunchError::Unsupported(
            "Postgres refuses to run as root, and neither a `postgres` nor a `nobody` user exists to run it as. \
             Create one (`useradd --system postgres`) or run devstack as a normal user."
                .into(),
        ))
    }

    pub(crate) fn apply(&self, command: &mut Command) {
        if let Some((_, uid, gid)) = &self.user {
            command.uid(uid.as_raw()).gid(gid.as_raw());
        }
    }

    /// Gives one file to the user (no check of its ancestors: see [`Self::own`]).
    pub(crate) fn give(&self, path: &Path) -> Result<(), LaunchError> {
        let Some((name, uid, gid)) = &self.user else {
            return Ok(());
        };
        nix::unistd::chown(path, Some(*uid), Some(*gid)).map_err(|e| {
            LaunchError::Unsupported(format!(
                "cannot give {} to user {name}: {e}",
                path.display()
            ))
        })
    }

    /// Makes `dir` (and `also`) owned by the user, and every ancestor traversable by it.
    pub(crate) fn own(&self, dir: &Path, also: &[&Path]) -> Result<(), LaunchError> {
        let Some((name, uid, gid)) = &self.user else {
            return Ok(());
        };
        for path in std::iter::once(dir).chain(also.iter().copied()) {
            nix::unistd::chown(path, Some(*uid), Some(*gid)).map_err(|e| {
                LaunchError::Unsupported(format!(
                    "cannot give {} to user {name}: {e}",
                    path.display()
                ))
            })?;
        }
        for ancestor in dir.ancestors().skip(1) {
            use std::os::unix::fs::PermissionsExt as _;
            let Ok(meta) = std::fs::metadata(ancestor) else {
                continue;
            };
            if meta.permissions().mode() & 0o001 == 0 {
                return Err(cannot_enter(name, ancestor));
            }
        }
        Ok(())
    }
}

/// The error for a data directory the server's user cannot reach, with what to do.
fn cannot_enter(user: &str, dir: &Path) -> LaunchError {
    LaunchError::Unsupported(format!(
        "Postgres refuses to run as root, so devstack runs it as user {user}, but {user} cannot \
         enter {dir} (mode 700?). Nothing was started. Either let others traverse it \
         (`chmod o+x {dir}`; they still cannot list or read it), or keep the stack elsewhere \
         (`devstack --root /srv/slipway up`, or DEVSTACK_ROOT), or run devstack as a normal user, \
         or use --ephemeral (data in /tmp).",
        dir = dir.display()
    ))
}

impl NativePostgres {
    /// Initializes the data directory if needed, starts Postgres and waits until it accepts a
    /// connection; then creates the application database.
    pub async fn start(
        binaries: &PostgresBinaries,
        options: &PostgresOptions,
    ) -> Result<Self, LaunchError> {
        let run_as = RunAs::detect()?;
        let io = |what: &str, e: std::io::Error| {
            LaunchError::Io(format!("{what} {}: {e}", options.data_dir.display()))
        };
        std::fs::create_dir_all(&options.data_dir).map_err(|e| io("cannot create", e))?;
        if let Some(parent) = options.log.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("cannot create log dir for", e))?;
        }
        // Appended to, never truncated: a restart's lines follow the last run's (`devstack
        // logs` and the TUI read on; rotation bounds the file).
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&options.log)
            .map_err(|e| io("cannot create log for", e))?;
        set_mode(&options.data_dir, 0o700);
        run_as.own(&options.data_dir, &[&options.log])?;
        if !options.data_dir.join("PG_VERSION").is_file() {
            initdb(binaries, options, &run_as).await?;
            super::postgres_auth::write_hba(&options.data_dir, &options.password, |path| {
                run_as.give(path)
            })?;
        }
        remove_stale_pid_file(&options.data_dir);
        super::postgres_auth::require_password(
            &binaries.program("postgres"),
            &options.data_dir,
            &options.password,
            |command| run_as.apply(command),
            |path| run_as.give(path),
        )
        .await?;

        let mut command = Command::new(binaries.program("postgres"));
        command
            .arg("-D")
            .arg(&options.data_dir)
            .args(["-p", &options.port.to_string(), "-h", "127.0.0.1", "-k", ""])
            .args([
                "-c",
                "max_connections=300",
                "-c",
                "log_min_messages=warning",
                // A time `devstack logs` can read and merge (logs::line).
                "-c",
                "log_line_prefix=%m [%p] ",
                "-c",
                "log_timezone=UTC",
            ]);
        if options.ephemeral {
            command.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        run_as.apply(&mut command);
        let mut child = ManagedChild::spawn_with_cleanup(
            "postgres",
            command,
            &options.log,
            Signal::SIGINT,
            options.cleanup_on_crash.as_deref(),
        )
        .map_err(|e| LaunchError::Io(e.to_string()))?;

        let url = admin_url(options.port, &options.password, "postgres");
        let ready = wait_ready(
            Duration::from_secs(30),
            || {
                let url = url.clone();
                async move {
                    sqlx::PgConnection::connect(&url)
                        .await
                        .map(|c| drop(c.close()))
                        .is_ok()
                }
            },
            || child.try_exit().map(|status| status.to_string()),
        )
        .await;
        if let Err(reason) = ready {
            let tail = child.log_tail(15);
            child.stop(Duration::from_secs(5)).await;
            return Err(LaunchError::Startup {
                component: "postgres".into(),
                reason,
                log_tail: tail,
            });
        }
        let postgres = Self {
            child,
            port: options.port,
            password: options.password.clone(),
        };
        create_database_if_missing(&postgres.admin_url(), APP_DATABASE).await?;
        Ok(postgres)
    }

    /// The application database's URL.
    pub fn url(&self) -> String {
        admin_url(self.port, &self.password, APP_DATABASE)
    }

    /// The URL of the `postgres` maintenance database.
    pub fn admin_url(&self) -> String {
        admin_url(self.port, &self.password, "postgres")
    }

    /// The postmaster's pid.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Fast shutdown.
    pub async fn stop(self) {
        self.child.stop(Duration::from_secs(10)).await;
    }
}

#[async_trait::async_trait]
impl crate::component::Instance for NativePostgres {
    fn backend(&self) -> slipway_contracts::state::Backend {
        slipway_contracts::state::Backend::Native
    }

    fn url(&self) -> String {
        NativePostgres::url(self)
    }

    fn pid(&self) -> Option<u32> {
        Some(NativePostgres::pid(self))
    }

    async fn stop(self: Box<Self>) {
        NativePostgres::stop(*self).await;
    }
}

fn admin_url(port: u16, password: &str, database: &str) -> String {
    format!("postgres://{SUPERUSER}:{password}@127.0.0.1:{port}/{database}")
}

async fn initdb(
    binaries: &PostgresBinaries,
    options: &PostgresOptions,
    run_as: &RunAs,
) -> Result<(), LaunchError> {
    // The superuser's password, through a file only the server's user can read, removed
    // after.
    let pwfile = options.data_dir.with_extension("pwfile");
    crate::secret::write_private(&pwfile, options.password.as_bytes())
        .map_err(|e| LaunchError::Io(format!("cannot write {}: {e}", pwfile.display())))?;
    run_as.give(&pwfile)?;
    let mut command = Command::new(binaries.program("initdb"));
    command
        .arg("-D")
        .arg(&options.data_dir)
        .arg(format!("--pwfile={}", pwfile.display()))
        .args([
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]);
    run_as.apply(&mut command);
    let started = Instant::now();
    let output = command.output().await;
    let _ = std::fs::remove_file(&pwfile);
    let output = output.map_err(|e| {
        LaunchError::Io(format!(
            "cannot run {}: {e}",
            binaries.program("initdb").display()
        ))
    })?;
    if !output.status.success() {
        return Err(LaunchError::Startup {
            component: "postgres".into(),
            reason: format!("initdb failed ({})", output.status),
            log_tail: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    tracing::debug!("initdb took {:?}", started.elapsed());
    Ok(())
}

/// Creates `database` unless it exists.
pub async fn create_database_if_missing(
    admin_url: &str,
    database: &str,
) -> Result<(), LaunchError> {
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| LaunchError::Io(format!("postgres: {e}")))?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(database)
        .fetch_optional(&mut conn)
        .await
        .map_err(|e| LaunchError::Io(format!("postgres: {e}")))?;
    if exists.is_none() {
        sqlx::query(&format!(
            "CREATE DATABASE \"{}\"",
            database.replace('"', "\"\"")
        ))
        .execute(&mut conn)
        .await
        .map_err(|e| {
            LaunchError::Io(format!("postgres: cannot create database {database}: {e}"))
        })?;
    }
    let _ = conn.close().await;
    Ok(())
}

/// A `postmaster.pid` left by a crashed server whose process is gone blocks a new start.
fn remove_stale_pid_file(data_dir: &Path) {
    let pid_file = data_dir.join("postmaster.pid");
    let Ok(text) = std::fs::read_to_string(&pid_file) else {
        return;
    };
    let pid = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<u32>().ok());
    if pid.is_some_and(|pid| !crate::process::is_alive(pid)) {
        let _ = std::fs::remove_file(pid_file);
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_server_binaries_on_this_machine() {
        // Every machine that runs the test suite has them (.ci/run installs them).
        let binaries = PostgresBinaries::find().expect("postgres server binaries");
        assert!(binaries.bin_dir.join("postgres").is_file());
    }

    #[test]
    fn a_directory_the_server_user_cannot_enter_is_refused_with_what_to_do() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("home");
        std::fs::create_dir_all(private.join("project")).unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        let nobody = RunAs {
            user: Some(("nobody".into(), Uid::from_raw(65534), Gid::from_raw(65534))),
        };
        // `own` chowns first: only root may, so check the message itself elsewhere.
        let error = cannot_enter("nobody", &private).to_string();
        assert!(
            error.contains(&format!("chmod o+x {}", private.display())),
            "{error}"
        );
        assert!(error.contains("--root"), "{error}");
        if Uid::effective().is_root() {
            let data = private.join("project/pg");
            std::fs::create_dir_all(&data).unwrap();
            let refused = nobody.own(&data, &[]).unwrap_err().to_string();
            assert!(refused.contains("cannot enter"), "{refused}");
        }
    }

    #[test]
    fn a_stale_pid_file_is_removed_and_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("postmaster.pid");
        std::fs::write(&pid_file, "999999999\n/data\n").unwrap();
        remove_stale_pid_file(dir.path());
        assert!(!pid_file.exists());
        std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
        remove_stale_pid_file(dir.path());
        assert!(pid_file.exists());
    }
}
