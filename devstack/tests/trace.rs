//! The trace collector through the real binary: `up` runs an OTLP receiver, lists it as the
//! `otlp` component and hands out `OTEL_EXPORTER_OTLP_ENDPOINT`; a span posted as OTLP/JSON
//! and one posted as OTLP/protobuf come back from `devstack trace --trace-id … --json` with
//! the contract's fields, `--order-id` finds a journey by the `order.id` attribute, the
//! waterfall shows parent and child, and a bad request is refused with 400. With
//! `--otlp-forward`, what arrives is also sent on to another collector. (The Python
//! SDK's exporters, HTTP and gRPC, are exercised by `.ci/run`:
//! `devstack/tests/otel/third_party.py`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read as _, Write as _};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;

use common::{run, start_up};

/// One HTTP/1.1 POST on loopback; the status code and the body.
fn post(endpoint: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, text)
}

fn spans_of(root: &std::path::Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["trace"];
    all.extend_from_slice(args);
    all.push("--json");
    let (ok, out, err) = run(root, &all);
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

const JSON_TRACE: &str = "5b8efff798038103d269b633813fc60c";

fn json_request() -> String {
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"checkout"}}}}]}},
        "scopeSpans":[{{"scope":{{"name":"test"}},"spans":[
          {{"traceId":"{JSON_TRACE}","spanId":"eee19b7ec3c1b174","name":"POST /cart","kind":2,
            "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
            "attributes":[{{"key":"order.id","value":{{"stringValue":"order-42"}}}},
                          {{"key":"http.response.status_code","value":{{"intValue":"201"}}}}],
            "status":{{}}}},
          {{"traceId":"{JSON_TRACE}","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b174",
            "name":"INSERT orders","kind":3,
            "startTimeUnixNano":"1544712660100000000","endTimeUnixNano":"1544712660300000000",
            "status":{{"code":2,"message":"duplicate key"}}}}
        ]}}]}}]}}"#
    )
}

fn protobuf_request() -> Vec<u8> {
    let kv = |key: &str, value: &str| KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "worker")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![0x11; 16],
                    span_id: vec![0x22; 8],
                    name: "process".into(),
                    kind: 5,
                    start_time_unix_nano: 1_000,
                    end_time_unix_nano: 2_000,
                    attributes: vec![kv("messaging.message.id", "m-7")],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[test]
fn spans_sent_over_otlp_come_back_from_devstack_trace() {
    let root = tempfile::tempdir().unwrap();
    let (_up, state) = start_up(root.path(), &["--no-service"]);
    let endpoint = state.env["OTEL_EXPORTER_OTLP_ENDPOINT"].clone();
    assert_eq!(state.env["OTEL_EXPORTER_OTLP_PROTOCOL"], "http/protobuf");
    assert_eq!(state.component("otlp").unwrap().url, endpoint);

    let (status, _) = post(
        &endpoint,
        "/v1/traces",
        "application/json",
        json_request().as_bytes(),
    );
    assert_eq!(status, 200);
    let (status, _) = post(
        &endpoint,
        "/v1/traces",
        "application/x-protobuf",
        &protobuf_request(),
    );
    assert_eq!(status, 200);
    let (status, text) = post(
        &endpoint,
        "/v1/traces",
        "application/x-protobuf",
        b"\xff\xff",
    );
    assert!(
        status == 400 && text.contains("not an OTLP trace request"),
        "{text}"
    );
    let (status, _) = post(&endpoint, "/v1/logs", "application/json", b"{}");
    assert_eq!(status, 200, "logs are accepted");

    let spans = spans_of(root.path(), &["--trace-id", JSON_TRACE]);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let root_span = &spans[0];
    assert_eq!(root_span["name"], "POST /cart");
    assert_eq!(root_span["service"], "checkout");
    assert_eq!(root_span["parent_span_id"], serde_json::Value::Null);
    assert_eq!(root_span["start_unix_nano"], 1_544_712_660_000_000_000_u64);
    assert_eq!(root_span["end_unix_nano"], 1_544_712_661_000_000_000_u64);
    assert_eq!(root_span["attributes"]["http.response.status_code"], 201);
    assert_eq!(spans[1]["parent_span_id"], "eee19b7ec3c1b174");
    assert_eq!(spans[1]["status"], "error");

    assert_eq!(spans_of(root.path(), &["--order-id", "order-42"]).len(), 2);
    let by_message = spans_of(root.path(), &["--message-id", "m-7"]);
    assert_eq!(by_message.len(), 1);
    assert_eq!(by_message[0]["trace_id"], "11".repeat(16));
    assert_eq!(by_message[0]["service"], "worker");
    assert!(spans_of(root.path(), &["--order-id", "nope"]).is_empty());

    let (ok, out, err) = run(root.path(), &["trace", "--order-id", "order-42"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("  POST /cart") && out.contains("    INSERT orders"),
        "{out}"
    );
    assert!(out.contains("ERROR duplicate key"), "{out}");
    let (ok, _, err) = run(root.path(), &["trace"]);
    assert!(!ok && err.contains("--order-id"), "{err}");
}

/// A stand-in for another collector: accepts one HTTP request and hands back its request line
/// and body.
fn one_request_collector() -> (u16, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        let _ = sender.send((head.lines().next().unwrap_or_default().to_string(), body));
    });
    (port, received)
}

#[test]
fn spans_are_forwarded_to_another_collector() {
    let (port, received) = one_request_collector();
    let root = tempfile::tempdir().unwrap();
    let target = format!("http://127.0.0.1:{port}");
    let (_up, state) = start_up(root.path(), &["--no-service", "--otlp-forward", &target]);
    let endpoint = state.env["OTEL_EXPORTER_OTLP_ENDPOINT"].clone();
    let (status, _) = post(
        &endpoint,
        "/v1/traces",
        "application/x-protobuf",
        &protobuf_request(),
    );
    assert_eq!(status, 200);
    let (line, body) = received
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("nothing was forwarded");
    assert_eq!(line, "POST /v1/traces HTTP/1.1");
    let forwarded = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
    let span = &forwarded.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.name, "process");
    assert_eq!(span.trace_id, vec![0x11; 16]);
}
