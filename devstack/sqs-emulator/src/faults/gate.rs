//! The server's side of fault rules: what an AWS request names (its action and queue), and
//! what to do with it once [`Faults::decide`] has spoken — answer with the injected error in
//! the request's protocol, wait and serve, drop the connection, or serve with a duplicate
//! delivery.

use serde_json::Value;

use super::{Faults, Fired};
use crate::protocol::query::ResponseFormat;
use crate::protocol::{WireResponse, json, query};

/// The protocol a request speaks, for the form of an injected error.
#[derive(Debug, Clone, Copy)]
pub enum Protocol {
    /// AWS JSON 1.0.
    Json,
    /// Query, answered in this format.
    Query(ResponseFormat),
}

/// What the server does with a request.
#[derive(Debug)]
pub enum Gate {
    /// Serve it; with `duplicate`, deliver what a receive returns again.
    Serve {
        /// Deliver a receive's messages again.
        duplicate: bool,
    },
    /// Answer with this instead of serving.
    Answer(WireResponse),
    /// Close the connection without answering.
    Drop,
}

/// Asks `faults` about a request and carries out a delay; the rest is the caller's.
pub async fn check(faults: &Faults, action: &str, queue: Option<&str>, protocol: Protocol) -> Gate {
    match faults.decide(action, queue) {
        None => Gate::Serve { duplicate: false },
        Some(Fired::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            Gate::Serve { duplicate: false }
        }
        Some(Fired::Duplicate) => Gate::Serve { duplicate: true },
        Some(Fired::DropConnection) => Gate::Drop,
        Some(Fired::Error {
            code,
            status,
            message,
        }) => Gate::Answer(match protocol {
            Protocol::Json => json::injected_error(&code, status, &message),
            Protocol::Query(format) => query::injected_error(&code, status, &message, format),
        }),
    }
}

/// The action and queue name of a JSON-protocol request (`X-Amz-Target: AmazonSQS.<Action>`,
/// `QueueUrl` or `QueueName` in the body).
pub fn json_request(target: Option<&str>, body: &[u8]) -> (String, Option<String>) {
    let action = target
        .and_then(|t| t.strip_prefix("AmazonSQS."))
        .unwrap_or_default()
        .to_string();
    let fields = serde_json::from_slice::<Value>(body).ok();
    let text = |name: &str| {
        fields
            .as_ref()
            .and_then(|f| f.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let queue = text("QueueUrl")
        .map(|url| queue_name_of(&url))
        .or_else(|| text("QueueName"));
    (action, queue)
}

/// The action and queue name of a Query-protocol request (`Action`; `QueueUrl`, the path it
/// was posted to, or `QueueName`).
pub fn query_request(params: &[(String, String)], path: &str) -> (String, Option<String>) {
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let action = param("Action").unwrap_or_default();
    let queue = param("QueueUrl")
        .map(|url| queue_name_of(&url))
        .or_else(|| {
            path.trim_matches('/')
                .contains('/')
                .then(|| queue_name_of(path))
        })
        .or_else(|| param("QueueName"));
    (action, queue)
}

/// A queue URL's (or a bare name's) queue name: its last path segment.
fn queue_name_of(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(url)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_their_action_and_queue() {
        assert_eq!(
            json_request(
                Some("AmazonSQS.SendMessage"),
                br#"{"QueueUrl": "http://h:1/000000000000/orders", "MessageBody": "x"}"#
            ),
            ("SendMessage".into(), Some("orders".into()))
        );
        assert_eq!(
            json_request(Some("AmazonSQS.CreateQueue"), br#"{"QueueName": "q"}"#),
            ("CreateQueue".into(), Some("q".into()))
        );
        assert_eq!(
            json_request(Some("AmazonSQS.ListQueues"), b"not json"),
            ("ListQueues".into(), None)
        );
        let params = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            query_request(
                &params(&[("Action", "ReceiveMessage")]),
                "/queue/eu-west-1/0/orders"
            ),
            ("ReceiveMessage".into(), Some("orders".into()))
        );
        assert_eq!(
            query_request(
                &params(&[("Action", "SendMessage"), ("QueueUrl", "orders-dlq")]),
                "/"
            ),
            ("SendMessage".into(), Some("orders-dlq".into()))
        );
        assert_eq!(
            query_request(&params(&[("Action", "ListQueues")]), "/"),
            ("ListQueues".into(), None)
        );
    }
}
