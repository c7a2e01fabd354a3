//! devstack as a library: the shared test stack, fresh databases and queues, and stacks that
//! tests start and stop themselves (persistence, ephemeral cleanup, ports, no leftover pids).

// Integration tests: a failed unwrap is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use devstack::process::is_alive;
use devstack::stack::{Silent, Stack, StackOptions};
use devstack::testing::TestStack;
use sqlx::{Connection, PgConnection};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations");

async fn widget_names(url: &str) -> Vec<String> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT name FROM widgets ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn fresh_databases_are_migrated_and_isolated() {
    let stack = TestStack::shared(&MIGRATOR);
    let (a, b) = (
        stack.fresh_database().await.unwrap(),
        stack.fresh_database().await.unwrap(),
    );
    assert_ne!(a.name, b.name);
    assert_eq!(widget_names(&a.url).await, ["from-the-template"]);
    let mut conn = PgConnection::connect(&a.url).await.unwrap();
    sqlx::query("INSERT INTO widgets (name) VALUES ('only-in-a')")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        widget_names(&a.url).await,
        ["from-the-template", "only-in-a"]
    );
    assert_eq!(
        widget_names(&b.url).await,
        ["from-the-template"],
        "b does not see a's rows"
    );
}

#[tokio::test]
async fn many_tests_at_once_each_get_a_database() {
    let stack = TestStack::shared(&MIGRATOR);
    let tasks: Vec<_> = (0..8)
        .map(|_| tokio::spawn(async move { stack.fresh_database().await.unwrap().url }))
        .collect();
    let mut urls = Vec::new();
    for task in tasks {
        urls.push(task.await.unwrap());
    }
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 8);
}

#[tokio::test]
async fn fresh_queues_are_distinct_with_a_redrive_policy() {
    let stack = TestStack::shared(&MIGRATOR);
    let (a, b) = (
        stack.fresh_queues().await.unwrap(),
        stack.fresh_queues_with(2).await.unwrap(),
    );
    assert_ne!(a.queue_url, b.queue_url);
    let attributes = b
        .client
        .get_queue_attributes()
        .queue_url(&b.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let policy = &attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy];
    assert!(
        policy.contains("\"maxReceiveCount\":2")
            && policy.contains(b.dlq_url.rsplit('/').next().unwrap()),
        "{policy}"
    );
    a.client
        .send_message()
        .queue_url(&a.queue_url)
        .message_body("x")
        .send()
        .await
        .unwrap();
    let in_b = b
        .client
        .receive_message()
        .queue_url(&b.queue_url)
        .send()
        .await
        .unwrap();
    assert!(in_b.messages().is_empty(), "queues do not share messages");
}

#[tokio::test]
async fn the_shared_stack_env_has_every_setting() {
    let stack = TestStack::shared(&MIGRATOR);
    let (db, queues) = (
        stack.fresh_database().await.unwrap(),
        stack.fresh_queues().await.unwrap(),
    );
    let env = stack.env_for(&db, &queues);
    for key in [
        "DATABASE_URL",
        "REDIS_URL",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "SQS_QUEUE_URL",
        "SQS_DLQ_URL",
    ] {
        assert!(env.get(key).is_some_and(|v| !v.is_empty()), "{key}");
    }
    assert_eq!(env["DATABASE_URL"], db.url);
    let (password, addr) = redis_password_and_addr(stack.redis_url());
    assert!(devstack::launch::redis::ping_addr(addr, Some(password)).await);
}

/// `redis://:PASSWORD@HOST:PORT` → (`PASSWORD`, `HOST:PORT`).
fn redis_password_and_addr(url: &str) -> (&str, &str) {
    url.trim_start_matches("redis://:")
        .split_once('@')
        .expect("a password in the Redis URL")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_without_the_stacks_password_are_refused() {
    let stack = TestStack::shared(&MIGRATOR);
    let (password, addr) = redis_password_and_addr(stack.redis_url());
    assert_eq!(password.len(), 32, "a generated password");
    assert!(devstack::launch::redis::ping_addr(addr, Some(password)).await);
    assert!(
        !devstack::launch::redis::ping_addr(addr, None).await,
        "Redis answers nobody without AUTH"
    );
    assert!(!devstack::launch::redis::ping_addr(addr, Some("guess")).await);

    let admin = stack.admin_url();
    let with_password = PgConnection::connect(admin).await;
    assert!(with_password.is_ok(), "{with_password:?}");
    let (scheme_user, host) = admin.split_once('@').unwrap();
    let user = scheme_user.rsplit_once(':').unwrap().0;
    for url in [format!("{user}@{host}"), format!("{user}:wrong@{host}")] {
        let Err(refused) = PgConnection::connect(&url).await else {
            panic!("{url}: accepted without the password")
        };
        assert!(refused.to_string().contains("password"), "{refused}");
    }
}

fn pids(stack: &Stack) -> Vec<u32> {
    stack.components().iter().filter_map(|c| c.pid()).collect()
}

async fn gone_within(pids: &[u32], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if pids.iter().all(|p| !is_alive(*p)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn persistent_data_survives_a_restart_and_stop_leaves_no_process() {
    let root = tempfile::tempdir().unwrap();
    let mut options = StackOptions::ephemeral_on_free_ports();
    options.ephemeral = false;
    options.data_dir = root.path().join("data");
    options.log_dir = Some(root.path().join("logs"));

    let stack = Stack::start(&options, &Silent).await.unwrap();
    let database_url = stack.env()["DATABASE_URL"].clone();
    let redis_url = stack.env()["REDIS_URL"].clone();
    let mut conn = PgConnection::connect(&database_url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('still here')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    redis_command(&redis_url, "SET kept yes").await;
    {
        use std::os::unix::fs::PermissionsExt as _;
        let password_file = root.path().join("data/password");
        let mode = std::fs::metadata(&password_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the stack's password is its owner's only"
        );
    }
    let first_pids = pids(&stack);
    assert_eq!(first_pids.len(), 2);
    stack.stop().await;
    assert!(
        gone_within(&first_pids, Duration::from_secs(5)).await,
        "no process left behind"
    );

    let stack = Stack::start(&options, &Silent).await.unwrap();
    let mut conn = PgConnection::connect(&stack.env()["DATABASE_URL"])
        .await
        .unwrap();
    let kept: String = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, "still here");
    conn.close().await.unwrap();
    assert_eq!(
        redis_password_and_addr(&stack.env()["REDIS_URL"]).0,
        redis_password_and_addr(&redis_url).0,
        "the same password after a restart"
    );
    let redis_url = stack.env()["REDIS_URL"].clone();
    assert_eq!(redis_command(&redis_url, "GET kept").await, "$3\r\nyes\r\n");
    stack.stop().await;
}

#[tokio::test]
async fn ephemeral_data_is_gone_after_stop_and_two_stacks_get_different_ports() {
    let a = Stack::start(&StackOptions::ephemeral_on_free_ports(), &Silent)
        .await
        .unwrap();
    let b = Stack::start(&StackOptions::ephemeral_on_free_ports(), &Silent)
        .await
        .unwrap();
    for key in ["DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL"] {
        assert_ne!(a.env()[key], b.env()[key], "{key}");
    }
    let data_dir: String = {
        let mut conn = PgConnection::connect(&a.env()["DATABASE_URL"])
            .await
            .unwrap();
        sqlx::query_scalar("SHOW data_directory")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert!(std::path::Path::new(&data_dir).exists());
    let all_pids: Vec<u32> = pids(&a).into_iter().chain(pids(&b)).collect();
    a.stop().await;
    b.stop().await;
    assert!(
        !std::path::Path::new(&data_dir).exists(),
        "ephemeral data removed"
    );
    assert!(gone_within(&all_pids, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn default_ports_that_are_taken_are_replaced_with_a_note() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    let mut options = StackOptions::ephemeral_on_free_ports();
    options.config.ports.redis = taken;
    let stack = Stack::start(&options, &Silent).await.unwrap();
    assert!(!stack.env()["REDIS_URL"].ends_with(&format!(":{taken}")));
    assert!(
        stack
            .notes()
            .iter()
            .any(|n| n.contains(&format!("port {taken} is taken"))),
        "{:?}",
        stack.notes()
    );
    stack.stop().await;
}

/// Sends `command` to the Redis at `url` (`redis://:PASSWORD@HOST:PORT`) after AUTH, and
/// returns the raw reply.
async fn redis_command(url: &str, command: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (password, addr) = redis_password_and_addr(url);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("AUTH {password}\r\n").as_bytes())
        .await
        .unwrap();
    let mut ok = [0u8; 5];
    stream.read_exact(&mut ok).await.unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    stream
        .write_all(format!("{command}\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0; 64];
    let n = stream.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Needs a Docker engine, which no CI of ours has: run it by name where one answers,
/// `cargo test -p devstack --features docker --test library -- --ignored docker_backend`.
#[cfg(feature = "docker")]
#[tokio::test]
#[ignore = "needs a Docker engine (run with --features docker -- --ignored)"]
async fn the_docker_backend_starts_containers_when_an_engine_answers() {
    assert!(
        devstack::launch::docker::engine_available().await,
        "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock)"
    );
    let mut options = StackOptions::ephemeral_on_free_ports();
    options.config.backends.postgres = devstack::cli::BackendChoice::Docker;
    options.config.backends.redis = devstack::cli::BackendChoice::Docker;
    options.config.backends.sqs = devstack::cli::BackendChoice::Docker;
    let stack = Stack::start(&options, &Silent).await.unwrap();
    let mut conn = PgConnection::connect(&stack.env()["DATABASE_URL"])
        .await
        .unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    assert!(stack.env()["SQS_QUEUE_URL"].ends_with("/orders"));
    stack.stop().await;
}

/// A data directory made by a devstack that used trust authentication (its `pg_hba.conf`
/// not devstack's) is moved to the stack's password before the server starts.
#[tokio::test]
async fn a_trust_data_directory_is_moved_to_the_password() {
    use devstack::launch::postgres::{NativePostgres, PostgresBinaries, PostgresOptions};
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let binaries = PostgresBinaries::find().expect("postgres server binaries");
    let mut options = PostgresOptions {
        data_dir: root.path().join("pg"),
        port: devstack::ports::free_port().unwrap(),
        ephemeral: true,
        log: root.path().join("pg.log"),
        cleanup_on_crash: None,
        password: devstack::secret::generate(),
    };
    NativePostgres::start(&binaries, &options)
        .await
        .unwrap()
        .stop()
        .await;
    // What an older devstack left: trust for everyone on loopback.
    let hba = options.data_dir.join("pg_hba.conf");
    std::fs::write(&hba, "host all all 127.0.0.1/32 trust\n").unwrap();
    options.password = devstack::secret::generate();

    let postgres = NativePostgres::start(&binaries, &options).await.unwrap();
    let text = std::fs::read_to_string(&hba).unwrap();
    assert!(!text.contains("trust"), "{text}");
    PgConnection::connect(&postgres.url()).await.unwrap();
    let without = postgres
        .url()
        .replace(&format!(":{}@", options.password), "@");
    assert!(PgConnection::connect(&without).await.is_err(), "{without}");
    postgres.stop().await;
}
