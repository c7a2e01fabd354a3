//! # sqs-emulator — Amazon SQS, locally, in milliseconds
//!
//! The emulator embedded by `devstack up` and served alone by `devstack sqs`. It is laid out in
//! three rooms, one direction: transport → protocol adapter → core.
//!
//! - `core`: queues, messages, visibility, delay, FIFO, dead letters and move tasks. Knows
//!   nothing of HTTP; reads time through a clock that tests control.
//! - `protocol`: the AWS JSON 1.0 adapter (one module per action family) and its errors.
//! - `server`: axum on tokio.
//!
//! The rooms land with the emulator issue.
