//! devstack as the stack's trace collector: an OTLP receiver on loopback (HTTP/protobuf and
//! HTTP/JSON on 4318, gRPC on 4317, free ports when taken) whose spans are kept in memory,
//! bounded, and queried by trace id, order id or message id (`devstack trace`, the TUI), and
//! optionally forwarded to another collector.
//!
//! - [`store`]: the bounded span store and its queries.
//! - [`convert`]: OTLP's messages into flat spans.
//! - [`receiver`]: the HTTP and gRPC endpoints.
//! - [`forward`]: `--otlp-forward URL`.
//! - [`queue_spans`]: the embedded emulator's message phases as spans of the `sqs` service.

pub mod convert;
pub mod forward;
pub mod queue_spans;
pub mod receiver;
pub mod store;
