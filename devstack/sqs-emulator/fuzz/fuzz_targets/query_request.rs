//! Query-protocol requests: the first line of the input is the request path, the rest a
//! form-encoded body. Whatever the bytes, the emulator answers with XML (a result or an
//! `<ErrorResponse>`) and never panics, and its queues stay consistent.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use sqs_emulator::protocol::context::RequestContext;
use sqs_emulator::protocol::query;

fuzz_target!(|data: &[u8]| {
    let (path, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (String::from_utf8_lossy(&data[..at]).into_owned(), &data[at + 1..]),
        None => ("/".to_string(), data),
    };
    let sqs = common::emulator();
    let context = RequestContext::new("localhost:9324", sqs.settings().scope());
    let response = match query::parse_params(body) {
        Ok(params) => common::block_on(query::handle(&sqs, &context, &path, params)),
        Err(error) => query::error_response(&error, "", context.response_format),
    };
    assert!((200..600).contains(&response.status));
    assert!(response.body.starts_with(b"<?xml") || response.body.starts_with(b"<"));
    common::check(&sqs);
});
