//! Redis, native: `redis-server` as a child with its port and directory; append-only
//! persistence in persistent mode, none in ephemeral mode; a password (`requirepass`) given
//! through an owner-only config file, never on the command line, where any local user could
//! read it; ready when it answers PING after AUTH.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{LaunchError, wait_ready};
use crate::process::ManagedChild;

/// Options of a native Redis.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Its working directory (append-only file and dumps).
    pub data_dir: PathBuf,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// No persistence at all.
    pub ephemeral: bool,
    /// The log file.
    pub log: PathBuf,
    /// The password clients must give (`AUTH`), see [`crate::secret`].
    pub password: String,
}

/// A running native Redis.
#[derive(Debug)]
pub struct NativeRedis {
    child: ManagedChild,
    port: u16,
    password: String,
}

/// `redis-server` on PATH (or Homebrew's prefixes), if any.
pub fn find_binary() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

/// How many logical databases a native Redis has.
pub const DATABASES: u32 = 1024;

impl NativeRedis {
    /// Starts Redis and waits until it answers PING.
    pub async fn start(binary: &Path, options: &RedisOptions) -> Result<Self, LaunchError> {
        std::fs::create_dir_all(&options.data_dir).map_err(|e| {
            LaunchError::Io(format!("cannot create {}: {e}", options.data_dir.display()))
        })?;
        // The config file must be the first argument; the rest override nothing in it.
        let config = options.data_dir.join("devstack-redis.conf");
        crate::secret::write_private(
            &config,
            format!("requirepass {}\n", options.password).as_bytes(),
        )
        .map_err(|e| LaunchError::Io(format!("cannot write {}: {e}", config.display())))?;
        let mut command = Command::new(binary);
        command
            .arg(&config)
            .args([
                "--port",
                &options.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "no",
                "--logfile",
                "",
            ])
            .arg("--dir")
            .arg(&options.data_dir)
            .args(["--save", ""])
            // More logical databases than Redis's 16: tests take one each
            // (`TestStack::from_snapshot`); an empty one costs nothing.
            .args(["--databases", &DATABASES.to_string()]);
        if options.ephemeral {
            command.args(["--appendonly", "no"]);
        } else {
            command.args(["--appendonly", "yes", "--appendfsync", "everysec"]);
        }
        let mut child = ManagedChild::spawn("redis", command, &options.log, Signal::SIGTERM)
            .map_err(|e| LaunchError::Io(e.to_string()))?;
        let port = options.port;
        let ready = wait_ready(
            Duration::from_secs(15),
            || ping(port, Some(&options.password)),
            || child.try_exit().map(|s| s.to_string()),
        )
        .await;
        if let Err(reason) = ready {
            let tail = child.log_tail(15);
            child.stop(Duration::from_secs(5)).await;
            return Err(LaunchError::Startup {
                component: "redis".into(),
                reason,
                log_tail: tail,
            });
        }
        Ok(Self {
            child,
            port,
            password: options.password.clone(),
        })
    }

    /// `redis://:PASSWORD@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://:{}@127.0.0.1:{}", self.password, self.port)
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// SIGTERM (Redis flushes its append-only file), then wait.
    pub async fn stop(self) {
        self.child.stop(Duration::from_secs(10)).await;
    }
}

#[async_trait::async_trait]
impl crate::component::Instance for NativeRedis {
    fn backend(&self) -> slipway_contracts::state::Backend {
        slipway_contracts::state::Backend::Native
    }

    fn url(&self) -> String {
        NativeRedis::url(self)
    }

    fn pid(&self) -> Option<u32> {
        Some(NativeRedis::pid(self))
    }

    async fn stop(self: Box<Self>) {
        NativeRedis::stop(*self).await;
    }
}

/// Whether a Redis on 127.0.0.1:`port` answers `PING` with `+PONG` (after `AUTH` with
/// `password`, when given).
pub async fn ping(port: u16, password: Option<&str>) -> bool {
    ping_addr(&format!("127.0.0.1:{port}"), password).await
}

/// Whether a Redis at `addr` (`host:port`) answers `PING`, after `AUTH` when a password is
/// given.
pub async fn ping_addr(addr: &str, password: Option<&str>) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let (request, expected): (String, &[u8]) = match password {
            Some(password) => (format!("AUTH {password}\r\nPING\r\n"), b"+OK\r\n+PONG\r\n"),
            None => ("PING\r\n".to_string(), b"+PONG\r\n"),
        };
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut reply = vec![0u8; expected.len()];
        stream.read_exact(&mut reply).await.ok()?;
        Some(reply == expected)
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
