//! Protocol adapters: wire requests in, core calls, wire responses out.
//!
//! - [`errors`]: each core [`ErrorKind`](crate::core::ErrorKind) → its JSON `__type`, its query
//!   error code and its HTTP status, as Amazon SQS sends them.
//! - [`context`]: what a request tells about where it came from (the Host header for queue
//!   URLs) and how queue URLs map to queues.
//! - [`json`]: the AWS JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Action>`).
//! - [`query`]: the Query protocol (form `Action=…`, XML), translated to and from [`json`].
//!
//! Adapters know nothing of axum: they take bytes and return a [`WireResponse`].

pub mod context;
pub mod errors;
pub mod json;
pub mod query;

/// A response ready for the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `x-amzn-query-error` for JSON errors (`Code;Sender`).
    pub query_error: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}
