//! Where a request came from and how queue URLs map to queues.
//!
//! Queue URLs are built from the request's `Host` header (`http://{host}/{account}/{name}`),
//! as ElasticMQ does with `node-address.host = "*"`, so one emulator serves clients on the host
//! and in containers. A queue URL with any host resolves by its account and name.

use std::sync::Arc;

use super::query::ResponseFormat;
use crate::core::{ErrorKind, Queue, Result, Sqs, SqsError};

/// What the adapter needs to know about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `scheme://host[:port]` as the client addressed the emulator.
    pub base_url: String,
    /// The request's `X-Amzn-Trace-Id` header: sent messages without an `AWSTraceHeader`
    /// system attribute get it as theirs, as SQS does for X-Ray-traced senders.
    pub trace_header: Option<String>,
    /// How a Query-protocol response is written (the `Accept` header).
    pub response_format: ResponseFormat,
}

impl RequestContext {
    /// A context for a request that arrived with this `Host` header.
    pub fn from_host(host: &str) -> Self {
        Self {
            base_url: format!("http://{host}"),
            trace_header: None,
            response_format: ResponseFormat::Xml,
        }
    }

    /// The URL of a queue, as this client should see it.
    pub fn queue_url(&self, queue: &Queue) -> String {
        format!("{}/{}/{}", self.base_url, queue.account, queue.name)
    }
}

/// The queue a `QueueUrl` names: its last two path segments are account and name. A bare
/// queue name (no scheme, no slash) names a queue of the default account, as AWS accepts.
pub fn resolve_queue(sqs: &Sqs, queue_url: Option<&str>) -> Result<Arc<Queue>> {
    let url = queue_url
        .filter(|u| !u.is_empty())
        .ok_or_else(|| SqsError::missing_parameter("QueueUrl"))?;
    if !url.contains(['/', ':']) {
        return sqs.queue(&sqs.settings().account_id, url);
    }
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [.., account, name] => sqs.queue(account, name),
        _ => Err(SqsError::new(
            ErrorKind::InvalidAddress,
            format!("The address {url} is not valid for this endpoint."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::core::{ManualClock, SqsSettings};

    #[test]
    fn any_host_resolves_by_account_and_name() {
        let sqs = Sqs::new(SqsSettings::default(), Arc::new(ManualClock::default()));
        sqs.create_queue("000000000000", "orders", &BTreeMap::new(), &BTreeMap::new())
            .unwrap();
        for url in [
            "http://localhost:9324/000000000000/orders",
            "http://elasticmq:9324/000000000000/orders",
            "https://sqs.us-east-1.amazonaws.com/000000000000/orders/",
        ] {
            assert_eq!(
                resolve_queue(&sqs, Some(url)).unwrap().name,
                "orders",
                "{url}"
            );
        }
        assert_eq!(resolve_queue(&sqs, Some("orders")).unwrap().name, "orders");
        assert_eq!(
            resolve_queue(&sqs, Some("nope")).unwrap_err().kind,
            ErrorKind::QueueDoesNotExist
        );
        assert_eq!(
            resolve_queue(&sqs, Some("http://h/orders"))
                .unwrap_err()
                .kind,
            ErrorKind::InvalidAddress
        );
        assert_eq!(
            resolve_queue(&sqs, None).unwrap_err().kind,
            ErrorKind::MissingParameter
        );
        assert_eq!(
            resolve_queue(&sqs, Some("http://h/000000000000/nope"))
                .unwrap_err()
                .kind,
            ErrorKind::QueueDoesNotExist
        );
    }

    #[test]
    fn urls_follow_the_host_header() {
        let sqs = Sqs::new(SqsSettings::default(), Arc::new(ManualClock::default()));
        let queue = sqs
            .create_queue("000000000000", "q", &BTreeMap::new(), &BTreeMap::new())
            .unwrap();
        assert_eq!(
            RequestContext::from_host("elasticmq:9324").queue_url(&queue),
            "http://elasticmq:9324/000000000000/q"
        );
    }
}
