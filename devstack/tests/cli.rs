//! The `devstack` binary as a user runs it: `up` spawned by the test, then `status`, `env`,
//! `down`, `reset` against it; SIGKILL of `up` leaves no child alive; a second `up` in the
//! same directory refuses; an unprivileged user can run it too.

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{KillOnDrop, all_gone_within, wait_exit};
use slipway_contracts::state::StackState;

const BIN: &str = env!("CARGO_BIN_EXE_devstack");

fn devstack(root: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Starts `devstack up` on free ports and waits for its state file.
fn start_up(root: &Path, extra: &[&str], wrap: Option<&[&str]>) -> (KillOnDrop, StackState) {
    let log = std::fs::File::create(root.join("up.log")).unwrap();
    let mut args: Vec<String> = wrap.unwrap_or(&[]).iter().map(|s| s.to_string()).collect();
    args.push(BIN.to_string());
    args.extend(
        [
            "--root",
            root.to_str().unwrap(),
            "up",
            "--no-service",
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
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = Command::new(&args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let state_file = root.join(".devstack/state.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // A state file left by a killed run may still be there: wait for this run's own.
        if let Some(state) = StackState::read(&state_file)
            .ok()
            .filter(|s| s.devstack_pid == child.id() || wrap.is_some())
        {
            return (KillOnDrop(child), state);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "devstack up exited ({status}): {}",
                std::fs::read_to_string(root.join("up.log")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "no state file after 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn component_pids(state: &StackState) -> Vec<u32> {
    state.components.iter().filter_map(|c| c.pid).collect()
}

#[test]
fn status_env_and_down_work_against_a_running_up() {
    let root = tempfile::tempdir().unwrap();
    let (mut up, state) = start_up(root.path(), &["--ephemeral"], None);
    let pids = component_pids(&state);
    assert_eq!(pids.len(), 2, "postgres and redis are native children");

    let status = devstack(root.path(), &["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // Postgres, Redis, the emulator and the trace collector.
    assert_eq!(text.matches(" ready ").count(), 4, "{text}");

    let env = devstack(root.path(), &["env"]);
    let text = String::from_utf8_lossy(&env.stdout);
    for key in [
        "DATABASE_URL",
        "REDIS_URL",
        "AWS_ENDPOINT_URL",
        "SQS_QUEUE_URL",
        "SQS_DLQ_URL",
    ] {
        assert!(
            text.contains(&format!("export {key}=")),
            "{key} missing from:\n{text}"
        );
    }
    let dotenv = std::fs::read_to_string(root.path().join(".devstack/env")).unwrap();
    assert!(
        dotenv.contains("SQS_QUEUE_URL=http://127.0.0.1:"),
        "{dotenv}"
    );

    // A second `up` in the same directory refuses.
    let second = devstack(root.path(), &["up", "--no-service", "--ephemeral"]);
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));

    let down = devstack(root.path(), &["down"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let exit = wait_exit(&mut up, Duration::from_secs(30)).expect("up exited");
    assert!(exit.success(), "up exited cleanly: {exit}");
    assert!(all_gone_within(&pids, Duration::from_secs(5)));
    assert!(!root.path().join(".devstack/state.json").exists());

    let status = devstack(root.path(), &["status"]);
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("no devstack is running"));
}

#[test]
fn sigkill_of_up_leaves_no_child_and_the_next_up_recovers() {
    let root = tempfile::tempdir().unwrap();
    let (mut up, state) = start_up(root.path(), &[], None);
    let pids = component_pids(&state);
    up.kill().unwrap(); // SIGKILL
    up.wait().unwrap();
    assert!(
        all_gone_within(&pids, Duration::from_secs(6)),
        "children of a killed devstack die with it"
    );

    // The stale state file does not block the next run, and persistent data is still there.
    let (mut up, state) = start_up(root.path(), &[], None);
    let pids = component_pids(&state);
    assert!(devstack(root.path(), &["down"]).status.success());
    wait_exit(&mut up, Duration::from_secs(30)).expect("up exited");
    assert!(all_gone_within(&pids, Duration::from_secs(5)));

    assert!(
        root.path()
            .join(".devstack/data/postgres/PG_VERSION")
            .exists()
    );
    let refused = devstack(root.path(), &["reset"]);
    assert!(
        !refused.status.success(),
        "no confirmation without a terminal"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert!(devstack(root.path(), &["reset", "--yes"]).status.success());
    assert!(!root.path().join(".devstack/data").exists());
}

#[test]
fn an_unprivileged_user_can_run_it_too() {
    if !nix::unistd::Uid::effective().is_root() {
        devstack::testing::missing_tool(
            "this test switches to user nobody, which needs root (the other tests cover a normal user)",
        );
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        devstack::testing::missing_tool("setpriv (util-linux) is not installed");
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let blocked = Path::new(BIN)
        .ancestors()
        .skip(1)
        .find(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 == 0));
    if let Some(dir) = blocked {
        devstack::testing::missing_tool(&format!(
            "{} is not traversable by other users, so `nobody` cannot run the binary",
            dir.display()
        ));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
    ];
    let (mut up, state) = start_up(root.path(), &["--ephemeral"], Some(&nobody));
    let pids = component_pids(&state);
    for pid in &pids {
        let owner = std::fs::metadata(format!("/proc/{pid}"))
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap();
        assert_eq!(owner, 65534, "pid {pid} runs as the unprivileged user");
    }
    assert!(devstack(root.path(), &["down"]).status.success());
    wait_exit(&mut up, Duration::from_secs(30)).expect("up exited");
    assert!(all_gone_within(&pids, Duration::from_secs(5)));
}
