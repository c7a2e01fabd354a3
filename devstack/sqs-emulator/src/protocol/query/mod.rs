//! The Query protocol, spoken by older SDKs (Java v1, Go v1, botocore before its JSON switch):
//! form-encoded `Action=…` parameters in a POST body or a GET query string, XML responses,
//! errors as `<ErrorResponse>`; JSON instead when the request's `Accept` asks for it.
//!
//! It is a translation, not a second implementation: the flattened parameters become the
//! JSON protocol's request (`request`), the action runs through `json::run_action`, and the
//! JSON response becomes SQS's XML (`xml`) or the Query API's JSON form (`json_form`).
//! Every action of the JSON protocol is therefore served here with the same semantics and
//! errors. What is the Query protocol's own is here: a request with no action, and actions
//! sent to a queue's URL that do not act on a queue.

mod json_form;
mod request;
mod xml;

use std::sync::Arc;

use serde_json::Value;

pub use self::xml::{CONTENT_TYPE, NAMESPACE, escape};
use super::WireResponse;
use super::context::RequestContext;
use super::errors::codes;
use super::json::{self, Call};
use crate::core::{ErrorKind, Sqs, SqsError};
use request::to_json_request;

/// Actions whose responses have no `<…Result>` element.
const NO_RESULT: [&str; 9] = [
    "DeleteQueue",
    "SetQueueAttributes",
    "PurgeQueue",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "TagQueue",
    "UntagQueue",
    "AddPermission",
    "RemovePermission",
];

/// Actions that do not act on one queue, which SQS refuses at a queue's URL
/// (`InvalidAction`). `GetQueueUrl` is not among them: SQS answers it there.
const NOT_AT_A_QUEUE_URL: [&str; 2] = ["CreateQueue", "ListQueues"];

/// How a Query response is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// SQS's XML (the default).
    Xml,
    /// The Query API's JSON form, for a client whose `Accept` asks for `application/json`.
    Json,
}

impl ResponseFormat {
    /// The format an `Accept` header asks for: JSON when it names `application/json` and no
    /// XML type.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(accept) if accept.contains("application/json") && !accept.contains("xml") => {
                Self::Json
            }
            _ => Self::Xml,
        }
    }
}

/// Whether a request speaks the Query protocol: an `Action` among its parameters.
pub fn is_query(params: &[(String, String)]) -> bool {
    params.iter().any(|(key, _)| key == "Action")
}

/// Reads form parameters from a body or a query string; malformed encoding is an error.
pub fn parse_params(bytes: &[u8]) -> Result<Vec<(String, String)>, SqsError> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        SqsError::new(
            ErrorKind::MalformedRequest,
            format!("Malformed form parameters: {e}"),
        )
    })
}

/// The answer to a request that names no action: SQS's bare `<UnknownOperationException/>`
/// with a 404, in XML whatever the client accepts.
pub fn unknown_operation() -> WireResponse {
    WireResponse {
        status: 404,
        content_type: CONTENT_TYPE,
        query_error: None,
        body: b"<UnknownOperationException/>".to_vec(),
    }
}

/// Handles one Query-protocol request. `path` is the request path: old SDKs post to the queue
/// URL itself instead of passing `QueueUrl`.
pub async fn handle(
    sqs: &Arc<Sqs>,
    context: &RequestContext,
    path: &str,
    params: Vec<(String, String)>,
) -> WireResponse {
    let request_id = uuid::Uuid::new_v4().to_string();
    let format = context.response_format;
    let action = params
        .iter()
        .find(|(key, _)| key == "Action")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let at_queue_url = path.trim_matches('/').contains('/');
    if at_queue_url && NOT_AT_A_QUEUE_URL.contains(&action.as_str()) {
        let error = SqsError::new(
            ErrorKind::InvalidAction,
            format!("The action {action} is not valid for this endpoint."),
        );
        return error_response(&error, &request_id, format);
    }
    let mut request = to_json_request(&action, &params);
    if !request.contains_key("QueueUrl") && at_queue_url {
        request.insert(
            "QueueUrl".into(),
            Value::String(format!("{}{}", context.base_url, path)),
        );
    }
    let call = Call { sqs, context };
    let result = match serde_json::to_vec(&Value::Object(request)) {
        Ok(body) => json::run_action(&call, &action, &body).await,
        Err(e) => Err(SqsError::new(ErrorKind::MalformedRequest, e.to_string())),
    };
    let response = result.and_then(|body| {
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| SqsError::new(ErrorKind::MalformedRequest, e.to_string()))
    });
    match response {
        Ok(value) => {
            let (content_type, body) = match format {
                ResponseFormat::Xml => (
                    CONTENT_TYPE,
                    xml::success(&action, &value, &request_id).into_bytes(),
                ),
                ResponseFormat::Json => (
                    json_form::CONTENT_TYPE,
                    json_form::success(&action, value, &request_id),
                ),
            };
            WireResponse {
                status: 200,
                content_type,
                query_error: None,
                body,
            }
        }
        Err(error) => error_response(&error, &request_id, format),
    }
}

/// The wire form of an error: `<ErrorResponse>` (or its JSON form) with the Query error code.
pub fn error_response(error: &SqsError, request_id: &str, format: ResponseFormat) -> WireResponse {
    let wire = codes(error.kind);
    // The Query protocol words this one as SQS's first API did.
    let message = match error.kind {
        ErrorKind::QueueDoesNotExist => "The specified queue does not exist for this wsdl version.",
        _ => error.message.as_str(),
    };
    let fault = wire.fault.as_str();
    let (content_type, body) = match format {
        ResponseFormat::Xml => (
            CONTENT_TYPE,
            xml::error(fault, wire.query_code, message, request_id).into_bytes(),
        ),
        ResponseFormat::Json => (
            json_form::CONTENT_TYPE,
            json_form::error(fault, wire.query_code, message, request_id),
        ),
    };
    WireResponse {
        status: wire.status,
        content_type,
        query_error: None,
        body,
    }
}

/// The wire form of an error a fault rule injects, `Receiver` for a 5xx status.
pub fn injected_error(
    code: &str,
    status: u16,
    message: &str,
    format: ResponseFormat,
) -> WireResponse {
    let fault = if status >= 500 { "Receiver" } else { "Sender" };
    let request_id = uuid::Uuid::new_v4().to_string();
    let (content_type, body) = match format {
        ResponseFormat::Xml => (
            CONTENT_TYPE,
            xml::error(fault, code, message, &request_id).into_bytes(),
        ),
        ResponseFormat::Json => (
            json_form::CONTENT_TYPE,
            json_form::error(fault, code, message, &request_id),
        ),
    };
    WireResponse {
        status,
        content_type,
        query_error: None,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_error_responses_with_the_query_code() {
        let error = SqsError::new(
            ErrorKind::QueueDoesNotExist,
            "The specified queue does not exist.",
        );
        let wire = error_response(&error, "req-9", ResponseFormat::Xml);
        let body = String::from_utf8(wire.body).unwrap();
        assert_eq!(wire.status, 400);
        assert!(
            body.contains("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"),
            "{body}"
        );
        assert!(body.contains(
            "<Message>The specified queue does not exist for this wsdl version.</Message>"
        ));
        assert!(body.contains("<Type>Sender</Type>"));
        assert!(body.contains("<RequestId>req-9</RequestId>"));
        let json = error_response(&error, "req-9", ResponseFormat::Json);
        assert_eq!(json.content_type, "application/json");
        let doc: Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(
            doc["Error"]["Code"],
            "AWS.SimpleQueueService.NonExistentQueue"
        );
    }

    #[test]
    fn accept_chooses_the_format() {
        assert_eq!(ResponseFormat::from_accept(None), ResponseFormat::Xml);
        assert_eq!(
            ResponseFormat::from_accept(Some("*/*")),
            ResponseFormat::Xml
        );
        assert_eq!(
            ResponseFormat::from_accept(Some("application/json")),
            ResponseFormat::Json
        );
        assert_eq!(
            ResponseFormat::from_accept(Some("text/xml, application/json")),
            ResponseFormat::Xml
        );
    }

    #[test]
    fn form_parameters_decode_and_bad_encoding_is_an_error() {
        let parsed = parse_params(b"Action=SendMessage&MessageBody=a+b%26c").unwrap();
        assert!(is_query(&parsed));
        assert_eq!(parsed[1], ("MessageBody".into(), "a b&c".into()));
        assert!(!is_query(&parse_params(b"").unwrap()));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_forms_never_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            keys in proptest::collection::vec("[A-Za-z0-9.]{0,24}", 0..12),
            values in proptest::collection::vec(".{0,12}", 0..12),
        ) {
            let _ = parse_params(&bytes);
            let form: Vec<(String, String)> = keys.into_iter().zip(values).collect();
            let request = to_json_request("SendMessageBatch", &form);
            let xml = xml::success("SendMessageBatch", &Value::Object(request), "r");
            proptest::prop_assert!(xml.ends_with("</SendMessageBatchResponse>"));
        }
    }
}
