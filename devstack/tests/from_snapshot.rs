//! `TestStack::from_snapshot`: a snapshot saved with the real binary gives each test its own
//! copy — rows, queues with their messages (dead-letter targets among the copies), Redis keys
//! — and what one test does to its copy is invisible to another and to the snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_sqs::types::QueueAttributeName;
use devstack::testing::{SnapshotCopy, TestStack};
use sqlx::{Connection as _, PgConnection};

use common::{run_all, start_up, wait_exit};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations");

/// A snapshot of a stack with 100 rows, two queued messages and a key; its directory.
fn make_snapshot(root: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (mut up, state) = start_up(root, &["--no-service"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut conn = PgConnection::connect(&state.env["DATABASE_URL"])
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE fixtures (id int PRIMARY KEY); \
             INSERT INTO fixtures SELECT generate_series(1, 100);",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let sqs = devstack::launch::sqs::client(&state.env["AWS_ENDPOINT_URL"]);
        for body in ["first", "second"] {
            let send = sqs.send_message().queue_url(&state.env["SQS_QUEUE_URL"]);
            send.message_body(body).send().await.unwrap();
        }
        let client = redis::Client::open(state.env["REDIS_URL"].as_str()).unwrap();
        let mut redis = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("SET")
            .arg("greeting")
            .arg("hi")
            .query_async(&mut redis)
            .await
            .unwrap();
    });
    let (ok, output) = run_all(root, &["snapshot", "save", "fixtures"]);
    assert!(ok, "{output}");
    let (ok, output) = run_all(root, &["down"]);
    assert!(ok, "{output}");
    wait_exit(&mut up, std::time::Duration::from_secs(60)).unwrap();
    root.join(".devstack/snapshots/fixtures")
        .display()
        .to_string()
}

async fn rows(copy: &SnapshotCopy) -> i64 {
    let mut conn = PgConnection::connect(&copy.env["DATABASE_URL"])
        .await
        .unwrap();
    sqlx::query_scalar("SELECT count(*) FROM fixtures")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

async fn depth(copy: &SnapshotCopy, url: &str) -> String {
    let attributes = copy
        .client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    attributes.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages].clone()
}

async fn greeting(copy: &SnapshotCopy) -> Option<String> {
    let client = redis::Client::open(copy.env["REDIS_URL"].as_str()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("GET")
        .arg("greeting")
        .query_async(&mut redis)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_test_gets_its_own_copy_of_a_snapshot() {
    let root = tempfile::tempdir().unwrap();
    let dir = tokio::task::block_in_place(|| make_snapshot(root.path()));
    let stack = TestStack::shared(&MIGRATOR);
    let (a, b) = (
        stack.from_snapshot(&dir).await.unwrap(),
        stack.from_snapshot(&dir).await.unwrap(),
    );
    assert_ne!(a.env["DATABASE_URL"], b.env["DATABASE_URL"]);
    assert_ne!(a.env["SQS_QUEUE_URL"], b.env["SQS_QUEUE_URL"]);
    assert_ne!(a.redis_url, b.redis_url);
    assert_eq!(a.env["SQS_QUEUE_URL"], a.queue_urls["orders"]);
    let redrive = copy_redrive(&a).await;
    assert!(
        redrive.contains(a.queue_urls["orders-dlq"].rsplit('/').next().unwrap()),
        "{redrive}"
    );

    // What a does to its copy...
    let mut conn = PgConnection::connect(&a.env["DATABASE_URL"]).await.unwrap();
    sqlx::query("DELETE FROM fixtures")
        .execute(&mut conn)
        .await
        .unwrap();
    a.client
        .purge_queue()
        .queue_url(&a.env["SQS_QUEUE_URL"])
        .send()
        .await
        .unwrap();
    let client = redis::Client::open(a.redis_url.as_str()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg("greeting")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(rows(&a).await, 0);
    assert_eq!(greeting(&a).await, None);

    // ...b does not see, nor does a copy taken after.
    let c = stack.from_snapshot(&dir).await.unwrap();
    for copy in [&b, &c] {
        assert_eq!(rows(copy).await, 100);
        assert_eq!(depth(copy, &copy.env["SQS_QUEUE_URL"]).await, "2");
        assert_eq!(greeting(copy).await.as_deref(), Some("hi"));
    }
    let missing = stack
        .from_snapshot("no-such-snapshot")
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("no snapshot named"), "{missing}");
}

async fn copy_redrive(copy: &SnapshotCopy) -> String {
    let attributes = copy
        .client
        .get_queue_attributes()
        .queue_url(&copy.env["SQS_QUEUE_URL"])
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    attributes.attributes().unwrap()[&QueueAttributeName::RedrivePolicy].clone()
}
