//! `devstack logs` through the real binary, against a running stack and after it stopped:
//! Postgres's and Redis's real logs and the service's JSON log merged in time order, each
//! line prefixed with its component, JSON shown readably, plain when piped; component,
//! `--grep` and `--since` filters; `-f` follows what is written next.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use common::{BIN, KillOnDrop, run, start_up, wait_exit};

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn service_line(message: &str, request_id: &str) -> String {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    format!(
        "{{\"timestamp\":\"{now}\",\"level\":\"INFO\",\"message\":\"{message}\",\"target\":\"access\",\"status\":200,\"span\":{{\"request_id\":\"{request_id}\",\"name\":\"request\"}}}}\n"
    )
}

#[test]
fn logs_merges_every_component_in_time_order_and_follows() {
    let root = tempfile::tempdir().unwrap();
    let (mut up, _) = start_up(root.path(), &["--no-service", "--ephemeral"]);
    let logs = root.path().join(".devstack/logs");
    std::thread::sleep(Duration::from_millis(300));
    append(&logs.join("service.log"), &service_line("request", "req-1"));

    let (ok, out, err) = run(root.path(), &["logs"]);
    assert!(ok, "{err}");
    assert!(!out.contains('\u{1b}'), "plain when piped: {out}");
    for prefix in ["postgres |", "   redis |", " service |"] {
        assert!(
            out.lines().any(|l| l.starts_with(prefix)),
            "{prefix} in:\n{out}"
        );
    }
    assert!(
        out.contains(" service | ") && out.contains("INFO  request status=200 request_id=req-1"),
        "the JSON line shown readably:\n{out}"
    );
    let service_at = out.lines().position(|l| l.contains("req-1")).unwrap();
    let ready_at = out
        .lines()
        .position(|l| l.contains("ready to accept connections"))
        .unwrap();
    assert!(ready_at < service_at, "time order:\n{out}");

    let (_, only_redis, _) = run(root.path(), &["logs", "redis"]);
    assert!(
        only_redis.lines().all(|l| l.starts_with("redis |")),
        "{only_redis}"
    );
    let (_, grepped, _) = run(root.path(), &["logs", "--grep", "req-1"]);
    assert_eq!(grepped.lines().count(), 1, "{grepped}");
    let (_, recent, _) = run(root.path(), &["logs", "--since", "1h"]);
    assert!(recent.contains("req-1"));
    let (ok, _, unknown) = run(root.path(), &["logs", "mysql"]);
    assert!(
        !ok && unknown.contains("there are: postgres, redis, service"),
        "{unknown}"
    );

    // -f prints what is written next.
    let followed = root.path().join("follow.out");
    let mut follow = KillOnDrop(
        Command::new(BIN)
            .arg("--root")
            .arg(root.path())
            .args(["logs", "-f", "service"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&followed).unwrap())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    append(&logs.join("service.log"), &service_line("later", "req-2"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&followed)
        .unwrap()
        .contains("req-2")
    {
        assert!(Instant::now() < deadline, "-f never printed the new line");
        std::thread::sleep(Duration::from_millis(100));
    }
    kill(
        Pid::from_raw(i32::try_from(follow.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    assert!(
        wait_exit(&mut follow, Duration::from_secs(5)).is_some(),
        "-f stops on Ctrl-C"
    );

    // After the stack stopped, the files are still read.
    kill(
        Pid::from_raw(i32::try_from(up.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    assert!(wait_exit(&mut up, Duration::from_secs(30)).is_some());
    let (ok, after, _) = run(root.path(), &["logs", "postgres"]);
    assert!(
        ok && after.contains("ready to accept connections"),
        "{after}"
    );
}
