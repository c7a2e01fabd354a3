//! The TCP proxies in front of Postgres and Redis through the real binary: `REDIS_URL` and
//! `DATABASE_URL` name the proxies; a client measures `chaos latency` (on a connection opened
//! before the fault, too), `bandwidth`, `reset-peer` and `timeout`; `chaos list` and `status`
//! show them; `--for` and `chaos reset` take them away; `--no-proxy` hands out the components'
//! own URLs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{run_all, start_up};

/// A Redis connection that speaks just enough RESP for these checks.
struct Redis {
    stream: TcpStream,
}

impl Redis {
    fn connect(url: &str) -> Self {
        let (password, addr) = url.trim_start_matches("redis://:").split_once('@').unwrap();
        let mut redis = Self {
            stream: TcpStream::connect(addr).unwrap(),
        };
        redis
            .stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        redis.command(&["AUTH", password]).unwrap();
        redis
    }

    /// Sends a command and reads one whole reply: its bytes, or the error the socket gave.
    fn command(&mut self, args: &[&str]) -> std::io::Result<Vec<u8>> {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.stream.write_all(request.as_bytes())?;
        let mut reply = Vec::new();
        let mut buffer = vec![0_u8; 64 * 1024];
        loop {
            let n = self.stream.read(&mut buffer)?;
            if n == 0 {
                return Err(ErrorKind::UnexpectedEof.into());
            }
            reply.extend_from_slice(&buffer[..n]);
            if complete(&reply) {
                return Ok(reply);
            }
        }
    }

    /// How long a PING takes.
    fn ping(&mut self) -> Duration {
        let started = Instant::now();
        let reply = self.command(&["PING"]).unwrap();
        assert_eq!(reply, b"+PONG\r\n");
        started.elapsed()
    }
}

/// Whether `reply` holds one whole simple or bulk RESP reply.
fn complete(reply: &[u8]) -> bool {
    let Some(end) = reply.windows(2).position(|w| w == b"\r\n") else {
        return false;
    };
    if reply[0] != b'$' {
        return true;
    }
    let length: i64 = std::str::from_utf8(&reply[1..end])
        .unwrap()
        .parse()
        .unwrap();
    length < 0 || reply.len() >= end + 2 + usize::try_from(length).unwrap() + 2
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn network_faults_act_through_the_proxies_and_go_away() {
    let root = tempfile::tempdir().unwrap();
    let (_up, state) = start_up(root.path(), &["--no-service"]);
    let redis_url = state.env["REDIS_URL"].clone();
    let redis_component = state.component("redis").unwrap().url.clone();
    assert_ne!(
        port_of(&redis_url),
        port_of(&redis_component),
        "REDIS_URL names the proxy"
    );
    let database = state.component("postgres").unwrap().url.clone();
    assert_ne!(port_of(&state.env["DATABASE_URL"]), port_of(&database));

    let mut before = Redis::connect(&redis_url);
    assert!(before.ping() < Duration::from_millis(200));

    let (ok, text) = run_all(
        root.path(),
        &["chaos", "latency", "redis", "300ms", "--jitter", "20ms"],
    );
    assert!(ok && text.contains("redis: latency 300ms ±20ms"), "{text}");
    let slow = before.ping();
    assert!(
        slow >= Duration::from_millis(270) && slow < Duration::from_secs(3),
        "a connection opened before the fault: {slow:?}"
    );
    let mut after = Redis::connect(&redis_url);
    assert!(after.ping() >= Duration::from_millis(270));
    let (_, list) = run_all(root.path(), &["chaos", "list"]);
    assert!(list.contains("latency 300ms ±20ms"), "{list}");
    let (_, status) = run_all(root.path(), &["status"]);
    assert!(
        status.contains("proxy: redis") && status.contains("chaos: redis"),
        "{status}"
    );

    let (ok, text) = run_all(root.path(), &["chaos", "reset"]);
    assert!(ok, "{text}");
    assert!(before.ping() < Duration::from_millis(200), "reset");
    let (_, list) = run_all(root.path(), &["chaos", "list"]);
    assert!(list.contains("no faults in force"), "{list}");

    // 100 KB back at 100 KB/s takes about a second.
    let value = "x".repeat(100_000);
    before.command(&["SET", "big", &value]).unwrap();
    let (ok, text) = run_all(root.path(), &["chaos", "bandwidth", "redis", "100KB/s"]);
    assert!(ok, "{text}");
    let started = Instant::now();
    let reply = before.command(&["GET", "big"]).unwrap();
    assert!(reply.len() > 100_000);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    run_all(root.path(), &["chaos", "reset"]);

    // A black hole: nothing comes back while it lasts.
    let (ok, text) = run_all(root.path(), &["chaos", "timeout", "redis"]);
    assert!(ok, "{text}");
    before
        .stream
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let error = before.command(&["PING"]).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{error:?}"
    );
    run_all(root.path(), &["chaos", "reset"]);

    // Reset-peer cuts open connections and refuses new ones.
    let (ok, text) = run_all(root.path(), &["chaos", "reset-peer", "redis"]);
    assert!(ok, "{text}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        after.command(&["PING"]).is_err(),
        "an open connection was cut"
    );
    let mut refused = TcpStream::connect(redis_url.rsplit('@').next().unwrap()).unwrap();
    refused
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut byte = [0_u8; 1];
    let read = refused.read(&mut byte);
    assert!(
        matches!(&read, Err(e) if e.kind() == ErrorKind::ConnectionReset) || matches!(read, Ok(0)),
        "{read:?}"
    );
    run_all(root.path(), &["chaos", "reset"]);
    assert!(Redis::connect(&redis_url).ping() < Duration::from_millis(200));

    // `--for` takes a fault away by itself.
    let (ok, text) = run_all(
        root.path(),
        &["chaos", "latency", "redis", "400ms", "--for", "1s"],
    );
    assert!(ok && text.contains("removed in 1s"), "{text}");
    let mut fresh = Redis::connect(&redis_url);
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        fresh.ping() < Duration::from_millis(200),
        "removed by itself"
    );

    let (ok, text) = run_all(root.path(), &["chaos", "latency", "sqs", "10ms"]);
    assert!(
        !ok && text.contains("network faults go to: postgres, redis"),
        "{text}"
    );
    let (ok, text) = run_all(root.path(), &["chaos", "bandwidth", "redis", "0"]);
    assert!(!ok && text.contains("timeout"), "{text}");
}

#[test]
fn no_proxy_hands_out_the_components_own_urls() {
    let root = tempfile::tempdir().unwrap();
    let (_up, state) = start_up(root.path(), &["--no-service", "--no-proxy"]);
    let redis = state.component("redis").unwrap().url.clone();
    assert_eq!(port_of(&state.env["REDIS_URL"]), port_of(&redis));
    let (ok, text) = run_all(root.path(), &["chaos", "latency", "redis", "10ms"]);
    assert!(!ok && text.contains("--no-proxy"), "{text}");
}
