//! The control channel through the real binary: `devstack status` reports every component
//! (state, uptime, restarts, memory); `devstack restart redis` brings Redis back on the same
//! port with the same password and data, and a new pid; `stop` and `start` likewise; the
//! socket is its owner's only; a `logs` request answers the merged stream (Postgres and Redis,
//! the restart's lines among them, after a sequence number); unknown components and a stack
//! that is not running get clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use slipway_contracts::control::{LogLevel, Response};
use slipway_contracts::state::StackState;

use common::{run_all, start_up, wait_exit};

fn redis_ping(url: &str) -> bool {
    use std::io::{Read as _, Write as _};
    let (password, addr) = url.trim_start_matches("redis://:").split_once('@').unwrap();
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.write_all(format!("AUTH {password}\r\nSET kept yes\r\nGET kept\r\n").as_bytes());
    let mut reply = [0u8; 64];
    let n = stream.read(&mut reply).unwrap_or(0);
    String::from_utf8_lossy(&reply[..n]).starts_with("+OK")
}

/// One raw request on the control socket, as any client would send it.
fn ask(socket: &std::path::Path, request: &str) -> Response {
    use std::io::{BufRead as _, Write as _};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    stream.write_all(format!("{request}\n").as_bytes()).unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut line)
        .unwrap();
    serde_json::from_str(&line).unwrap()
}

/// Waits until the stream holds `count` lines containing `text` of `component`.
fn logs_until(socket: &std::path::Path, component: &str, text: &str, count: usize) -> Response {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = ask(socket, r#"{"command":"logs"}"#);
        let seen = response
            .logs
            .iter()
            .filter(|l| l.component == component && l.text.contains(text))
            .count();
        if seen >= count {
            return response;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count}× `{text}` of {component} never came: {:#?}",
            response.logs
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn restart_stop_and_start_one_component_of_a_running_stack() {
    let root = tempfile::tempdir().unwrap();
    let (mut up, state) = start_up(root.path(), &["--no-service"]);
    let socket = root.path().join(".devstack/control.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the control socket is its owner's only"
    );

    let (ok, text) = run_all(root.path(), &["status"]);
    assert!(ok, "{text}");
    for column in ["state", "uptime", "restarts", "rss", "cpu"] {
        assert!(text.contains(column), "{column} in:\n{text}");
    }
    // Postgres, Redis, the emulator and the trace collector.
    assert_eq!(text.matches(" ready ").count(), 4, "{text}");
    assert!(text.contains(" MB "), "memory shown:\n{text}");

    let redis_url = state.env["REDIS_URL"].clone();
    let old_pid = state.component("redis").unwrap().pid.unwrap();
    assert!(redis_ping(&redis_url));
    let (ok, text) = run_all(root.path(), &["restart", "redis"]);
    assert!(ok && text.starts_with("restarted redis in "), "{text}");
    let after = StackState::read(&root.path().join(".devstack/state.json")).unwrap();
    let new_pid = after.component("redis").unwrap().pid.unwrap();
    assert_ne!(new_pid, old_pid, "a new process");
    assert_eq!(
        after.env["REDIS_URL"], redis_url,
        "the same port and password"
    );
    assert!(redis_ping(&redis_url), "Redis answers on the same URL");
    let (_, text) = run_all(root.path(), &["status"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("  redis") && l.contains(" ready ") && l.contains(" 1 ")),
        "one restart counted:\n{text}"
    );

    // The merged stream: both starts of Redis, Postgres, in order, after a sequence number.
    let response = logs_until(&socket, "redis", "Ready to accept connections", 2);
    assert!(response.ok && response.components.is_empty());
    let logs = response.logs;
    assert!(
        logs.iter()
            .any(|l| l.component == "postgres" && l.text.contains("ready to accept")),
        "{logs:#?}"
    );
    assert!(logs.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(logs.iter().all(|l| l.level >= LogLevel::Debug));
    let last = logs.last().unwrap().seq;
    let middle = logs[logs.len() / 2].seq;
    let after = ask(
        &socket,
        &format!(r#"{{"command":"logs","after":{middle},"limit":1}}"#),
    );
    assert_eq!(after.logs.len(), 1);
    assert_eq!(after.logs[0].seq, middle + 1);
    let newer = ask(&socket, &format!(r#"{{"command":"logs","after":{last}}}"#)).logs;
    assert!(newer.iter().all(|l| l.seq > last), "{newer:#?}");

    let (ok, text) = run_all(root.path(), &["stop", "redis"]);
    assert!(ok, "{text}");
    assert!(!redis_ping(&redis_url), "stopped");
    let (ok, text) = run_all(root.path(), &["status"]);
    assert!(
        !ok && text.contains("stopped") && text.contains("not ready: redis"),
        "{text}"
    );
    let (ok, text) = run_all(root.path(), &["start", "redis"]);
    assert!(ok, "{text}");
    assert!(redis_ping(&redis_url), "started again on the same URL");

    let (ok, text) = run_all(root.path(), &["restart", "mysql"]);
    assert!(
        !ok && text.contains("no component `mysql`; there are: postgres, redis, sqs"),
        "{text}"
    );

    kill(
        Pid::from_raw(i32::try_from(up.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    assert!(wait_exit(&mut up, Duration::from_secs(30)).is_some());
    assert!(!socket.exists(), "the socket goes with the stack");
    let (ok, text) = run_all(root.path(), &["restart", "redis"]);
    assert!(
        !ok && text.contains("no devstack is running here"),
        "{text}"
    );
}
