//! One order followed through its trace: the real `service` binary run as the stack's app,
//! exporting to devstack's collector with nothing but the settings devstack hands out. An
//! order created over HTTP and completed by the worker is one trace — the HTTP server span,
//! the SQS send (with the message id), the worker's `process` span continuing it through the
//! message's `traceparent` (outcome `ok`), the Postgres statements under each — found by its
//! order id, parents correct. A poison message's `process` span says `dead_letter` and why,
//! with the send to the DLQ under it. The emulator's spans hold the queue's part: the order's
//! message waited (`orders wait`), was in flight, and was deleted; a message that failed
//! while Postgres was down was received twice — two `orders in flight` spans, two `process`
//! spans, the visibility change between them. Probes are not traced. Log lines carry the
//! trace id.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use devstack::apps::declaration::service_app;
use devstack::otlp::receiver::Sink;
use devstack::otlp::store::{Bounds, SpanStore};
use devstack::stack::{Silent, Stack, StackOptions};
use slipway_contracts::trace::{Span, SpanKind, SpanStatus, TraceQuery};

/// Waits until `query` finds spans for which `done` holds.
async fn spans_until(
    store: &SpanStore,
    query: TraceQuery,
    done: impl Fn(&[Span]) -> bool,
) -> Vec<Span> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let spans = store.find(&query);
        if done(&spans) {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "the trace never completed: {:#?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn has(spans: &[Span], name: &str) -> bool {
    spans.iter().any(|s| s.name == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_one_trace_from_the_request_through_the_queue_to_the_database() {
    let logs = tempfile::tempdir().unwrap();
    let store = Arc::new(SpanStore::new(Bounds::default()));
    let mut options = StackOptions::ephemeral_on_free_ports();
    options.log_dir = Some(logs.path().to_path_buf());
    options.telemetry = Some(Sink {
        store: store.clone(),
        forward: None,
    });
    let mut stack = Stack::start(&options, &Silent).await.unwrap();
    let mut app = service_app(Path::new(env!("CARGO_BIN_EXE_service")), 0);
    // Export at once rather than every 5 s (OpenTelemetry's batch processor setting).
    app.env
        .get_mut()
        .insert("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    stack
        .start_apps(&[app], &workspace, logs.path(), &Silent)
        .await
        .unwrap();
    let base = stack.env()["SERVICE_URL"].clone();

    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{base}/v1/orders"))
        .json(&serde_json::json!({
            "customer_id": "trace-test",
            "items": [{"sku": "A-1", "quantity": 2, "unit_price_cents": 500}],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order_id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let spans = spans_until(&store, TraceQuery::OrderId(order_id.clone()), |spans| {
        has(spans, "POST /v1/orders") && has(spans, "process orders") && has(spans, "orders delete")
    })
    .await;

    let server = named(&spans, "POST /v1/orders")[0];
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(server.service, "service");
    assert_eq!(server.parent_span_id, None);
    assert_eq!(server.attributes["http.route"], "/v1/orders");
    let trace = &server.trace_id;
    assert!(spans.iter().all(|s| &s.trace_id == trace), "one trace");
    let send = named(&spans, "send orders")[0];
    assert_eq!(send.kind, SpanKind::Producer);
    assert_eq!(send.attribute("order.id"), Some(order_id.as_str()));
    let message_id = send.attribute("messaging.message.id").unwrap().to_string();
    let process = named(&spans, "process orders")[0];
    assert_eq!(process.kind, SpanKind::Consumer);
    assert_eq!(
        process.parent_span_id.as_deref(),
        Some(send.span_id.as_str())
    );
    assert_eq!(process.attribute("outcome"), Some("ok"));
    assert_eq!(
        process.attribute("messaging.message.id"),
        Some(message_id.as_str())
    );
    let updates: Vec<&Span> = spans.iter().filter(|s| s.name == "UPDATE orders").collect();
    assert!(
        updates.iter().any(
            |u| u.parent_span_id.as_deref() == Some(process.span_id.as_str())
                && u.attribute("db.query.text")
                    .is_some_and(|q| q.contains("'completed'"))
                && !q_has_values(u)
        ),
        "the completing UPDATE under the process span: {updates:#?}"
    );
    assert!(
        spans
            .iter()
            .any(|s| s.name == "INSERT orders" && s.attributes["db.system.name"] == "postgresql"),
        "the INSERT in the request's trace"
    );
    queue_part(&spans, send, process);
    let by_message = store.find(&TraceQuery::MessageId(message_id));
    assert!(
        by_message.iter().any(|s| s.span_id == server.span_id),
        "found by message id"
    );

    // A poison message: dead-lettered at once, with the reason, the DLQ send under it.
    let sqs = devstack::launch::sqs::client(&stack.env()["AWS_ENDPOINT_URL"]);
    let poison_trace = "0af7651916cd43dd8448eb211c80319c";
    sqs.send_message()
        .queue_url(&stack.env()["SQS_QUEUE_URL"])
        .message_body("not json")
        .message_attributes("traceparent", traceparent(poison_trace))
        .send()
        .await
        .unwrap();
    let spans = spans_until(&store, TraceQuery::TraceId(poison_trace.into()), |spans| {
        has(spans, "process orders") && has(spans, "send orders-dlq") && has(spans, "orders delete")
    })
    .await;
    let process = named(&spans, "process orders")[0];
    assert_eq!(process.attribute("outcome"), Some("dead_letter"));
    assert_eq!(process.status, SpanStatus::Error);
    assert!(
        process
            .attribute("dead_letter.reason")
            .is_some_and(|r| !r.is_empty())
    );
    let dlq_send = named(&spans, "send orders-dlq")[0];
    assert_eq!(
        dlq_send.parent_span_id.as_deref(),
        Some(process.span_id.as_str())
    );

    batched_orders_link_to_their_statement(&store, &sqs, &stack.env()["SQS_QUEUE_URL"]).await;
    retried_while_postgres_is_down(&mut stack, &store, &sqs).await;

    // Probes and scrapes are logged, not traced (devstack polled /health until ready).
    assert!(
        store
            .recent(1_000)
            .iter()
            .all(|t| !t.root.starts_with("GET /health") && !t.root.starts_with("GET /metrics")),
        "no probe or scrape traces"
    );

    // The log lines inside the request carry its trace id.
    let log = std::fs::read_to_string(logs.path().join("service.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("\"target\":\"access\"") && l.contains(trace.as_str())),
        "the access log line carries the trace id"
    );
    stack.stop().await;
}

/// The emulator's part of a message's journey, under the send span: it waited, was in flight
/// for the one receive the worker's `process` span handled, and was deleted.
fn queue_part(spans: &[Span], send: &Span, process: &Span) {
    let wait = named(spans, "orders wait")[0];
    assert_eq!(wait.service, "sqs");
    assert_eq!(wait.parent_span_id.as_deref(), Some(send.span_id.as_str()));
    assert_eq!(wait.attribute("slipway.sqs.phase"), Some("waiting"));
    assert!(wait.start_unix_nano >= send.start_unix_nano);
    assert!(wait.end_unix_nano <= process.start_unix_nano + 1_000_000);
    let in_flight = named(spans, "orders in flight")[0];
    assert_eq!(in_flight.attributes["slipway.sqs.receive_count"], 1);
    assert_eq!(in_flight.attribute("slipway.sqs.ended_by"), Some("deleted"));
    assert!(
        in_flight
            .attributes
            .contains_key("slipway.sqs.visibility_timeout_seconds")
    );
    assert_eq!(in_flight.start_unix_nano, wait.end_unix_nano);
    assert_eq!(
        in_flight.attribute("messaging.message.id"),
        process.attribute("messaging.message.id")
    );
}

/// Two orders sent in one batch, each in a trace of its own, are completed by one statement:
/// it runs under the first message's `process` span (with the batch's size), and the other
/// message's `process` span links to that span, so each order's trace leads to it.
async fn batched_orders_link_to_their_statement(
    store: &SpanStore,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) {
    let traces = [
        "6e0c63257de34c926f9efcd03899e1a1",
        "6e0c63257de34c926f9efcd03899e1a2",
    ];
    let entries: Vec<_> = traces
        .iter()
        .enumerate()
        .map(|(i, trace)| {
            let body = serde_json::json!({"type": "order.submitted", "order": {
                "id": uuid::Uuid::new_v4(), "customer_id": "batched",
                "items": [{"sku": "B-1", "quantity": 1, "unit_price_cents": 100}]}});
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body.to_string())
                .message_attributes("traceparent", traceparent(trace))
                .build()
                .unwrap()
        })
        .collect();
    sqs.send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    let processed = |spans: &[Span]| {
        spans
            .iter()
            .any(|s| s.name == "process orders" && s.attribute("outcome") == Some("ok"))
    };
    let mut found = Vec::new();
    for trace in traces {
        let spans = spans_until(store, TraceQuery::TraceId(trace.into()), processed).await;
        let process = named(&spans, "process orders")[0].clone();
        let statement = spans
            .iter()
            .find(|s| {
                s.name == "UPDATE orders"
                    && s.parent_span_id.as_deref() == Some(process.span_id.as_str())
            })
            .cloned();
        found.push((process, statement));
    }
    // One receive took both (sent together into an idle queue): one statement for both.
    let (first, second) = match (&found[0], &found[1]) {
        ((p, Some(s)), (other, None)) | ((other, None), (p, Some(s))) => ((p, s), other),
        other => panic!("one statement under one of the two process spans: {other:#?}"),
    };
    let (first_process, statement) = first;
    assert_eq!(statement.attributes["db.operation.batch.size"], 2);
    assert_eq!(first_process.attributes["messaging.batch.message_count"], 2);
    assert!(
        second
            .links
            .iter()
            .any(|l| l.span_id == first_process.span_id && l.trace_id == first_process.trace_id),
        "the other message's process span links to the batch's: {second:#?}"
    );
}

/// Postgres is stopped: the worker's first try fails (`retry`, the message's visibility set to
/// the back-off), Postgres comes back, the second receive succeeds. The trace shows both.
async fn retried_while_postgres_is_down(
    stack: &mut Stack,
    store: &SpanStore,
    sqs: &aws_sdk_sqs::Client,
) {
    let postgres = stack.id("postgres").unwrap();
    stack.stop_component(postgres).await.unwrap();
    let trace = "5759e988bd862e3fe1be46a994272793";
    let body = serde_json::json!({"type": "order.submitted", "order": {
        "id": uuid::Uuid::new_v4(), "customer_id": "retried",
        "items": [{"sku": "R-1", "quantity": 1, "unit_price_cents": 100}]}});
    sqs.send_message()
        .queue_url(&stack.env()["SQS_QUEUE_URL"])
        .message_body(body.to_string())
        .message_attributes("traceparent", traceparent(trace))
        .send()
        .await
        .unwrap();
    let outcome = |outcome: &'static str| {
        move |spans: &[Span]| {
            spans
                .iter()
                .any(|s| s.name == "process orders" && s.attribute("outcome") == Some(outcome))
        }
    };
    spans_until(store, TraceQuery::TraceId(trace.into()), outcome("retry")).await;
    stack.start_component(postgres).await.unwrap();
    let spans = spans_until(store, TraceQuery::TraceId(trace.into()), |spans| {
        outcome("ok")(spans) && has(spans, "orders delete")
    })
    .await;
    let flights = named(&spans, "orders in flight");
    let processes = named(&spans, "process orders");
    assert!(flights.len() >= 2, "at least two receives: {flights:#?}");
    assert_eq!(
        flights.len(),
        processes.len(),
        "one process span per receive"
    );
    let first = flights
        .iter()
        .find(|s| s.attributes["slipway.sqs.receive_count"] == 1)
        .unwrap();
    assert_eq!(
        first.attribute("slipway.sqs.ended_by"),
        Some("visibility_timeout")
    );
    let change = named(&spans, "orders change visibility")[0];
    assert_eq!(
        change.parent_span_id.as_deref(),
        Some(first.span_id.as_str())
    );
    assert!(
        named(&spans, "orders wait").len() >= 2,
        "it waited again before its redelivery"
    );
}

fn traceparent(trace_id: &str) -> aws_sdk_sqs::types::MessageAttributeValue {
    aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value(format!("00-{trace_id}-b7ad6b7169203331-01"))
        .build()
        .unwrap()
}

/// Whether a statement span's text holds a value rather than placeholders (it must not).
fn q_has_values(span: &Span) -> bool {
    span.attribute("db.query.text")
        .is_some_and(|q| q.contains("trace-test"))
}
