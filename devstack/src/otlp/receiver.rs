//! The OTLP receiver: traces over HTTP (`POST /v1/traces`, protobuf or JSON, gzip or not) and
//! over gRPC (`opentelemetry.proto.collector.trace.v1.TraceService/Export`), both on loopback,
//! into the [`SpanStore`] (and to the forwarder, when one is set). Logs and metrics are
//! accepted on their HTTP paths and not kept (the stack's logs are its files), so that an SDK
//! configured for all three signals does not report errors.
//!
//! The HTTP side is axum (with tower-http's request decompression); the gRPC side is tonic
//! with the service `opentelemetry-proto` generates: no protocol is written by hand.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use tower_http::decompression::RequestDecompressionLayer;

use super::convert;
use super::forward::Forwarder;
use super::store::SpanStore;

/// Where spans go once received.
#[derive(Debug, Clone)]
pub struct Sink {
    /// The store.
    pub store: Arc<SpanStore>,
    /// Another collector, when `--otlp-forward` is set.
    pub forward: Option<Forwarder>,
}

impl Sink {
    /// Forwards `request` (when set) and keeps its spans.
    pub fn take(&self, request: ExportTraceServiceRequest) {
        if let Some(forward) = &self.forward {
            forward.send(&request);
        }
        self.store.insert(convert::spans(request));
    }
}

/// A running receiver.
#[derive(Debug)]
pub struct Receiver {
    http: SocketAddr,
    grpc: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// Listens on 127.0.0.1:`http_port` (OTLP/HTTP) and 127.0.0.1:`grpc_port` (OTLP/gRPC).
    pub async fn start(sink: Sink, http_port: u16, grpc_port: u16) -> std::io::Result<Self> {
        let http = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, http_port)).await?;
        let grpc = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, grpc_port)).await?;
        let (http_addr, grpc_addr) = (http.local_addr()?, grpc.local_addr()?);
        let router = Router::new()
            .route("/v1/traces", post(traces))
            .route("/v1/logs", post(accepted))
            .route("/v1/metrics", post(accepted))
            .layer(RequestDecompressionLayer::new())
            .with_state(sink.clone());
        let http_task = tokio::spawn(async move {
            if let Err(error) = axum::serve(http, router).await {
                tracing::warn!(%error, "the OTLP/HTTP receiver stopped");
            }
        });
        let grpc_task = tokio::spawn(async move {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(grpc);
            let service = TraceServiceServer::new(Grpc(sink))
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
            if let Err(error) = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await
            {
                tracing::warn!(%error, "the OTLP/gRPC receiver stopped");
            }
        });
        Ok(Self {
            http: http_addr,
            grpc: grpc_addr,
            tasks: vec![http_task, grpc_task],
        })
    }

    /// The OTLP/HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// The OTLP/gRPC address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc
    }

    /// Stops listening.
    pub fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// `POST /v1/traces`: the request in the encoding its content type says; the answer in the
/// same (OTLP/HTTP: an empty `ExportTraceServiceResponse`).
async fn traces(State(sink): State<Sink>, headers: HeaderMap, body: Bytes) -> Response {
    let json = is_json(&headers);
    let request = if json {
        serde_json::from_slice::<ExportTraceServiceRequest>(&body).map_err(|e| e.to_string())
    } else {
        ExportTraceServiceRequest::decode(body).map_err(|e| e.to_string())
    };
    match request {
        Ok(request) => {
            sink.take(request);
            let response = ExportTraceServiceResponse::default();
            if json {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec()),
                )
                    .into_response()
            } else {
                (
                    [(header::CONTENT_TYPE, "application/x-protobuf")],
                    response.encode_to_vec(),
                )
                    .into_response()
            }
        }
        Err(error) => (
            StatusCode::BAD_REQUEST,
            format!("not an OTLP trace request: {error}"),
        )
            .into_response(),
    }
}

/// Logs and metrics: accepted, not kept.
async fn accepted(headers: HeaderMap) -> Response {
    if is_json(&headers) {
        ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Vec::new(),
        )
            .into_response()
    }
}

/// The gRPC trace service.
struct Grpc(Sink);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.take(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The address of a receiver on `addr`, as `OTEL_EXPORTER_OTLP_ENDPOINT` wants it.
pub fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Where the receivers listen when nothing else is asked: OTLP's registered ports.
pub const DEFAULT_HTTP_PORT: u16 = 4318;
/// OTLP/gRPC's registered port.
pub const DEFAULT_GRPC_PORT: u16 = 4317;
