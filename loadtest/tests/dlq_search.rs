//! The DLQ search the poison check and the reconciliation use, against the emulator (which,
//! like ElasticMQ, hands out its oldest messages first): messages it is not looking for must
//! not hide the ones it is — fifteen others queued before three wanted ones, all three found,
//! and the others left in the queue, visible again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use devstack::testing::TestStack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn others_before_the_wanted_messages_do_not_hide_them() {
    let stack = TestStack::shared(&service::MIGRATOR);
    let queues = stack.fresh_queues().await.unwrap();
    let client = queues.client.clone();
    let dlq = &queues.dlq_url;
    for i in 0..15 {
        client
            .send_message()
            .queue_url(dlq)
            .message_body(format!("other {i}"))
            .send()
            .await
            .unwrap();
    }
    for i in 0..3 {
        client
            .send_message()
            .queue_url(dlq)
            .message_body(format!("wanted {i}"))
            .send()
            .await
            .unwrap();
    }
    let wanted: HashSet<String> = (0..3).map(|i| i.to_string()).collect();
    let missing = loadtest::checks::search_dlq(
        &client,
        dlq,
        wanted,
        |body| body.strip_prefix("wanted ").map(str::to_owned),
        Duration::from_secs(10),
        false,
    )
    .await;
    assert!(missing.is_empty(), "not found: {missing:?}");
    assert_eq!(
        loadtest::checks::messages_left(&client, dlq).await,
        Some(15),
        "the others are left, the found ones deleted"
    );
    let visible = client
        .receive_message()
        .queue_url(dlq)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(visible.messages().len(), 10, "the others are visible again");
}
