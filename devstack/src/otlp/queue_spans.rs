//! The queue's part of a journey: the embedded emulator's message phases
//! ([`sqs_emulator::history`]) as OTLP spans of the `sqs` service, in the sender's trace, into
//! the same [`Sink`] the receiver feeds (so they are kept, queried and forwarded like any
//! app's spans).
//!
//! Each phase is a child of the span that sent the message (the `traceparent` on it); a
//! visibility change is a child of the in-flight phase it changed. Names are the queue and the
//! phase (`orders wait`, `orders in flight`, `orders-dlq dead letter`); attributes follow
//! OpenTelemetry's messaging conventions (`messaging.system = aws_sqs`,
//! `messaging.destination.name`, `messaging.message.id`) with the emulator's own under
//! `slipway.sqs.*` (see METRICS.md).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use sqs_emulator::history::PhaseSink;
use sqs_emulator::history::phases::Phase;
use sqs_emulator::history::trace_context::TraceContext;

use super::receiver::Sink;

/// The `service.name` of the queue's spans (the component's name).
pub const SERVICE: &str = "sqs";

/// The attribute naming a phase: `waiting`, `delayed`, `in_flight`, `visibility_change`,
/// `deleted`, `dead_lettered`, `moved`, `expired`, `purged`.
pub const PHASE: &str = "slipway.sqs.phase";

/// Phases into spans, into the stack's sink.
#[derive(Debug)]
pub struct QueueSpans(pub Sink);

impl PhaseSink for QueueSpans {
    fn phases(&self, phases: Vec<(TraceContext, Phase)>) {
        self.0.take(request(&phases));
    }
}

/// One export request holding every phase, from the `sqs` service.
pub fn request(phases: &[(TraceContext, Phase)]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name", SERVICE)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "slipway.sqs-emulator".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans: phases.iter().map(|(t, p)| span_of(t, p)).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn span_of(trace: &TraceContext, phase: &Phase) -> Span {
    let mut attributes = vec![
        text("messaging.system", "aws_sqs"),
        text("messaging.destination.name", &phase.queue),
        text("messaging.message.id", &phase.message_id.to_string()),
        text(PHASE, phase.kind.as_str()),
    ];
    if let Some(count) = phase.receive_count {
        attributes.push(int("slipway.sqs.receive_count", u64::from(count)));
    }
    if let Some(seconds) = phase.visibility_timeout_seconds {
        attributes.push(int("slipway.sqs.visibility_timeout_seconds", seconds));
    }
    if let Some(ended_by) = phase.ended_by {
        attributes.push(text("slipway.sqs.ended_by", ended_by));
    }
    if let Some(source) = &phase.source_queue_arn {
        attributes.push(text("slipway.sqs.dead_letter_source_arn", source));
    }
    if let Some(reason) = &phase.error {
        attributes.push(text("slipway.sqs.reason", reason));
    }
    Span {
        trace_id: trace.trace_id.to_vec(),
        span_id: phase.span_id.to_vec(),
        parent_span_id: phase.within.unwrap_or(trace.parent_span_id).to_vec(),
        name: phase.span_name(),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: phase.start_micros.saturating_mul(1000),
        end_time_unix_nano: phase.end_micros.saturating_mul(1000),
        attributes,
        status: phase.error.as_ref().map(|message| Status {
            code: status::StatusCode::Error as i32,
            message: message.clone(),
        }),
        ..Default::default()
    }
}

/// An OTLP string attribute.
pub fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: u64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(
                i64::try_from(value).unwrap_or(i64::MAX),
            )),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use slipway_contracts::trace::SpanStatus;
    use sqs_emulator::history::phases::PhaseKind;

    use super::*;
    use crate::otlp::convert;

    #[test]
    fn a_dead_letter_becomes_an_error_span_under_the_senders_span() {
        let trace = TraceContext {
            trace_id: [0xab; 16],
            parent_span_id: [0x01; 8],
            sampled: true,
        };
        let phase = Phase {
            message_id: uuid::Uuid::nil(),
            queue: Arc::from("orders-dlq"),
            kind: PhaseKind::DeadLettered,
            span_id: [0x02; 8],
            within: None,
            start_micros: 5,
            end_micros: 5,
            receive_count: Some(3),
            visibility_timeout_seconds: None,
            ended_by: None,
            source_queue_arn: Some(Arc::from("arn:aws:sqs:us-east-1:000000000000:orders")),
            error: Some("received 3 times; the queue's maxReceiveCount is 3".into()),
        };
        let spans = convert::spans(request(&[(trace, phase)]));
        let span = &spans[0];
        assert_eq!(span.name, "orders-dlq dead letter");
        assert_eq!(span.service, SERVICE);
        assert_eq!(span.trace_id, "ab".repeat(16));
        assert_eq!(span.parent_span_id.as_deref(), Some("0101010101010101"));
        assert_eq!(span.start_unix_nano, 5_000);
        assert_eq!(span.status, SpanStatus::Error);
        assert_eq!(span.attribute(PHASE), Some("dead_lettered"));
        assert_eq!(span.attribute("messaging.system"), Some("aws_sqs"));
        assert_eq!(span.attributes["slipway.sqs.receive_count"], 3);
        assert_eq!(
            span.attribute("slipway.sqs.dead_letter_source_arn"),
            Some("arn:aws:sqs:us-east-1:000000000000:orders")
        );
    }
}
