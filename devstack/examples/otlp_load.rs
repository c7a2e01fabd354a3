//! Load for devstack's trace collector: OTLP/HTTP protobuf requests of 500 spans each (with
//! the attributes the service sets), posted by 4 concurrent senders for a while; prints the
//! spans per second the collector accepted. Used by `bench/tracing.sh`.
//!
//!   cargo run --release -p devstack --example otlp_load -- http://127.0.0.1:4318 10

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use devstack::otlp::queue_spans::text;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;

const SPANS_PER_REQUEST: usize = 500;
const SENDERS: usize = 4;

fn request() -> Vec<u8> {
    let spans = (0..SPANS_PER_REQUEST)
        .map(|i| Span {
            trace_id: (i as u128).to_be_bytes().to_vec(),
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            parent_span_id: if i % 4 == 0 {
                Vec::new()
            } else {
                (i as u64).to_be_bytes().to_vec()
            },
            name: "UPDATE orders".into(),
            kind: 3,
            start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            end_time_unix_nano: 1_700_000_000_001_000_000 + i as u64,
            attributes: vec![
                text("db.system.name", "postgresql"),
                text("db.operation.name", "UPDATE"),
                text(
                    "db.query.text",
                    "UPDATE orders SET status = 'completed' WHERE id = $1",
                ),
                text("order.id", "0b8f6d8e-3f5a-4a51-9a53-3c4c2a8f9e10"),
            ],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name", "load")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: otlp_load ENDPOINT [SECONDS]"))?;
    let seconds: u64 = args.next().map_or(Ok(10), |s| s.parse())?;
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let body = axum::body::Bytes::from(request());
    let accepted = Arc::new(AtomicU64::new(0));
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (http, url, body, accepted) =
                (http.clone(), url.clone(), body.clone(), accepted.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let sent = http
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .body(body.clone())
                        .send()
                        .await;
                    if sent.is_ok_and(|r| r.status().is_success()) {
                        accepted.fetch_add(SPANS_PER_REQUEST as u64, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await?;
    }
    let spans = accepted.load(Ordering::Relaxed);
    println!(
        "collector ingest:            {:.0} spans/s ({spans} spans in {:.1} s, OTLP/HTTP protobuf, {SPANS_PER_REQUEST} a request, {SENDERS} senders; target >= 50,000)",
        spans as f64 / started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
