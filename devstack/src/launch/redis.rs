//! Redis, native: `redis-server` as a child with its port and directory; append-only
//! persistence in persistent mode, none in ephemeral mode; ready when it answers PING.

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
}

/// A running native Redis.
#[derive(Debug)]
pub struct NativeRedis {
    child: ManagedChild,
    port: u16,
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

impl NativeRedis {
    /// Starts Redis and waits until it answers PING.
    pub async fn start(binary: &Path, options: &RedisOptions) -> Result<Self, LaunchError> {
        std::fs::create_dir_all(&options.data_dir).map_err(|e| {
            LaunchError::Io(format!("cannot create {}: {e}", options.data_dir.display()))
        })?;
        let mut command = Command::new(binary);
        command
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
            .args(["--save", ""]);
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
            || ping(port),
            || child.try_exit().map(|s| s.to_string()),
        )
        .await;
        if let Err(reason) = ready {
            let tail = child.log_tail(15);
            child.stop(Duration::from_secs(5)).await;
            return Err(LaunchError::Startup {
                component: "redis",
                reason,
                log_tail: tail,
            });
        }
        Ok(Self { child, port })
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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

/// Whether a Redis on 127.0.0.1:`port` answers `PING` with `+PONG`.
pub async fn ping(port: u16) -> bool {
    ping_addr(&format!("127.0.0.1:{port}")).await
}

/// Whether a Redis at `addr` (`host:port`) answers `PING`.
pub async fn ping_addr(addr: &str) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await.ok()?;
        Some(&reply == b"+PONG\r\n")
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
