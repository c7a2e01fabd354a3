//! `--otlp-forward URL`: everything received is also sent on to another collector (Jaeger,
//! Tempo, an OpenTelemetry Collector) over OTLP/HTTP protobuf, `URL/v1/traces`. Sending runs
//! in a background task behind a bounded queue: a slow or absent collector never slows the
//! stack down; what does not fit is dropped and counted, and failures are logged once a
//! minute at most.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use tokio::sync::mpsc;

/// Requests waiting to be forwarded, at most.
const QUEUE: usize = 1_024;

/// A handle that forwards requests.
#[derive(Debug, Clone)]
pub struct Forwarder {
    queue: mpsc::Sender<Vec<u8>>,
    dropped: Arc<AtomicU64>,
}

impl Forwarder {
    /// Starts forwarding to the collector at `url` (`http://host:4318`, with or without the
    /// `/v1/traces` path).
    pub fn start(url: &str) -> Self {
        let target = if url.trim_end_matches('/').ends_with("/v1/traces") {
            url.to_string()
        } else {
            format!("{}/v1/traces", url.trim_end_matches('/'))
        };
        let (queue, mut requests) = mpsc::channel::<Vec<u8>>(QUEUE);
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default();
            let mut last_warning: Option<Instant> = None;
            while let Some(body) = requests.recv().await {
                let sent = http
                    .post(&target)
                    .header("content-type", "application/x-protobuf")
                    .body(body)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status);
                if let Err(error) = sent
                    && last_warning.is_none_or(|at| at.elapsed() > Duration::from_secs(60))
                {
                    tracing::warn!(%target, %error, "cannot forward spans");
                    last_warning = Some(Instant::now());
                }
            }
        });
        Self {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues `request` for forwarding (dropped when the queue is full).
    pub fn send(&self, request: &ExportTraceServiceRequest) {
        if self.queue.try_send(request.encode_to_vec()).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
