//! The trace collector as a component of the stack (when `up` asks for one): devstack's own
//! OTLP receiver, in this process, on 4318 (HTTP) and 4317 (gRPC) or free ports. Apps get
//! `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`, the standard
//! variables every OpenTelemetry SDK reads; the gRPC address is in `up`'s notes.

use slipway_contracts::state::Backend;

use super::{Kind, Plan, StackOptions};
use crate::component::{Instance, Recipe};
use crate::config::DevstackConfig;
use crate::launch::LaunchError;
use crate::otlp::receiver::{Receiver, Sink, endpoint};

/// The kind.
#[derive(Debug)]
pub struct Otlp;

/// The receiver on its two ports, its spans going to `sink`.
#[derive(Debug)]
pub struct ReceiverRecipe {
    sink: Sink,
    http_port: u16,
    grpc_port: u16,
}

#[async_trait::async_trait]
impl Recipe for ReceiverRecipe {
    async fn start(&self) -> Result<Box<dyn Instance>, LaunchError> {
        let receiver = Receiver::start(self.sink.clone(), self.http_port, self.grpc_port)
            .await
            .map_err(|e| {
                LaunchError::Io(format!(
                    "otlp: cannot listen on 127.0.0.1:{} and :{}: {e}",
                    self.http_port, self.grpc_port
                ))
            })?;
        Ok(Box::new(receiver))
    }
}

#[async_trait::async_trait]
impl Instance for Receiver {
    fn backend(&self) -> Backend {
        Backend::Embedded
    }

    fn url(&self) -> String {
        endpoint(self.http_addr())
    }

    fn notes(&self) -> Vec<String> {
        vec![format!(
            "otlp: OTLP/HTTP on {}, OTLP/gRPC on {}",
            self.http_addr(),
            self.grpc_addr()
        )]
    }

    async fn stop(self: Box<Self>) {
        Receiver::stop(&self);
    }
}

#[async_trait::async_trait]
impl Kind for Otlp {
    fn name(&self) -> &'static str {
        "otlp"
    }

    fn wanted(&self, options: &StackOptions) -> bool {
        options.telemetry.is_some()
    }

    fn port(&self, config: &DevstackConfig) -> u16 {
        config.ports.otlp
    }

    fn given_url<'o>(&self, _options: &'o StackOptions) -> Option<&'o str> {
        None
    }

    async fn plan(&self, plan: &Plan<'_>) -> Result<Box<dyn Recipe>, LaunchError> {
        let sink =
            plan.options.telemetry.clone().ok_or_else(|| {
                LaunchError::Unsupported("otlp: this stack keeps no traces".into())
            })?;
        let grpc = crate::ports::choose("otlp-grpc", plan.options.config.ports.otlp_grpc)
            .map_err(|e| LaunchError::Io(format!("otlp-grpc: no free port: {e}")))?;
        if let Some(note) = grpc.note {
            tracing::info!("{note}");
        }
        Ok(Box::new(ReceiverRecipe {
            sink,
            http_port: plan.port,
            grpc_port: grpc.port,
        }))
    }

    async fn settings(
        &self,
        url: &str,
        _config: &DevstackConfig,
    ) -> Result<Vec<(String, String)>, LaunchError> {
        Ok(vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), url.into()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()),
        ])
    }
}
