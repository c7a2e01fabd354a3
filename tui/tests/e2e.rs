//! The real `tui` binary in a real terminal (tmux), against a real stack under load: the
//! devstack test stack with the service running in this process on its own database and
//! queues. The numbers must move; the DLQ view must show the dead letter; `r` must redrive it
//! and the DLQ count must drop to zero; `q` must quit.
//!
//! The dead letter is an `order.created` for an order that does not exist yet (a permanent
//! failure). The test then creates that order through the queue, as a fix would, so that the
//! redriven message succeeds and the DLQ stays empty.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use devstack::testing::TestStack;
use service::app::Application;

use common::Tmux;

/// The first number before `suffix` on the screen, e.g. `12.5` in `12.5 req/s`.
fn figure(screen: &str, suffix: &str) -> Option<f64> {
    let at = screen.find(suffix)?;
    let before = screen[..at].trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    before[start..].parse().ok()
}

fn dlq_row(screen: &str) -> Option<String> {
    screen
        .lines()
        .find(|line| line.contains("(DLQ)"))
        .map(str::to_owned)
}

async fn dlq_depth(queues: &devstack::testing::TestQueues) -> u64 {
    let output = queues
        .client
        .get_queue_attributes()
        .queue_url(&queues.dlq_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = output.attributes().unwrap();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|name| attributes[name].parse::<u64>().unwrap())
    .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_moves_under_load_and_redrives_a_dead_letter() {
    if !Tmux::available() {
        devstack::testing::missing_tool("tmux is not installed (apt-get install tmux)");
        return;
    }
    let stack = TestStack::shared(&service::MIGRATOR);
    let database = stack.fresh_database().await.unwrap();
    let queues = stack.fresh_queues().await.unwrap();
    let cli = service::config::Cli::try_parse_with_env(
        &stack.env_for(&database, &queues),
        &["--http-addr", "127.0.0.1:0", "--sqs-wait-time-seconds", "1"],
    )
    .unwrap();
    let app = Application::build(&cli.settings).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    // A dead letter: an order.created for an order that does not exist (yet).
    let missing = uuid::Uuid::new_v4();
    queues
        .client
        .send_message()
        .queue_url(&queues.queue_url)
        .message_body(format!(
            "{{\"type\":\"order.created\",\"order_id\":\"{missing}\"}}"
        ))
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while dlq_depth(&queues).await == 0 {
        assert!(
            Instant::now() < deadline,
            "the message never reached the DLQ"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Load: orders over HTTP for as long as the test runs.
    let http = reqwest::Client::new();
    let load = tokio::spawn({
        let (http, base) = (http.clone(), base.clone());
        async move {
            for i in 0u64.. {
                let body = serde_json::json!({
                    "customer_id": format!("tui-{}", i % 50),
                    "items": [{"sku": "A-1", "quantity": 1, "unit_price_cents": 100}],
                });
                let _ = http
                    .post(format!("{base}/v1/orders"))
                    .json(&body)
                    .send()
                    .await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });

    let tmux = Tmux::start(&[
        env!("CARGO_BIN_EXE_tui").to_owned(),
        "--metrics-url".into(),
        format!("{base}/metrics"),
        "--sqs-endpoint".into(),
        stack.sqs_endpoint().to_owned(),
        "--queue-url".into(),
        queues.queue_url.clone(),
        "--dlq-url".into(),
        queues.dlq_url.clone(),
        "--refresh-ms".into(),
        "250".into(),
    ]);
    let screen = tokio::task::block_in_place(|| {
        tmux.wait_for("requests and processing under load", |screen| {
            figure(screen, " req/s").is_some_and(|rps| rps > 0.0)
                && figure(screen, "/s   failed").is_some_and(|processed| processed > 0.0)
        })
    });
    assert!(screen.contains("1/1 up"), "{screen}");
    let row = dlq_row(&screen).unwrap_or_default();
    assert!(
        row.split_whitespace().nth(2) == Some("1"),
        "DLQ row: {row}\n{screen}"
    );

    // The fix: the order now exists (sent through the queue, as another producer would).
    queues
        .client
        .send_message()
        .queue_url(&queues.queue_url)
        .message_body(format!(
            "{{\"type\":\"order.submitted\",\"order\":{{\"id\":\"{missing}\",\"customer_id\":\"tui-fix\",\"items\":[{{\"sku\":\"A-1\",\"quantity\":1,\"unit_price_cents\":100}}]}}}}"
        ))
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let order: serde_json::Value = http
            .get(format!("{base}/v1/orders/{missing}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or_default();
        if order["status"] == "completed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the fixed order never completed: {order}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    tokio::task::block_in_place(|| {
        tmux.keys("2");
        tmux.wait_for("the dead letter with its reason", |s| {
            s.contains("unknown order") && s.contains("1 in the DLQ")
        });
        tmux.keys("r");
        tmux.wait_for("the redrive and an empty DLQ", |s| {
            s.contains("0 in the DLQ") && s.contains("Dead letters: none")
        });
    });
    assert_eq!(dlq_depth(&queues).await, 0);

    tokio::task::block_in_place(|| {
        tmux.keys("q");
        let deadline = Instant::now() + Duration::from_secs(5);
        while tmux.running() {
            assert!(
                Instant::now() < deadline,
                "q did not quit:\n{}",
                tmux.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    load.abort();
    let _ = stop.send(());
}

#[test]
fn figures_are_read_off_the_screen() {
    let screen = "│800.0 req/s  err 0.00%\n│in flight 9   processed 12.5/s   failed 0.0/s";
    assert_eq!(figure(screen, " req/s"), Some(800.0));
    assert_eq!(figure(screen, "/s   failed"), Some(12.5));
    assert_eq!(figure(screen, "nothing"), None);
}
