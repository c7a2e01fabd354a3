//! Where trace context travels, in W3C Trace Context form (`traceparent`, `tracestate`):
//! read from an HTTP request's headers, and written to and read from an SQS message's
//! attributes (a `traceparent` String attribute), so that the worker continues the producer's
//! trace — and does again on every redelivery, which makes retries visible.
//!
//! Why message attributes rather than the `AWSTraceHeader` system attribute: `AWSTraceHeader`
//! carries X-Ray's format and is set by AWS services (Lambda, API Gateway) through X-Ray;
//! OpenTelemetry's SDKs, devstack's collector and the emulator speak W3C, and a message
//! attribute is what OpenTelemetry's messaging conventions use for SQS. It costs one of the
//! ten attributes a message may carry (the service uses two).

use std::collections::HashMap;

use aws_sdk_sqs::types::MessageAttributeValue;
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The attribute holding the W3C `traceparent`.
pub const TRACEPARENT: &str = "traceparent";

struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}

struct Attributes<'a>(&'a HashMap<String, MessageAttributeValue>);

impl Extractor for Attributes<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.string_value())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

#[derive(Default)]
struct Collected(HashMap<String, String>);

impl Injector for Collected {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
}

/// The context an incoming request carries (empty when it carries none).
pub fn from_headers(headers: &axum::http::HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(headers)))
}

/// The context a received message carries (empty when it carries none).
pub fn from_attributes(attributes: &HashMap<String, MessageAttributeValue>) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&Attributes(attributes)))
}

/// The message attributes that carry `span`'s context to a consumer (none when tracing is off
/// or the span is not sampled).
pub fn attributes_for(span: &tracing::Span) -> Vec<(String, MessageAttributeValue)> {
    let context = span.context();
    let mut collected = Collected::default();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut collected));
    collected
        .0
        .into_iter()
        // SQS refuses an empty String attribute (an empty `tracestate` is the usual one).
        .filter(|(_, value)| !value.is_empty())
        .filter_map(|(key, value)| {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .ok()?;
            Some((key, value))
        })
        .collect()
}

/// Makes `parent` (when it holds a trace) the parent of the trace's `span`, and records the
/// span's ids on the log's span `log` (as `trace_id` and `span_id`, which it must declare),
/// so that every line logged inside carries them. Nothing happens when tracing is off.
pub fn continue_trace(span: &tracing::Span, parent: Context, log: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt as _;
    if !crate::otel::enabled() {
        return;
    }
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    let context = span.context();
    let otel = context.span();
    let ids = otel.span_context();
    if ids.is_valid() {
        log.record("trace_id", ids.trace_id().to_string());
        log.record("span_id", ids.span_id().to_string());
    }
}

/// Links `span` to `to` (an OpenTelemetry span link): a message processed in a batch points at
/// the span under which the batch's statement ran, in the first message's trace. Nothing
/// without traces.
pub fn link(span: &tracing::Span, to: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt as _;
    if !crate::otel::enabled() {
        return;
    }
    let target = to.context().span().span_context().clone();
    if target.is_valid() {
        span.add_link(target);
    }
}
