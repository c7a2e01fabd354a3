//! `[hooks]` through the real binary: a ready hook runs once the stack is ready, with its
//! settings, and only once per fresh state (not again on the next `up` of a persistent
//! stack, again after `reset`); stop hooks run before it stops; a failing ready hook stops
//! `up` with the hook's output and leaves nothing running.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{KillOnDrop, all_gone_within, run_all, start_up, wait_exit};
use sqlx::{Connection as _, PgConnection};

fn root_with(toml: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(root.path().join("devstack.toml"), toml).unwrap();
    root
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until `up` has said `text` (the ready hooks run after the state file is written).
fn wait_said(root: &Path, text: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = std::fs::read_to_string(root.join("up.out")).unwrap_or_default();
        if out.contains(text) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "up never said {text:?}: {out}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn down(up: &mut KillOnDrop, root: &Path) {
    let (ok, output) = run_all(root, &["down"]);
    assert!(ok, "{output}");
    wait_exit(up, Duration::from_secs(60)).expect("up exits after down");
}

const HOOKS: &str = r#"
[hooks]
ready = ["echo \"seeded $SQS_QUEUE_URL\" >> seeds.txt", "echo second >> seeds.txt"]
stop = ["echo stopping >> stops.txt"]
"#;

#[test]
fn ready_hooks_run_once_per_fresh_state_and_stop_hooks_every_stop() {
    let root = root_with(HOOKS);
    let seeds = root.path().join("seeds.txt");
    let stops = root.path().join("stops.txt");

    let (mut up, state) = start_up(root.path(), &["--no-service"]);
    wait_said(root.path(), "hook ready: echo second");
    let seeded = lines(&seeds);
    assert_eq!(seeded.len(), 2, "{seeded:?}");
    assert_eq!(seeded[0], format!("seeded {}", state.env["SQS_QUEUE_URL"]));
    assert_eq!(seeded[1], "second", "in order");
    let log = std::fs::read_to_string(root.path().join(".devstack/logs/hooks.log")).unwrap();
    assert!(log.contains("hook: echo second >> seeds.txt"), "{log}");
    down(&mut up, root.path());
    assert_eq!(lines(&stops), ["stopping"]);
    let (ok, merged) = run_all(root.path(), &["logs", "hooks"]);
    assert!(
        ok && merged.contains("hook: echo stopping >> stops.txt"),
        "{merged}"
    );

    // The same state: not seeded again.
    let (mut up, _) = start_up(root.path(), &["--no-service"]);
    wait_said(root.path(), "Ready hooks ran on this state");
    assert_eq!(lines(&seeds).len(), 2);
    down(&mut up, root.path());
    assert_eq!(lines(&stops).len(), 2, "stop hooks run at every stop");

    // A fresh state: seeded again.
    let (ok, output) = run_all(root.path(), &["reset", "--yes"]);
    assert!(ok, "{output}");
    std::fs::remove_file(root.path().join("up.out")).unwrap();
    let (mut up, _) = start_up(root.path(), &["--no-service"]);
    wait_said(root.path(), "hook ready: echo second");
    assert_eq!(lines(&seeds).len(), 4);
    down(&mut up, root.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ready_hook_can_seed_from_a_snapshot() {
    let root = root_with("");
    let (mut up, state) = start_up(root.path(), &["--no-service"]);
    let mut conn = PgConnection::connect(&state.env["DATABASE_URL"])
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE fixtures (id int); INSERT INTO fixtures VALUES (1), (2), (3);")
        .execute(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    let (ok, output) = run_all(root.path(), &["snapshot", "save", "fixtures"]);
    assert!(ok, "{output}");
    down(&mut up, root.path());
    let (ok, output) = run_all(root.path(), &["reset", "--yes"]);
    assert!(ok, "{output}");

    let hook = format!(
        "{} --root {} snapshot load fixtures",
        common::BIN,
        root.path().display()
    );
    std::fs::write(
        root.path().join("devstack.toml"),
        format!("[hooks]\nready = [{hook:?}]\n"),
    )
    .unwrap();
    std::fs::remove_file(root.path().join("up.out")).unwrap();
    let (mut up, state) = start_up(root.path(), &["--no-service"]);
    wait_said(root.path(), "hook ready:");
    let mut conn = PgConnection::connect(&state.env["DATABASE_URL"])
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM fixtures")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 3, "the fresh state was seeded from the snapshot");
    let _ = conn.close().await;
    down(&mut up, root.path());
}

#[test]
fn a_failing_ready_hook_stops_up_with_its_output() {
    let root = root_with(
        r#"
[hooks]
ready = ["echo the fixtures are broken >&2; exit 3"]
"#,
    );
    let mut args = vec!["up", "--no-service"];
    args.extend(common::FREE_PORTS);
    let (ok, output) = run_all(root.path(), &args);
    assert!(!ok, "{output}");
    assert!(output.contains("a ready hook failed"), "{output}");
    assert!(output.contains("the fixtures are broken"), "{output}");
    assert!(output.contains("exit status: 3"), "{output}");
    assert!(!root.path().join(".devstack/state.json").exists());
    assert!(
        !root
            .path()
            .join(".devstack/data")
            .join(devstack::hooks::RECORD_FILE)
            .exists(),
        "a failed seed is not recorded: the next up tries again"
    );
    // Nothing it started is left: no process has the root's data directory open.
    let data = root.path().join(".devstack/data");
    let left: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(data.to_str().unwrap()))
                .unwrap_or(false)
        })
        .collect();
    assert!(all_gone_within(&left, Duration::from_secs(10)), "{left:?}");
}
