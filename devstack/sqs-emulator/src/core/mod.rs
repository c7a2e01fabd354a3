//! The emulator's core: queues and messages with Amazon SQS's semantics, and nothing of HTTP.
//!
//! - [`Sqs`] (this module) is the registry of queues and the one entry point the protocol
//!   adapters call: queues and their attributes here, the message actions in [`messages`],
//!   tags and permissions in [`access`], listings paged by [`page`]. Lock order: the
//!   registry's `RwLock`, then at most one queue's `Mutex` at a time; no lock is held across
//!   an `.await`.
//! - [`queue`] holds one queue's messages and their life cycle.
//! - [`attributes`], [`message`], [`limits`]: validation and AWS's rules.
//! - [`move_tasks`]: message move tasks (DLQ redrive).
//! - [`rates`]: recent sends, receives and deletes per second, for the stats endpoint.
//! - [`scope`]: regions and accounts, and the ARNs that name queues in them.
//! - [`record`]: the durable changes a journal records (data only).
//! - [`changes`]: handing changes to a journal, rebuilding from its records, and replacing
//!   everything with an image's ([`Sqs::replace_all`]); [`copies`]: an image's queues added
//!   under new names.
//! - [`life`]: message events (sent, received, deleted, dead-lettered…) for an observer.
//! - [`clock`]: time, controllable in tests. [`error`]: AWS error kinds and messages.

pub mod access;
pub mod attributes;
pub mod changes;
pub mod clock;
pub mod copies;
pub mod error;
pub mod life;
pub mod limits;
pub mod message;
pub mod messages;
pub mod move_tasks;
pub mod page;
pub mod queue;
pub mod rates;
pub mod record;
pub mod scope;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub use attributes::{QueueConfig, RedrivePolicy};
pub use changes::{ChangeSink, Restorer, Synced};
pub use clock::{Clock, ManualClock, SystemClock, VirtualClock};
pub use error::{ErrorKind, Result, SqsError};
pub use life::{LifeEvent, LifeEventKind, LifeObserver};
pub use message::{AttributeData, AttributeValue, Attributes, Message};
pub use page::Page;
use page::paginate;
pub use queue::{Delivery, Depths, MessageState, NewMessage, Peeked, SendOutcome, Totals};
pub use record::{Change, QueueRecord};
pub use scope::Scope;

use queue::QueueState;

/// The account id used when none is given.
pub const DEFAULT_ACCOUNT: &str = "000000000000";

/// Settings of an emulator instance.
#[derive(Debug, Clone)]
pub struct SqsSettings {
    /// The region of a request that names none (no SigV4 credential scope, no
    /// `sqs.<region>.` host), and of queues restored from data written before regions.
    pub region: String,
    /// The account id of every request.
    pub account_id: String,
}

impl SqsSettings {
    /// The default region and account.
    pub fn scope(&self) -> Scope {
        Scope::new(self.region.clone(), self.account_id.clone())
    }
}

impl Default for SqsSettings {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: DEFAULT_ACCOUNT.into(),
        }
    }
}

/// A permission granted by AddPermission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// The accounts granted.
    pub accounts: Vec<String>,
    /// The actions granted.
    pub actions: Vec<String>,
}

/// One queue: its identity, its state behind a mutex, and a notifier that wakes long polls.
#[derive(Debug)]
pub struct Queue {
    /// The queue's name.
    pub name: String,
    /// Its region and owning account.
    pub scope: Scope,
    /// The queue's ARN.
    pub arn: String,
    /// The `SenderId` of its messages, shared by all of them.
    sender: Arc<str>,
    inner: Mutex<QueueInner>,
    notify: Notify,
}

#[derive(Debug)]
struct QueueInner {
    config: QueueConfig,
    state: QueueState,
    tags: BTreeMap<String, String>,
    permissions: BTreeMap<String, Permission>,
    created_at: u64,
    last_modified_at: u64,
    last_purge_at: Option<u64>,
}

impl Queue {
    /// Whether this is a FIFO queue.
    pub fn is_fifo(&self) -> bool {
        self.inner.lock().config.fifo
    }

    /// The queue's configuration.
    pub fn config(&self) -> QueueConfig {
        self.inner.lock().config.clone()
    }
}

/// A receive request, validated by the protocol adapter's parse.
#[derive(Debug, Clone, Default)]
pub struct ReceiveRequest {
    /// 1–10.
    pub max_messages: usize,
    /// Overrides the queue's visibility timeout, seconds.
    pub visibility_timeout: Option<u64>,
    /// Overrides the queue's receive wait, seconds.
    pub wait_seconds: Option<u64>,
}

/// A queue's numbers, for the developer stats endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueStats {
    /// Messages by state.
    pub depths: Depths,
    /// Totals since creation (or since the emulator started, for a restored queue).
    pub totals: Totals,
    /// Recent events per second.
    pub rates: rates::Rates,
    /// The oldest message's send time, ms since epoch.
    pub oldest_sent_at: Option<u64>,
}

/// The emulator: every queue of every region and account, and the move tasks.
pub struct Sqs {
    clock: Arc<dyn Clock>,
    settings: SqsSettings,
    queues: RwLock<BTreeMap<(Scope, String), Arc<Queue>>>,
    next_uid: AtomicU64,
    pub(crate) move_tasks: move_tasks::MoveTasks,
    journal: OnceLock<Arc<dyn ChangeSink>>,
    observer: OnceLock<Arc<dyn LifeObserver>>,
}

impl std::fmt::Debug for Sqs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqs")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Sqs {
    /// An empty emulator reading time from `clock`.
    pub fn new(settings: SqsSettings, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            clock,
            settings,
            queues: RwLock::new(BTreeMap::new()),
            next_uid: AtomicU64::new(1),
            move_tasks: move_tasks::MoveTasks::default(),
            journal: OnceLock::new(),
            observer: OnceLock::new(),
        })
    }

    /// Sends every durable change from now on to `sink` (once; later calls are ignored).
    /// Restore first, then attach the journal, then serve.
    pub fn attach_journal(&self, sink: Arc<dyn ChangeSink>) {
        let queues = self.queues.read();
        if self.journal.set(sink).is_ok() {
            for queue in queues.values() {
                queue.inner.lock().state.record_changes();
            }
        }
    }

    /// Reports every message event from now on to `observer` (once; later calls are
    /// ignored).
    pub fn attach_observer(&self, observer: Arc<dyn LifeObserver>) {
        let queues = self.queues.read();
        if self.observer.set(observer).is_ok() {
            for queue in queues.values() {
                queue.inner.lock().state.record_events();
            }
        }
    }

    /// Now in µs since the epoch, for message events: the clock's millisecond with the
    /// system clock's microseconds when the two agree on it (they do unless a test or the
    /// virtual clock moved time), so that events line up with the spans of other processes.
    pub fn now_micros(&self) -> u64 {
        let millis = self.now();
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        if system / 1000 == millis {
            system
        } else {
            millis * 1000
        }
    }

    /// Waits until every change made so far is on disk, when the journal syncs each write;
    /// returns at once otherwise. An error when the journal can no longer write.
    pub async fn durable(&self) -> Result<()> {
        let Some((target, mut synced)) = self.journal.get().and_then(|j| j.durability()) else {
            return Ok(());
        };
        let failed = |why: &str| {
            SqsError::new(
                ErrorKind::InternalFailure,
                format!("The emulator could not write its journal: {why}"),
            )
        };
        let outcome = synced
            .wait_for(|s| s.appended >= target || s.failed.is_some())
            .await
            .map_err(|_| failed("the journal writer stopped"))?;
        match &outcome.failed {
            Some(why) => Err(failed(why)),
            None => Ok(()),
        }
    }

    /// Runs `f` on a queue's state under its lock, then hands the durable changes it made to
    /// the journal, still under the lock so the journal sees them in order.
    fn locked<R>(&self, queue: &Queue, f: impl FnOnce(&mut QueueInner) -> R) -> R {
        let mut inner = queue.inner.lock();
        let result = f(&mut inner);
        if let Some(journal) = self.journal.get() {
            let changes = inner.state.take_changes();
            if !changes.is_empty() {
                journal.append(changes);
            }
        }
        if let Some(observer) = self.observer.get() {
            let events = inner.state.take_events();
            if !events.is_empty() {
                observer.observe(&queue.name, &queue.arn, self.now_micros(), events);
            }
        }
        result
    }

    /// Records a queue's definition after a change to it; the caller holds its lock.
    fn record_queue(&self, queue: &Queue, inner: &QueueInner) {
        if let Some(journal) = self.journal.get() {
            journal.append(vec![Change::Queue(inner.record(queue))]);
        }
    }

    /// Writes every queue and message, as [`Change`]s, to `emit`: a snapshot for compacting a
    /// journal. Each queue is read under its lock, one at a time.
    pub fn snapshot<E>(
        &self,
        mut emit: impl FnMut(&Change) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        for queue in self.all_queues() {
            let inner = queue.inner.lock();
            emit(&Change::Queue(inner.record(&queue)))?;
            for change in inner.state.snapshot() {
                emit(&change)?;
            }
        }
        Ok(())
    }

    /// Adds a queue from its journal record (restore only).
    fn insert_restored(&self, record: QueueRecord, now: u64) -> Arc<Queue> {
        let scope = Scope::new(record.region.clone(), record.account.clone());
        let mut state = QueueState::new(record.uid, record.config.fifo);
        state.resume(record.next_seq, record.next_sequence_number, now);
        let queue = Arc::new(Queue {
            arn: scope.arn(&record.name),
            sender: Arc::from(record.account.as_str()),
            name: record.name,
            scope,
            inner: Mutex::new(QueueInner {
                config: record.config,
                state,
                tags: record.tags,
                permissions: record.permissions,
                created_at: record.created_at,
                last_modified_at: record.last_modified_at,
                last_purge_at: None,
            }),
            notify: Notify::new(),
        });
        self.queues
            .write()
            .insert((queue.scope.clone(), queue.name.clone()), queue.clone());
        queue
    }

    /// Drops a queue whose deletion the journal recorded (restore only).
    fn remove_restored(&self, queue: &Queue) {
        let key = (queue.scope.clone(), queue.name.clone());
        let mut queues = self.queues.write();
        if queues.get(&key).is_some_and(|q| std::ptr::eq(&**q, queue)) {
            queues.remove(&key);
        }
    }

    /// The settings.
    pub fn settings(&self) -> &SqsSettings {
        &self.settings
    }

    /// Now, by the emulator's clock.
    pub fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    /// How far the emulator's clock has been advanced, in milliseconds.
    pub fn clock_offset(&self) -> u64 {
        self.clock.offset_millis()
    }

    /// Moves the emulator's time forward by `by`: visibility timeouts, delays, retention and
    /// deduplication windows that end by then are over, and long polls look again (one whose
    /// message became visible returns it). `false` when the clock cannot be moved (the
    /// system clock).
    pub fn advance_clock(&self, by: Duration) -> bool {
        if !self.clock.advance(by) {
            return false;
        }
        for queue in self.all_queues() {
            queue.notify.notify_waiters();
        }
        true
    }

    /// The queue with this name in `scope`.
    pub fn queue(&self, scope: &Scope, name: &str) -> Result<Arc<Queue>> {
        self.queues
            .read()
            .get(&(scope.clone(), name.to_string()))
            .cloned()
            .ok_or_else(SqsError::queue_does_not_exist)
    }

    /// The queue with this ARN, if it exists.
    pub fn queue_by_arn(&self, arn: &str) -> Option<Arc<Queue>> {
        let (scope, name) = scope::parse_arn(arn)?;
        self.queue(&scope, name).ok()
    }

    /// Creates a queue, or returns the existing one when its attributes are the same.
    pub fn create_queue(
        &self,
        scope: &Scope,
        name: &str,
        attributes: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Arc<Queue>> {
        let fifo = QueueConfig::fifo_from_create(name, attributes)?;
        let mut config = QueueConfig::new(fifo);
        config.apply(attributes, true)?;
        self.check_redrive_target(scope, &config)?;
        if tags.len() > limits::MAX_TAGS {
            return Err(SqsError::new(
                ErrorKind::OverLimit,
                format!("Too many tags added for queue {name}."),
            ));
        }
        let mut queues = self.queues.write();
        let key = (scope.clone(), name.to_string());
        if let Some(existing) = queues.get(&key) {
            let inner = existing.inner.lock();
            if let Some(attribute) = inner.config.first_difference(attributes)? {
                return Err(SqsError::new(
                    ErrorKind::QueueAlreadyExists,
                    format!(
                        "A queue already exists with the same name and a different value for attribute {attribute}"
                    ),
                ));
            }
            drop(inner);
            return Ok(existing.clone());
        }
        let now = self.now();
        let uid = self.next_uid.fetch_add(1, Ordering::Relaxed) ^ (now << 16);
        let mut state = QueueState::new(uid, fifo);
        if self.journal.get().is_some() {
            state.record_changes();
        }
        if self.observer.get().is_some() {
            state.record_events();
        }
        let queue = Arc::new(Queue {
            name: name.to_string(),
            scope: scope.clone(),
            arn: scope.arn(name),
            sender: Arc::from(scope.account.as_str()),
            inner: Mutex::new(QueueInner {
                config,
                state,
                tags: tags.clone(),
                permissions: BTreeMap::new(),
                created_at: now,
                last_modified_at: now,
                last_purge_at: None,
            }),
            notify: Notify::new(),
        });
        self.record_queue(&queue, &queue.inner.lock());
        queues.insert(key, queue.clone());
        Ok(queue)
    }

    /// A dead-letter queue must exist in the source's region and account, and be of its type.
    fn check_redrive_target(&self, scope: &Scope, config: &QueueConfig) -> Result<()> {
        let Some(policy) = &config.redrive_policy else {
            return Ok(());
        };
        let raw = config.render().remove("RedrivePolicy").unwrap_or_default();
        let target = self
            .queue_by_arn(&policy.dead_letter_target_arn)
            .filter(|target| &target.scope == scope);
        let Some(target) = target else {
            return Err(SqsError::invalid_parameter(
                "RedrivePolicy",
                raw,
                "Dead-letter target does not exist.",
            ));
        };
        if target.is_fifo() != config.fifo {
            return Err(SqsError::invalid_parameter(
                "RedrivePolicy",
                raw,
                "Dead-letter queue must be same type of queue as the source.",
            ));
        }
        Ok(())
    }

    /// Deletes a queue and its messages.
    pub fn delete_queue(&self, queue: &Queue) -> Result<()> {
        let mut queues = self.queues.write();
        let removed = queues.remove(&(queue.scope.clone(), queue.name.clone()));
        match removed {
            Some(q) => {
                if let Some(journal) = self.journal.get() {
                    let uid = q.inner.lock().state.uid();
                    journal.append(vec![Change::QueueDeleted { uid }]);
                }
                q.notify.notify_waiters();
                Ok(())
            }
            None => Err(SqsError::queue_does_not_exist()),
        }
    }

    /// Queues of `scope` whose names start with `prefix`, paginated when `max_results` is set.
    pub fn list_queues(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<Arc<Queue>>> {
        let prefix = prefix.unwrap_or("");
        let queues: Vec<Arc<Queue>> = self
            .queues
            .read()
            .iter()
            .filter(|((s, name), _)| s == scope && name.starts_with(prefix))
            .map(|(_, q)| q.clone())
            .collect();
        paginate(queues, max_results, next_token, |q| q.name.clone())
    }

    /// Queues whose RedrivePolicy targets `queue`.
    pub fn dead_letter_sources(
        &self,
        queue: &Queue,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<Arc<Queue>>> {
        let sources: Vec<Arc<Queue>> = self
            .queues
            .read()
            .values()
            .filter(|q| {
                q.inner
                    .lock()
                    .config
                    .redrive_policy
                    .as_ref()
                    .is_some_and(|p| p.dead_letter_target_arn == queue.arn)
            })
            .cloned()
            .collect();
        paginate(sources, max_results, next_token, |q| q.name.clone())
    }

    /// Every attribute of a queue, configured and computed.
    pub fn queue_attributes(&self, queue: &Queue) -> BTreeMap<String, String> {
        let now = self.now();
        let mut inner = queue.inner.lock();
        let QueueInner {
            config,
            state,
            created_at,
            last_modified_at,
            ..
        } = &mut *inner;
        let depths = state.depths(config, now);
        let mut out = config.render();
        out.insert("QueueArn".into(), queue.arn.clone());
        out.insert("CreatedTimestamp".into(), (*created_at / 1000).to_string());
        out.insert(
            "LastModifiedTimestamp".into(),
            (*last_modified_at / 1000).to_string(),
        );
        out.insert(
            "ApproximateNumberOfMessages".into(),
            depths.visible.to_string(),
        );
        out.insert(
            "ApproximateNumberOfMessagesNotVisible".into(),
            depths.in_flight.to_string(),
        );
        out.insert(
            "ApproximateNumberOfMessagesDelayed".into(),
            depths.delayed.to_string(),
        );
        out
    }

    /// The attributes named in `names` (`All` for every one); an unknown name is an error.
    pub fn get_queue_attributes(
        &self,
        queue: &Queue,
        names: &[String],
    ) -> Result<BTreeMap<String, String>> {
        for name in names {
            if name != "All"
                && !attributes::SETTABLE.contains(&name.as_str())
                && !attributes::READ_ONLY.contains(&name.as_str())
            {
                return Err(SqsError::unknown_attribute(name));
            }
        }
        let mut all = self.queue_attributes(queue);
        if names.iter().any(|n| n == "All") {
            return Ok(all);
        }
        let wanted: HashSet<&str> = names.iter().map(String::as_str).collect();
        all.retain(|k, _| wanted.contains(k.as_str()));
        Ok(all)
    }

    /// Changes a queue's attributes.
    pub fn set_queue_attributes(
        &self,
        queue: &Queue,
        attributes: &BTreeMap<String, String>,
    ) -> Result<()> {
        let mut config = queue.config();
        config.apply(attributes, false)?;
        if attributes.contains_key("RedrivePolicy") {
            self.check_redrive_target(&queue.scope, &config)?;
        }
        let mut inner = queue.inner.lock();
        inner.config = config;
        inner.last_modified_at = self.now();
        self.record_queue(queue, &inner);
        drop(inner);
        // A shorter wait or visibility may let a long poll return sooner.
        queue.notify.notify_waiters();
        Ok(())
    }

    /// Removes every message; at most once per 60 seconds per queue.
    pub fn purge_queue(&self, queue: &Queue) -> Result<()> {
        let now = self.now();
        self.locked(queue, |inner| self.purge_locked(queue, inner, now))
    }

    fn purge_locked(&self, queue: &Queue, inner: &mut QueueInner, now: u64) -> Result<()> {
        if inner
            .last_purge_at
            .is_some_and(|at| now < at + limits::PURGE_INTERVAL_MILLIS)
        {
            return Err(SqsError::new(
                ErrorKind::PurgeQueueInProgress,
                format!(
                    "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                    queue.name
                ),
            ));
        }
        inner.last_purge_at = Some(now);
        inner.state.purge();
        Ok(())
    }

    /// Checks a queue's internal invariants (see `QueueState::check_invariants`); for tests
    /// and fuzzing.
    pub fn check_invariants(&self, queue: &Queue) -> std::result::Result<(), String> {
        queue.inner.lock().state.check_invariants()
    }

    /// Every queue, for move tasks and stats.
    pub fn all_queues(&self) -> Vec<Arc<Queue>> {
        self.queues.read().values().cloned().collect()
    }
}
