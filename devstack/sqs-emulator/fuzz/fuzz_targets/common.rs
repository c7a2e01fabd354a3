//! Shared by the fuzz targets: a fresh emulator per input, with a standard queue, its DLQ and
//! a FIFO queue, so that requests naming `q`, `q-dlq` or `f.fifo` reach real queues; and a
//! runtime whose clock is paused, so a long poll ends at once instead of stalling the fuzzer.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqs_emulator::core::{Sqs, SqsSettings, SystemClock};

pub fn emulator() -> Arc<Sqs> {
    let sqs = Sqs::new(SqsSettings::default(), Arc::new(SystemClock));
    let none = BTreeMap::new();
    let create = |name: &str, attributes: &[(&str, &str)]| {
        let attributes: BTreeMap<String, String> = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let _ = sqs.create_queue(&sqs.settings().scope(), name, &attributes, &none);
    };
    create("q-dlq", &[]);
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"2"}}"#,
        sqs.settings().scope().arn("q-dlq")
    );
    create("q", &[("RedrivePolicy", &policy)]);
    create("f.fifo", &[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")]);
    sqs
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => panic!("cannot build a runtime: {e}"),
    }
}

/// After any request, every queue's invariants must still hold.
pub fn check(sqs: &Sqs) {
    for queue in sqs.all_queues() {
        if let Err(broken) = sqs.check_invariants(&queue) {
            panic!("{}: {broken}", queue.name);
        }
    }
}
