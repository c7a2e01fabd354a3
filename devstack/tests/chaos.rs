//! `devstack chaos` through the real binary on a real stack: a paused Redis accepts a
//! connection and answers nothing until resumed (SIGSTOP to its process group), and `status`
//! and `chaos list` show the fault while it lasts; `kill --for` brings the component back by
//! itself with a new pid; the embedded emulator, which has no process of its own, points to its
//! fault rules; a missing component is a clear error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use slipway_contracts::state::StackState;

use common::{run_all, start_up};

/// Whether Redis at `url` answers a PING within `patience`.
fn redis_answers(url: &str, patience: Duration) -> bool {
    let (password, addr) = url.trim_start_matches("redis://:").split_once('@').unwrap();
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(patience));
    let _ = stream.write_all(format!("AUTH {password}\r\nPING\r\n").as_bytes());
    let mut reply = Vec::new();
    let mut buffer = [0u8; 64];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buffer[..n]);
        if String::from_utf8_lossy(&reply).contains("+PONG") {
            return true;
        }
    }
    false
}

fn eventually(what: &str, limit: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pause_resume_and_kill_for_a_while() {
    let root = tempfile::tempdir().unwrap();
    let (_up, state) = start_up(root.path(), &["--no-service"]);
    let redis = state.env["REDIS_URL"].clone();
    assert!(redis_answers(&redis, Duration::from_secs(2)));

    let (ok, text) = run_all(root.path(), &["chaos", "pause", "redis"]);
    assert!(ok && text.starts_with("paused redis (pid "), "{text}");
    assert!(
        !redis_answers(&redis, Duration::from_millis(700)),
        "a paused Redis answered"
    );
    let (ok, text) = run_all(root.path(), &["status"]);
    assert!(!ok && text.contains("paused"), "{text}");
    assert!(text.contains("chaos: redis"), "{text}");
    let (ok, text) = run_all(root.path(), &["chaos", "list"]);
    assert!(
        ok && text.contains("redis") && text.contains("paused"),
        "{text}"
    );

    let (ok, text) = run_all(root.path(), &["chaos", "resume", "redis"]);
    assert!(ok, "{text}");
    assert!(redis_answers(&redis, Duration::from_secs(2)), "resumed");
    let (_, text) = run_all(root.path(), &["chaos", "list"]);
    assert!(text.contains("no faults in force"), "{text}");

    let old_pid = state.component("redis").unwrap().pid.unwrap();
    let (ok, text) = run_all(root.path(), &["chaos", "kill", "redis", "--for", "1s"]);
    assert!(ok && text.contains("started again in 1s"), "{text}");
    eventually("redis down", Duration::from_secs(5), || {
        !redis_answers(&redis, Duration::from_millis(300))
    });
    eventually("redis back by itself", Duration::from_secs(20), || {
        redis_answers(&redis, Duration::from_millis(500))
    });
    let state_file = root.path().join(".devstack/state.json");
    eventually(
        "a new pid in the state file",
        Duration::from_secs(10),
        || {
            StackState::read(&state_file)
                .ok()
                .and_then(|s| s.component("redis").and_then(|c| c.pid))
                .is_some_and(|pid| pid != old_pid)
        },
    );

    // Pausing for a while ends by itself too.
    let (ok, text) = run_all(root.path(), &["chaos", "pause", "redis", "--for", "1s"]);
    assert!(ok, "{text}");
    eventually("redis resumed by itself", Duration::from_secs(10), || {
        redis_answers(&redis, Duration::from_millis(500))
    });

    let (ok, text) = run_all(root.path(), &["chaos", "pause", "sqs"]);
    assert!(!ok && text.contains("/_slipway/faults"), "{text}");
    let (ok, text) = run_all(root.path(), &["chaos", "kill", "mysql"]);
    assert!(!ok && text.contains("no component `mysql`"), "{text}");
    let (ok, text) = run_all(root.path(), &["chaos", "pause"]);
    assert!(!ok && text.contains("needs a COMPONENT"), "{text}");
}
