//! Helpers shared by the tests that drive the real `devstack` binary: running a subcommand,
//! starting `up` on free ports and waiting for its state file, waiting for a process to exit,
//! and for processes to be gone.

#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use devstack::process::is_alive;
use slipway_contracts::state::StackState;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_devstack");

/// `up`'s flags for free ports everywhere (a test never takes a default port).
pub const FREE_PORTS: [&str; 10] = [
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
];

/// Runs `devstack --root ROOT ARGS…`; returns whether it succeeded, its stdout and stderr.
pub fn run(root: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN)
        .arg("--root")
        .arg(root)
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// As [`run`], stdout and stderr together.
pub fn run_all(root: &Path, args: &[&str]) -> (bool, String) {
    let (ok, out, err) = run(root, args);
    (ok, out + &err)
}

/// Starts `devstack up` in `root` on free ports with `extra` flags, its output in
/// `root/up.out`, and waits for its state file (60 s at most).
pub fn start_up(root: &Path, extra: &[&str]) -> (KillOnDrop, StackState) {
    let log = std::fs::File::create(root.join("up.out")).unwrap();
    let mut up = Command::new(BIN)
        .arg("--root")
        .arg(root)
        .arg("up")
        .args(FREE_PORTS)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .map(KillOnDrop)
        .unwrap();
    let state = root.join(".devstack/state.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !state.exists() {
        if up.try_wait().unwrap().is_some() {
            panic!(
                "up exited: {}",
                std::fs::read_to_string(root.join("up.out")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "no state file after 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    (up, StackState::read(&state).unwrap())
}

/// Reads a `devstack sqs` child's banner from its piped stdout until a line for which `last`
/// holds; returns the endpoint it listens on and the banner. Keeps draining stdout afterwards,
/// so the emulator never blocks on a full pipe.
pub fn sqs_banner(child: &mut Child, last: impl Fn(&str) -> bool) -> (String, String) {
    use std::io::{BufRead as _, BufReader};
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut endpoint, mut banner) = (None, String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if let Some(rest) = line.strip_prefix("SQS emulator listening on ") {
            endpoint = rest.split_whitespace().next().map(str::to_string);
        }
        if last(&line) {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (endpoint.expect("an endpoint in the banner"), banner)
}

/// A spawned `devstack up` (or any child) that is killed if the test ends without stopping
/// it — a failed assertion must not leave a stack running.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl std::ops::Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Whether every pid is gone (or a zombie) within `limit`.
pub fn all_gone_within(pids: &[u32], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if pids.iter().all(|p| !is_alive(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The child's exit status if it exits within `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
