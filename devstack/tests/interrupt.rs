//! Signals at any moment of `devstack up`: a SIGINT while the service builds, a SIGTERM while
//! Postgres is awaited — `up` stops within seconds and leaves no process behind. Stand-ins
//! for cargo and postgres (shell scripts that never finish) make "during the build" and
//! "during the wait" certain rather than a race. Also: errors are printed for people, with
//! no backtrace even under `RUST_BACKTRACE=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{KillOnDrop, all_gone_within, wait_exit};
use devstack::process::is_alive;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_devstack");

/// A directory every user may enter and write (the stand-in postgres runs as `postgres`
/// when the test runs as root).
fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("devstack-interrupt-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn wait_for_file(path: &Path, limit: Duration, up: &mut KillOnDrop) -> u32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(up.try_wait().unwrap().is_none(), "devstack up exited early");
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The exit status within `limit`, or the child is killed and `None` returned.
fn exits_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let status = wait_exit(child, limit);
    if status.is_none() {
        let _ = child.kill();
    }
    status
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .filter(|pid| is_alive(*pid))
        .collect()
}

fn spawn_up(root: &Path, env: &[(&str, &Path)], extra: &[&str]) -> KillOnDrop {
    let log = std::fs::File::create(root.join("up.log")).unwrap();
    let mut command = Command::new(BIN);
    command
        .arg("--root")
        .arg(root)
        .args([
            "up",
            "--postgres-port",
            "0",
            "--redis-port",
            "0",
            "--sqs-port",
            "0",
            "--otlp-port",
            "0",
            "--otlp-grpc-port",
            "0",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    for (key, value) in env {
        command.env(key, value);
    }
    KillOnDrop(command.spawn().unwrap())
}

#[test]
fn sigint_during_the_build_stops_up_the_build_and_the_stack() {
    let root = open_dir();
    let marks = open_dir();
    // A build that never ends, with a compiler-like child of its own.
    let cargo = script(
        marks.path(),
        "fake-cargo",
        &format!(
            "sleep 300 &\necho $! > {dir}/compiler.pid\necho $$ > {dir}/cargo.pid\nwait",
            dir = marks.path().display()
        ),
    );
    let mut up = spawn_up(root.path(), &[("CARGO", &cargo)], &[]);
    let cargo_pid = wait_for_file(
        &marks.path().join("cargo.pid"),
        Duration::from_secs(60),
        &mut up,
    );
    let compiler_pid = wait_for_file(
        &marks.path().join("compiler.pid"),
        Duration::from_secs(5),
        &mut up,
    );
    // Postgres and Redis are up by now (the build comes after them).
    let root_text = root.path().to_str().unwrap().to_string();
    assert!(
        !processes_mentioning(&root_text).is_empty(),
        "the stack is running"
    );

    kill(
        Pid::from_raw(i32::try_from(up.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    let status = exits_within(&mut up, Duration::from_secs(10)).expect("up stops within 10 s");
    assert!(!status.success(), "an interrupted start is not a success");
    let log = std::fs::read_to_string(root.path().join("up.log")).unwrap();
    assert!(log.contains("interrupted while starting"), "{log}");

    assert!(
        all_gone_within(&[cargo_pid, compiler_pid], Duration::from_secs(8)),
        "the build and its children are stopped"
    );
    let left = processes_mentioning(&root_text);
    assert!(
        all_gone_within(&left, Duration::from_secs(8)),
        "nothing of the stack is left: {left:?}"
    );
}

#[test]
fn sigterm_while_waiting_for_postgres_stops_up_and_postgres() {
    let root = open_dir();
    let bin = open_dir();
    // A postgres that never becomes ready, and an initdb that only marks the directory.
    script(
        bin.path(),
        "initdb",
        "for a in \"$@\"; do case \"$prev\" in -D) d=\"$a\";; esac; prev=\"$a\"; done\nmkdir -p \"$d\" && echo 15 > \"$d/PG_VERSION\"",
    );
    script(
        bin.path(),
        "postgres",
        &format!(
            "echo $$ > {}/postgres.pid\nexec sleep 300",
            bin.path().display()
        ),
    );
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut up = spawn_up(
        root.path(),
        &[("PATH", Path::new(&path))],
        &["--no-service", "--backend", "native"],
    );
    let postgres_pid = wait_for_file(
        &bin.path().join("postgres.pid"),
        Duration::from_secs(30),
        &mut up,
    );
    std::thread::sleep(Duration::from_millis(300));

    kill(
        Pid::from_raw(i32::try_from(up.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();
    let status = exits_within(&mut up, Duration::from_secs(10)).expect("up stops within 10 s");
    assert!(!status.success());
    assert!(
        all_gone_within(&[postgres_pid], Duration::from_secs(8)),
        "the postgres being waited for is stopped"
    );
    let left = processes_mentioning(root.path().to_str().unwrap());
    assert!(
        all_gone_within(&left, Duration::from_secs(8)),
        "left: {left:?}"
    );
}

#[test]
fn errors_are_printed_for_people_even_with_rust_backtrace_set() {
    let root = open_dir();
    let data = root.path().join("sqs-data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(
        data.join("journal-00000001.log"),
        b"not a data file at all, really",
    )
    .unwrap();
    let output = Command::new(BIN)
        .arg("--root")
        .arg(root.path())
        .args(["sqs", "--port", "0", "--no-declared-queues", "--data-dir"])
        .arg(&data)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("journal-00000001.log"), "{stderr}");
    assert!(
        !stderr.contains("backtrace") && !stderr.contains("<unknown>"),
        "no backtrace for a user error: {stderr}"
    );
}

#[test]
fn devstack_sqs_refuses_a_damaged_file_and_repairs_it_when_asked() {
    let root = open_dir();
    let data = root.path().join("sqs-data");
    std::fs::create_dir(&data).unwrap();
    let junk = b"not a data file at all, really".to_vec();
    std::fs::write(data.join("journal-00000001.log"), &junk).unwrap();
    let run = |extra: &[&str]| {
        let mut child = Command::new(BIN)
            .arg("--root")
            .arg(root.path())
            .args(["sqs", "--port", "0", "--no-declared-queues", "--data-dir"])
            .arg(&data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let _ = kill(
            Pid::from_raw(i32::try_from(child.id()).unwrap()),
            Signal::SIGTERM,
        );
        let status = exits_within(&mut child, Duration::from_secs(10));
        let output = child.wait_with_output().unwrap();
        (
            status,
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (status, text) = run(&[]);
    assert!(!status.unwrap().success(), "{text}");
    assert!(text.contains("--repair"), "{text}");
    assert_eq!(
        std::fs::read(data.join("journal-00000001.log")).unwrap(),
        junk
    );

    let (_, text) = run(&["--repair"]);
    assert!(text.contains("repair kept 0 record(s)"), "{text}");
    let aside: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "moved aside, not deleted");
    assert_eq!(std::fs::read(aside[0].path()).unwrap(), junk);
}
