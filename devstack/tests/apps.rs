//! Apps declared in `devstack.toml` (`[[apps]]`), through the real binary: a tiny Python app
//! starts with its settings (`${DATABASE_URL}`, `PORT`), appears in `.devstack/env`
//! (`ECHO_URL`), `state.json` (with its pid), `status` and `logs`, restarts through the
//! control channel, and is gone after Ctrl-C and after SIGKILL of `up`; a bad file is refused
//! with the line at fault.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use slipway_contracts::state::StackState;

use common::{all_gone_within, run_all, start_up, wait_exit};

const APP: &str = r#"
import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (os.environ["GREETING"] + " " + os.environ["DB"]).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        print("echo served", self.path, flush=True)
print("echo listening on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

const TOML: &str = r#"
[[apps]]
name = "echo"
command = ["python3", "echo.py"]
port = 0
health = "/"
env = { GREETING = "hi", DB = "${DATABASE_URL}" }
depends_on = ["postgres"]
"#;

fn get(url: &str) -> String {
    let addr = url.trim_start_matches("http://");
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

fn with_app(toml: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("echo.py"), APP).unwrap();
    std::fs::write(root.path().join("devstack.toml"), toml).unwrap();
    root
}

#[test]
fn a_declared_app_runs_with_its_settings_and_appears_everywhere() {
    let root = with_app(TOML);
    let (mut up, state) = start_up(root.path(), &["--ephemeral"]);

    let url = state
        .env
        .get("ECHO_URL")
        .expect("ECHO_URL in the settings")
        .clone();
    let env_file = std::fs::read_to_string(root.path().join(".devstack/env")).unwrap();
    assert!(env_file.contains("ECHO_URL="), "{env_file}");
    assert!(
        !state.env.contains_key("SERVICE_URL"),
        "declared apps replace the service"
    );
    let echo = state.component("echo").expect("echo in state.json");
    let pid = echo.pid.expect("its pid");
    let body = get(&url);
    assert!(
        body.ends_with(&format!("hi {}", state.env["DATABASE_URL"])),
        "the app got ${{DATABASE_URL}}: {body}"
    );

    let (ok, status) = run_all(root.path(), &["status"]);
    assert!(
        ok && status
            .lines()
            .any(|l| l.trim_start().starts_with("echo") && l.contains(" ready ")),
        "{status}"
    );
    let (ok, logs) = run_all(root.path(), &["logs", "echo"]);
    assert!(ok && logs.contains("echo | echo listening on"), "{logs}");

    let (ok, text) = run_all(root.path(), &["restart", "echo"]);
    assert!(ok, "{text}");
    let restarted = StackState::read(&root.path().join(".devstack/state.json")).unwrap();
    let new_pid = restarted.component("echo").unwrap().pid.unwrap();
    assert_ne!(new_pid, pid);
    assert!(get(&url).contains("hi "), "the same URL after a restart");

    kill(
        Pid::from_raw(i32::try_from(up.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    assert!(wait_exit(&mut up, Duration::from_secs(30)).is_some());
    assert!(
        all_gone_within(&[new_pid], Duration::from_secs(5)),
        "gone after Ctrl-C"
    );
}

#[test]
fn sigkill_of_up_takes_a_declared_app_with_it() {
    let root = with_app(TOML);
    let (mut up, state) = start_up(root.path(), &["--ephemeral"]);
    let pid = state.component("echo").unwrap().pid.unwrap();
    up.kill().unwrap();
    let _ = up.wait();
    assert!(
        all_gone_within(&[pid], Duration::from_secs(10)),
        "the watchdog stopped it"
    );
}

#[test]
fn a_bad_devstack_toml_is_refused_with_its_line() {
    for (bad, line, what) in [
        (TOML.replace("health", "helth"), "line 6", "helth"),
        (
            TOML.replace(r#"["postgres"]"#, r#"["mysql"]"#),
            "line 8",
            "mysql",
        ),
        (
            TOML.replace("DATABASE_URL", "DATABASE_ULR"),
            "line 7",
            "DATABASE_ULR",
        ),
    ] {
        let root = with_app(&bad);
        let (ok, text) = run_all(root.path(), &["up", "--ephemeral"]);
        assert!(!ok, "refused");
        assert!(
            text.contains(line) && text.contains(what),
            "{line} and {what} in: {text}"
        );
        assert!(
            !root.path().join(".devstack/state.json").exists(),
            "nothing started"
        );
    }
}
