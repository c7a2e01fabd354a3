//! OTLP's trace request (the protobuf messages of `opentelemetry-proto`, whichever encoding
//! brought them) into the flat [`Span`]s the store keeps: ids in lowercase hex, the resource's
//! `service.name` as `service`, attributes as plain JSON values.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{span, status};
use slipway_contracts::trace::{Span, SpanKind, SpanLink, SpanStatus};

/// The service name when the sender gave none (OpenTelemetry's own default).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// Every span of `request`.
pub fn spans(request: ExportTraceServiceRequest) -> Vec<Span> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| kv.value.as_ref())
            .map_or_else(|| UNKNOWN_SERVICE.to_string(), text);
        for scope in resource_spans.scope_spans {
            out.extend(scope.spans.into_iter().map(|s| span_of(s, &service)));
        }
    }
    out
}

fn span_of(span: opentelemetry_proto::tonic::trace::v1::Span, service: &str) -> Span {
    let status = span.status.unwrap_or_default();
    Span {
        trace_id: hex::encode(&span.trace_id),
        span_id: hex::encode(&span.span_id),
        parent_span_id: (!span.parent_span_id.is_empty())
            .then(|| hex::encode(&span.parent_span_id)),
        name: span.name,
        service: service.to_string(),
        kind: match span::SpanKind::try_from(span.kind) {
            Ok(span::SpanKind::Server) => SpanKind::Server,
            Ok(span::SpanKind::Client) => SpanKind::Client,
            Ok(span::SpanKind::Producer) => SpanKind::Producer,
            Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
            _ => SpanKind::Internal,
        },
        start_unix_nano: span.start_time_unix_nano,
        end_unix_nano: span.end_time_unix_nano,
        status: match status::StatusCode::try_from(status.code) {
            Ok(status::StatusCode::Ok) => SpanStatus::Ok,
            Ok(status::StatusCode::Error) => SpanStatus::Error,
            _ => SpanStatus::Unset,
        },
        status_message: (!status.message.is_empty()).then_some(status.message),
        attributes: attributes(&span.attributes),
        links: span
            .links
            .iter()
            .map(|link| SpanLink {
                trace_id: hex::encode(&link.trace_id),
                span_id: hex::encode(&link.span_id),
            })
            .collect(),
    }
}

fn attributes(pairs: &[KeyValue]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map_or(serde_json::Value::Null, json),
            )
        })
        .collect()
}

/// An attribute value as plain JSON.
fn json(value: &AnyValue) -> serde_json::Value {
    use serde_json::Value;
    match &value.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::from(s.as_str()),
        Some(any_value::Value::BoolValue(b)) => Value::from(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => Value::from(*d),
        Some(any_value::Value::BytesValue(b)) => Value::from(hex::encode(b)),
        Some(any_value::Value::ArrayValue(array)) => {
            Value::Array(array.values.iter().map(json).collect())
        }
        Some(any_value::Value::KvlistValue(list)) => Value::Object(attributes(&list.values)),
        // An index into a profile's string table: meaningless without the table.
        Some(any_value::Value::StringValueStrindex(index)) => Value::from(*index),
    }
}

/// A value as text (`service.name` is a string; anything else is shown as JSON).
fn text(value: &AnyValue) -> String {
    match json(value) {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    use super::*;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    #[test]
    fn a_request_becomes_flat_spans() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv(
                        "service.name",
                        any_value::Value::StringValue("service".into()),
                    )],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![opentelemetry_proto::tonic::trace::v1::Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![0x01; 8],
                        name: "POST /v1/orders".into(),
                        kind: span::SpanKind::Server as i32,
                        start_time_unix_nano: 10,
                        end_time_unix_nano: 25,
                        attributes: vec![
                            kv("order.id", any_value::Value::StringValue("o-1".into())),
                            kv("http.response.status_code", any_value::Value::IntValue(201)),
                        ],
                        status: Some(Status {
                            code: status::StatusCode::Error as i32,
                            message: "boom".into(),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let spans = spans(request);
        let span = &spans[0];
        assert_eq!(span.trace_id, "ab".repeat(16));
        assert_eq!(span.span_id, "0101010101010101");
        assert_eq!(span.parent_span_id, None);
        assert_eq!(span.service, "service");
        assert_eq!(span.kind, SpanKind::Server);
        assert_eq!(span.status, SpanStatus::Error);
        assert_eq!(span.status_message.as_deref(), Some("boom"));
        assert_eq!(span.attributes["http.response.status_code"], 201);
        assert_eq!(span.attribute("order.id"), Some("o-1"));
    }
}
