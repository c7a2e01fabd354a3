//! `devstack snapshot`, through the real binary against real servers (Postgres, Redis, the
//! emulator) with real clients (sqlx, redis, the AWS SDK): a save of a running stack, changes
//! to rows, keys and queues, a load that puts all of it back (an in-flight message visible
//! again with its receive count, a FIFO queue's order and deduplication) and restarts the
//! apps; an export imported on a fresh root and loaded into a stopped stack; damaged, foreign
//! and newer snapshots refused with nothing of the current state lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use slipway_contracts::state::StackState;
use sqlx::{Connection as _, PgConnection};

use common::{KillOnDrop, run_all, start_up};

/// An app that only serves its health check: what a load must restart.
const APP: &str = r#"
import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

const TOML: &str = r#"
[[apps]]
name = "echo"
command = ["python3", "echo.py"]
port = 0
health = "/"
depends_on = ["postgres"]
"#;

fn root_with_app() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    // Postgres runs as another user under root: let it into the data directory.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(root.path().join("echo.py"), APP).unwrap();
    std::fs::write(root.path().join("devstack.toml"), TOML).unwrap();
    root
}

/// The stack's clients, from its settings.
struct Clients {
    database_url: String,
    redis_url: String,
    sqs: Client,
}

impl Clients {
    fn of(state: &StackState) -> Self {
        Self {
            database_url: state.env["DATABASE_URL"].clone(),
            redis_url: state.env["REDIS_URL"].clone(),
            sqs: devstack::launch::sqs::client(&state.env["AWS_ENDPOINT_URL"]),
        }
    }

    async fn sql(&self, sql: &str) -> i64 {
        let mut conn = PgConnection::connect(&self.database_url).await.unwrap();
        let count: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
        let _ = conn.close().await;
        count
    }

    async fn execute(&self, sql: &str) {
        let mut conn = PgConnection::connect(&self.database_url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        let _ = conn.close().await;
    }

    async fn redis(&self, db: i64) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.redis_url.as_str()).unwrap();
        let mut info = client.get_connection_info().clone();
        info.redis.db = db;
        redis::Client::open(info)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    async fn queue_url(&self, name: &str) -> String {
        let found = self.sqs.get_queue_url().queue_name(name).send().await;
        found.unwrap().queue_url().unwrap().to_string()
    }

    async fn depth(&self, url: &str) -> String {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        attributes.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages].clone()
    }

    /// Every message receivable now: (body, receive count), in the order received.
    async fn drain(&self, url: &str) -> Vec<(String, String)> {
        let mut got = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .unwrap();
            if received.messages().is_empty() {
                return got;
            }
            for message in received.messages() {
                let count = &message.attributes().unwrap()
                    [&MessageSystemAttributeName::ApproximateReceiveCount];
                got.push((message.body().unwrap().to_string(), count.clone()));
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// Rows, keys (one with a time to live, one in another logical database) and messages (one
/// in flight; a FIFO group with a deduplication id).
async fn seed(clients: &Clients) {
    clients
        .execute(
            "CREATE TABLE t (id int PRIMARY KEY, v text); \
             INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g;",
        )
        .await;
    let mut redis0 = clients.redis(0).await;
    let _: () = redis::cmd("SET")
        .arg("kept")
        .arg("1")
        .query_async(&mut redis0)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("expiring")
        .arg("2")
        .arg("EX")
        .arg(1000)
        .query_async(&mut redis0)
        .await
        .unwrap();
    let mut redis3 = clients.redis(3).await;
    let _: () = redis::cmd("SET")
        .arg("elsewhere")
        .arg("3")
        .query_async(&mut redis3)
        .await
        .unwrap();
    let orders = clients.queue_url("orders").await;
    for body in ["one", "two", "three"] {
        let sent = clients
            .sqs
            .send_message()
            .queue_url(&orders)
            .message_body(body);
        sent.send().await.unwrap();
    }
    let taken = clients
        .sqs
        .receive_message()
        .queue_url(&orders)
        .send()
        .await
        .unwrap();
    assert_eq!(taken.messages().len(), 1, "one message in flight");
    let fifo = clients
        .sqs
        .create_queue()
        .queue_name("f.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap();
    let fifo = fifo.queue_url().unwrap();
    for body in ["f1", "f2", "f3"] {
        let sent = clients
            .sqs
            .send_message()
            .queue_url(fifo)
            .message_body(body)
            .message_group_id("g")
            .message_deduplication_id(format!("dedup-{body}"));
        sent.send().await.unwrap();
    }
}

/// Changes everything `seed` made.
async fn change(clients: &Clients) {
    clients
        .execute("DELETE FROM t WHERE id > 10; CREATE TABLE extra (x int);")
        .await;
    clients.execute("CREATE DATABASE other").await;
    let mut redis0 = clients.redis(0).await;
    let _: () = redis::cmd("DEL")
        .arg("kept")
        .query_async(&mut redis0)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("new")
        .arg("4")
        .query_async(&mut redis0)
        .await
        .unwrap();
    let orders = clients.queue_url("orders").await;
    clients
        .sqs
        .purge_queue()
        .queue_url(&orders)
        .send()
        .await
        .unwrap();
    let fifo = clients.queue_url("f.fifo").await;
    clients
        .sqs
        .delete_queue()
        .queue_url(&fifo)
        .send()
        .await
        .unwrap();
    clients
        .sqs
        .create_queue()
        .queue_name("later")
        .send()
        .await
        .unwrap();
}

/// Everything is as `seed` left it.
async fn assert_seeded(clients: &Clients) {
    assert_eq!(clients.sql("SELECT count(*) FROM t").await, 1000);
    assert_eq!(
        clients
            .sql("SELECT count(*) FROM pg_class WHERE relname = 'extra'")
            .await,
        0
    );
    assert_eq!(
        clients
            .sql("SELECT count(*) FROM pg_database WHERE datname = 'other'")
            .await,
        0
    );
    let mut redis0 = clients.redis(0).await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut redis0)
        .await
        .unwrap();
    keys.sort();
    assert_eq!(keys, ["expiring", "kept"]);
    let ttl: i64 = redis::cmd("TTL")
        .arg("expiring")
        .query_async(&mut redis0)
        .await
        .unwrap();
    assert!(
        (900..=1000).contains(&ttl),
        "its time to live is kept: {ttl}"
    );
    let mut redis3 = clients.redis(3).await;
    let value: String = redis::cmd("GET")
        .arg("elsewhere")
        .query_async(&mut redis3)
        .await
        .unwrap();
    assert_eq!(value, "3");
    let later = clients.sqs.get_queue_url().queue_name("later").send().await;
    assert!(later.is_err(), "a queue created after the save is gone");
    let orders = clients.queue_url("orders").await;
    let mut messages = clients.drain(&orders).await;
    messages.sort();
    let expected = [("one", "2"), ("three", "1"), ("two", "1")].map(|(b, c)| (b.into(), c.into()));
    assert_eq!(
        messages, expected,
        "the in-flight one is back, its receive count kept"
    );
    let fifo = clients.queue_url("f.fifo").await;
    let duplicate = clients
        .sqs
        .send_message()
        .queue_url(&fifo)
        .message_body("f1 again")
        .message_group_id("g")
        .message_deduplication_id("dedup-f1");
    duplicate.send().await.unwrap();
    assert_eq!(
        clients.depth(&fifo).await,
        "3",
        "the deduplication id is remembered"
    );
    let order: Vec<String> = clients
        .drain(&fifo)
        .await
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert_eq!(order, ["f1", "f2", "f3"]);
}

fn snapshot(root: &Path, args: &[&str]) -> String {
    let mut all = vec!["snapshot"];
    all.extend_from_slice(args);
    let (ok, output) = run_all(root, &all);
    assert!(ok, "devstack snapshot {args:?} failed: {output}");
    output
}

fn refused(root: &Path, args: &[&str]) -> String {
    let mut all = vec!["snapshot"];
    all.extend_from_slice(args);
    let (ok, output) = run_all(root, &all);
    assert!(
        !ok,
        "devstack snapshot {args:?} should have failed: {output}"
    );
    output
}

fn app_pid(root: &Path) -> u32 {
    let state = StackState::read(&root.join(".devstack/state.json")).unwrap();
    state
        .component("echo")
        .and_then(|c| c.pid)
        .expect("the app's pid")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_brings_back_what_was_saved_and_restarts_the_apps() {
    let root = root_with_app();
    let (_up, state) = start_up(root.path(), &[]);
    let clients = Clients::of(&state);
    seed(&clients).await;

    let saved = snapshot(root.path(), &["save", "bug-1"]);
    assert!(saved.contains("saved snapshot bug-1"), "{saved}");
    assert!(saved.contains("apps paused"), "{saved}");
    assert!(saved.contains("3 queues with 6 messages"), "{saved}");
    let taken = refused(root.path(), &["save", "bug-1"]);
    assert!(taken.contains("--force"), "{taken}");
    let listed = snapshot(root.path(), &["list"]);
    assert!(listed.contains("bug-1"), "{listed}");

    change(&clients).await;
    let before = app_pid(root.path());
    let loaded = snapshot(root.path(), &["load", "bug-1"]);
    assert!(loaded.contains("restarted echo"), "{loaded}");
    assert_ne!(app_pid(root.path()), before, "the app was restarted");
    let after = StackState::read(&root.path().join(".devstack/state.json")).unwrap();
    assert_eq!(
        after.env["DATABASE_URL"], state.env["DATABASE_URL"],
        "same URLs"
    );
    assert_seeded(&clients).await;

    // As often as one likes: load it again after more changes.
    change(&clients).await;
    snapshot(root.path(), &["load", "bug-1"]);
    assert_seeded(&clients).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_imported_on_a_fresh_root_loads_into_a_stopped_stack() {
    let first = root_with_app();
    let (mut up, state) = start_up(first.path(), &["--no-service"]);
    seed(&Clients::of(&state)).await;
    snapshot(first.path(), &["save", "handoff"]);
    let file = first.path().join("handoff.tar.gz");
    let exported = snapshot(first.path(), &["export", "handoff", file.to_str().unwrap()]);
    assert!(exported.contains("exported handoff"), "{exported}");
    stop(&mut up, first.path());

    let second = root_with_app();
    let imported = snapshot(
        second.path(),
        &["import", file.to_str().unwrap(), "from-colleague"],
    );
    assert!(imported.contains("as from-colleague"), "{imported}");
    // No stack runs on the second root: the load starts its infrastructure for the while.
    let loaded = snapshot(second.path(), &["load", "from-colleague"]);
    assert!(
        loaded.contains("loaded snapshot from-colleague"),
        "{loaded}"
    );
    let (_up, state) = start_up(second.path(), &["--no-service"]);
    assert_seeded(&Clients::of(&state)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn damaged_foreign_and_newer_snapshots_are_refused_and_nothing_is_lost() {
    let root = root_with_app();
    let (_up, state) = start_up(root.path(), &["--no-service"]);
    let clients = Clients::of(&state);
    seed(&clients).await;
    snapshot(root.path(), &["save", "good"]);
    let snapshots = root.path().join(".devstack/snapshots");
    let copy = |name: &str| {
        let to = snapshots.join(name);
        std::fs::create_dir_all(to.join("postgres")).unwrap();
        for file in [
            "manifest.json",
            "redis.bin",
            "sqs.image",
            "postgres/slipway.dump",
        ] {
            std::fs::copy(snapshots.join("good").join(file), to.join(file)).unwrap();
        }
        to
    };
    let damaged = copy("damaged");
    let mut dump = std::fs::read(damaged.join("postgres/slipway.dump")).unwrap();
    let middle = dump.len() / 2;
    dump[middle] ^= 0xff;
    std::fs::write(damaged.join("postgres/slipway.dump"), dump).unwrap();
    let newer = copy("newer");
    let manifest = std::fs::read_to_string(newer.join("manifest.json")).unwrap();
    let manifest = manifest.replace("\"format_version\": 1", "\"format_version\": 99");
    std::fs::write(newer.join("manifest.json"), manifest).unwrap();
    let foreign = copy("foreign");
    std::fs::write(foreign.join("sqs.image"), b"not an image").unwrap();

    change(&clients).await;
    let keep = clients.sql("SELECT count(*) FROM t").await;
    let why = refused(root.path(), &["load", "damaged"]);
    assert!(
        why.contains("damaged") && why.contains("slipway.dump"),
        "{why}"
    );
    let why = refused(root.path(), &["load", "newer"]);
    assert!(why.contains("newer devstack"), "{why}");
    let why = refused(root.path(), &["load", "foreign"]);
    assert!(why.contains("sqs.image"), "{why}");
    let not_a_snapshot = root.path().join("notes.tar.gz");
    std::fs::write(&not_a_snapshot, b"hello").unwrap();
    let why = refused(root.path(), &["import", not_a_snapshot.to_str().unwrap()]);
    assert!(why.contains("not a devstack snapshot"), "{why}");
    let why = refused(root.path(), &["load", "../good"]);
    assert!(why.contains("not a snapshot name"), "{why}");
    let why = refused(root.path(), &["load", "missing"]);
    assert!(why.contains("no snapshot named"), "{why}");

    // Nothing of the current state was touched.
    assert_eq!(clients.sql("SELECT count(*) FROM t").await, keep);
    assert_eq!(
        clients
            .sql("SELECT count(*) FROM pg_database WHERE datname = 'other'")
            .await,
        1
    );
    let later = clients.sqs.get_queue_url().queue_name("later").send().await;
    assert!(
        later.is_ok(),
        "the queue made after the save is still there"
    );
    snapshot(root.path(), &["rm", "damaged"]);
    let listed = snapshot(root.path(), &["list"]);
    assert!(
        !listed.contains("damaged") && listed.contains("good"),
        "{listed}"
    );
}

fn stop(up: &mut KillOnDrop, root: &Path) {
    let (ok, output) = run_all(root, &["down"]);
    assert!(ok, "{output}");
    common::wait_exit(up, std::time::Duration::from_secs(30)).expect("up exits after down");
}
