//! The data the collector hands the dashboard, one [`Update`] per refresh, and the actions
//! the dashboard asks of it. Plain values: no I/O, no clients, so views and tests build
//! them freely.

use std::collections::BTreeMap;
use std::time::Duration;

use slipway_contracts::control::{ComponentStatus, LogLine};

use crate::metrics::Snapshot;

/// The attribute the service sets on a dead letter to say why.
pub const REASON_ATTRIBUTE: &str = "slipway.dead_letter.reason";
/// The attribute the service sets on a dead letter: its message id in the work queue.
pub const SOURCE_MESSAGE_ID_ATTRIBUTE: &str = "slipway.dead_letter.source_message_id";

/// A service target and whether its last scrape worked.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetStatus {
    /// Its metrics URL.
    pub url: String,
    /// Whether the last scrape succeeded.
    pub up: bool,
    /// The last error, kept while it is down.
    pub last_error: Option<String>,
}

/// One queue's depths.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    /// Its name.
    pub name: String,
    /// Whether this is the dead-letter queue.
    pub is_dlq: bool,
    /// Ready to receive.
    pub visible: u64,
    /// Received and not yet deleted.
    pub in_flight: u64,
    /// Waiting for their delay.
    pub delayed: u64,
    /// Age of the oldest message, when the endpoint tells (the emulator does; SQS does not).
    pub oldest_age: Option<Duration>,
    /// Fault rules fired on it, when the endpoint tells (the emulator does).
    pub faults_fired: Option<u64>,
    /// Why the depths could not be read, if they could not.
    pub error: Option<String>,
}

impl QueueRow {
    /// Messages in the queue, whatever their state.
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// A message in the dead-letter queue.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Its SQS message id.
    pub message_id: String,
    /// Its body.
    pub body: String,
    /// When it was first sent, in ms since the epoch.
    pub sent_at_ms: Option<u64>,
    /// Deliveries so far.
    pub receive_count: u32,
    /// Its message attributes (string values), the service's failure reason among them.
    pub attributes: BTreeMap<String, String>,
}

impl DeadLetter {
    /// Why the service dead-lettered it, when it said.
    pub fn reason(&self) -> Option<&str> {
        self.attributes.get(REASON_ATTRIBUTE).map(String::as_str)
    }
}

/// How dead letters were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeadLetterSource {
    /// Not read (the DLQ view is closed, or there is no DLQ).
    #[default]
    NotRead,
    /// The emulator's peek endpoint: nothing changed.
    Peek,
    /// ReceiveMessage with a short visibility timeout: receive counts go up and the messages
    /// are briefly invisible.
    Receive,
}

/// One refresh's worth of data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    /// Seconds since the collector started, when the data was read.
    pub at_secs: f64,
    /// Each service target.
    pub targets: Vec<TargetStatus>,
    /// The targets' metrics added together; `None` when none answered.
    pub snapshot: Option<Snapshot>,
    /// The work queue and the DLQ.
    pub queues: Vec<QueueRow>,
    /// The DLQ's messages, when read.
    pub dead_letters: Vec<DeadLetter>,
    /// How they were read.
    pub dead_letter_source: DeadLetterSource,
    /// What the running `devstack up` says about its components.
    pub stack: StackFeed,
    /// Log lines new since the last update, oldest first.
    pub logs: Vec<LogLine>,
    /// What was read of the stack's traces, when the Traces view asked.
    pub traces: Option<TraceFeed>,
}

/// What a running `devstack up` says about its components.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StackFeed {
    /// There is no stack to ask (no state file, so no control socket).
    #[default]
    NoStack,
    /// Its control socket did not answer: why.
    Unreachable(String),
    /// Every component, in start order, and the faults in force.
    Components(StackReport),
}

/// A running stack's components and the faults in force on them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackReport {
    /// Every component, in start order.
    pub components: Vec<ComponentStatus>,
    /// Faults in force, for people: `postgres paused`, `redis latency 200ms`.
    pub chaos: Vec<String>,
}

impl StackReport {
    /// The components, with no fault in force.
    pub fn of(components: Vec<ComponentStatus>) -> Self {
        Self {
            components,
            chaos: Vec::new(),
        }
    }
}

/// What to do to one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Stop it and start it again (same port, same data).
    Restart,
    /// Stop it.
    Stop,
    /// Start it again.
    Start,
}

impl Verb {
    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Restart => "restart",
            Verb::Stop => "stop",
            Verb::Start => "start",
        }
    }

    /// The word for it going on: `restarting`, …
    pub fn progressive(self) -> &'static str {
        match self {
            Verb::Restart => "restarting",
            Verb::Stop => "stopping",
            Verb::Start => "starting",
        }
    }
}

/// Something the user asked to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Move one dead letter back to the work queue.
    Redrive(String),
    /// Move every dead letter back (StartMessageMoveTask).
    RedriveAll,
    /// Delete one dead letter.
    Delete(String),
    /// Delete every dead letter (PurgeQueue).
    Purge,
    /// Restart, stop or start a component of the running stack.
    Component {
        /// What to do.
        verb: Verb,
        /// The component's name.
        name: String,
    },
}

/// What the collector reports back about an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    /// What happened, for the status line.
    pub message: String,
    /// Whether it worked.
    pub ok: bool,
}

/// How the dashboard steers the collector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Control {
    /// Time between two collections.
    pub refresh: Duration,
    /// Whether to read the DLQ's messages (only while the DLQ view is open).
    pub read_dead_letters: bool,
    /// What to read of the stack's traces (only while the Traces view is open).
    pub traces: TraceRead,
}

/// What the Traces view wants read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TraceRead {
    /// Nothing (the view is closed).
    #[default]
    Nothing,
    /// The most recent traces.
    Recent,
    /// The traces a search finds: a trace id (32 hex digits), else an order id, else a
    /// message id.
    Search(String),
    /// Every span of one trace (its waterfall is open).
    Trace(String),
}

/// What was read of the stack's traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceFeed {
    /// Trace summaries (recent ones, or a search's), newest first.
    List(Vec<slipway_contracts::trace::TraceSummary>),
    /// The spans of one trace, by start.
    Spans(String, Vec<slipway_contracts::trace::Span>),
    /// Why nothing could be read.
    Unavailable(String),
}
