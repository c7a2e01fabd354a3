//! AWS JSON 1.0 requests: the first line of the input is the `X-Amz-Target` header, the rest
//! the body. Whatever the bytes, the emulator answers (a response or an error) and never
//! panics, and its queues stay consistent.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use sqs_emulator::protocol::context::RequestContext;
use sqs_emulator::protocol::json;

fuzz_target!(|data: &[u8]| {
    let (target, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    let target = std::str::from_utf8(target).ok().filter(|t| !t.is_empty());
    let sqs = common::emulator();
    let context = RequestContext::new("localhost:9324", sqs.settings().scope());
    let response = common::block_on(json::handle(&sqs, &context, target, body));
    assert!((200..600).contains(&response.status));
    common::check(&sqs);
});
