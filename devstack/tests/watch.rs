//! Reload on save through the real binary (`watch = true` in devstack.toml): a declared app
//! with a build step is rebuilt and replaced when its source changes; a broken change keeps
//! the old process serving, marks the app stale with the build's error, and fixing it
//! reloads again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use slipway_contracts::state::StackState;

use common::{run, start_up, wait_exit};

// The build checks the syntax (and writes nothing under src/, which is watched), then copies.
const TOML: &str = r#"
watch = true
[[apps]]
name = "web"
build = ["sh", "-c", "python3 -c \"import ast; ast.parse(open('src/web.py').read())\" && mkdir -p bin && cp src/web.py bin/web.py"]
command = ["python3", "bin/web.py"]
health = "/"
watch = ["src"]
"#;

fn source(version: &str) -> String {
    format!(
        r#"import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{version}")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#
    )
}

fn get(url: &str) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.rsplit("\r\n\r\n").next().map(str::to_string)
}

fn eventually(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_saved_change_is_rebuilt_and_replaced_and_a_broken_one_keeps_the_old_serving() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("src")).unwrap();
    std::fs::write(root.path().join("src/web.py"), source("v1")).unwrap();
    std::fs::write(root.path().join("devstack.toml"), TOML).unwrap();
    let (mut up, state) = start_up(root.path(), &["--ephemeral"]);
    let state_file = root.path().join(".devstack/state.json");
    let url = state.env["WEB_URL"].clone();
    let first_pid = state.component("web").unwrap().pid.unwrap();
    assert_eq!(get(&url).as_deref(), Some("v1"));
    std::thread::sleep(Duration::from_millis(500));

    std::fs::write(root.path().join("src/web.py"), source("v2")).unwrap();
    eventually("v2 answers", Duration::from_secs(30), || {
        get(&url).as_deref() == Some("v2")
    });
    let pid_now = || {
        StackState::read(&state_file)
            .ok()
            .and_then(|s| s.component("web").and_then(|c| c.pid))
    };
    eventually(
        "a new process in state.json",
        Duration::from_secs(10),
        || pid_now().is_some_and(|pid| pid != first_pid),
    );

    std::fs::write(root.path().join("src/web.py"), "def broken(:\n").unwrap();
    eventually("the app is stale", Duration::from_secs(30), || {
        run(root.path(), &["status"]).1.contains(" stale ")
    });
    let text = run(root.path(), &["status"]).1;
    assert!(
        text.contains("SyntaxError"),
        "the build's error is shown:\n{text}"
    );
    assert_eq!(
        get(&url).as_deref(),
        Some("v2"),
        "the old version keeps serving"
    );
    let out = std::fs::read_to_string(root.path().join("up.out")).unwrap();
    assert!(
        out.contains("web: the build failed; the running version keeps serving."),
        "{out}"
    );

    std::fs::write(root.path().join("src/web.py"), source("v3")).unwrap();
    eventually("v3 answers", Duration::from_secs(30), || {
        get(&url).as_deref() == Some("v3")
    });
    eventually("ready again", Duration::from_secs(10), || {
        run(root.path(), &["status"]).1.contains(" ready ")
    });

    kill(
        Pid::from_raw(i32::try_from(up.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    assert!(wait_exit(&mut up, Duration::from_secs(30)).is_some());
}
