//! Message move tasks: move a dead-letter queue's messages back to the queues they came from
//! (or to a chosen destination), optionally rate-limited, in a background tokio task.
//! One running task per source queue; status RUNNING → COMPLETED | CANCELLED | FAILED.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use parking_lot::Mutex;

use super::error::{ErrorKind, Result, SqsError};
use super::{Queue, Sqs};

/// A task's status, as ListMessageMoveTasks spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveTaskStatus {
    /// Moving.
    Running,
    /// Every message present at the start was moved.
    Completed,
    /// Cancel was asked and is taking effect.
    Cancelling,
    /// Stopped by CancelMessageMoveTask.
    Cancelled,
    /// Stopped by an error (see the failure reason).
    Failed,
}

impl MoveTaskStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Cancelling => "CANCELLING",
            Self::Cancelled => "CANCELLED",
            Self::Failed => "FAILED",
        }
    }
}

/// A move task's public view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTaskInfo {
    /// The opaque handle (returned for running tasks).
    pub handle: String,
    /// Status.
    pub status: MoveTaskStatus,
    /// The DLQ's ARN.
    pub source_arn: String,
    /// The destination ARN, when one was given.
    pub destination_arn: Option<String>,
    /// The rate limit, when one was given.
    pub max_per_second: Option<u32>,
    /// Messages moved so far.
    pub moved: u64,
    /// Messages in the source when the task started.
    pub to_move: u64,
    /// Why the task failed.
    pub failure_reason: Option<String>,
    /// Start time, ms since epoch.
    pub started_at: u64,
}

#[derive(Debug)]
struct MoveTask {
    handle: String,
    source_arn: String,
    destination_arn: Option<String>,
    max_per_second: Option<u32>,
    to_move: u64,
    started_at: u64,
    moved: AtomicU64,
    cancel: AtomicBool,
    state: Mutex<(MoveTaskStatus, Option<String>)>,
}

impl MoveTask {
    fn info(&self) -> MoveTaskInfo {
        let (status, failure_reason) = self.state.lock().clone();
        MoveTaskInfo {
            handle: self.handle.clone(),
            status,
            source_arn: self.source_arn.clone(),
            destination_arn: self.destination_arn.clone(),
            max_per_second: self.max_per_second,
            moved: self.moved.load(Ordering::Relaxed),
            to_move: self.to_move,
            failure_reason,
            started_at: self.started_at,
        }
    }
}

/// Every move task, newest last.
#[derive(Debug, Default)]
pub struct MoveTasks {
    tasks: Mutex<Vec<Arc<MoveTask>>>,
}

impl Sqs {
    /// Starts moving the messages of the DLQ `source_arn`. Needs a tokio runtime.
    pub fn start_message_move_task(
        self: &Arc<Self>,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_per_second: Option<i64>,
    ) -> Result<String> {
        let source = self.queue_by_arn(source_arn).ok_or_else(|| {
            SqsError::new(
                ErrorKind::ResourceNotFound,
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        })?;
        let is_dlq = self.all_queues().iter().any(|q| {
            q.config()
                .redrive_policy
                .is_some_and(|p| p.dead_letter_target_arn == source.arn)
        });
        if !is_dlq {
            return Err(SqsError::new(
                ErrorKind::InvalidParameterValue,
                "Source queue must be configured as a Dead Letter Queue.",
            ));
        }
        if let Some(destination) = destination_arn
            && self.queue_by_arn(destination).is_none()
        {
            return Err(SqsError::new(
                ErrorKind::ResourceNotFound,
                "The resource that you specified for the DestinationArn parameter doesn't exist.",
            ));
        }
        let max_per_second = match max_per_second {
            None => None,
            Some(rate @ 1..=500) => Some(rate as u32),
            Some(rate) => {
                return Err(SqsError::invalid_parameter(
                    "MaxNumberOfMessagesPerSecond",
                    rate,
                    "Must be between 1 and 500, if provided.",
                ));
            }
        };
        let mut tasks = self.move_tasks.tasks.lock();
        if tasks
            .iter()
            .any(|t| t.source_arn == source.arn && t.state.lock().0 == MoveTaskStatus::Running)
        {
            return Err(SqsError::new(
                ErrorKind::InvalidParameterValue,
                "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
            ));
        }
        let task_id = uuid::Uuid::new_v4().to_string();
        let handle = BASE64
            .encode(serde_json::json!({"taskId": task_id, "sourceArn": source.arn}).to_string());
        let depths = self.stats(&source).depths;
        let task = Arc::new(MoveTask {
            handle: handle.clone(),
            source_arn: source.arn.clone(),
            destination_arn: destination_arn.map(str::to_string),
            max_per_second,
            to_move: (depths.visible + depths.in_flight + depths.delayed) as u64,
            started_at: self.now(),
            moved: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            state: Mutex::new((MoveTaskStatus::Running, None)),
        });
        tasks.push(task.clone());
        drop(tasks);
        tokio::spawn(run(self.clone(), source, task));
        Ok(handle)
    }

    /// Cancels a running task; returns how many messages it moved. A handle that does not
    /// decode is `InvalidParameterValue`; one naming a source queue that does not exist, or a
    /// task that is not running, `ResourceNotFoundException` (AWS's texts).
    pub fn cancel_message_move_task(&self, handle: &str) -> Result<u64> {
        let decoded = BASE64
            .decode(handle)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let source_arn = decoded
            .as_ref()
            .filter(|v| v.get("taskId").is_some())
            .and_then(|v| v.get("sourceArn"))
            .and_then(serde_json::Value::as_str);
        let Some(source_arn) = source_arn else {
            return Err(SqsError::new(
                ErrorKind::InvalidParameterValue,
                "Value for parameter TaskHandle is invalid.",
            ));
        };
        if self.queue_by_arn(source_arn).is_none() {
            return Err(SqsError::new(
                ErrorKind::ResourceNotFound,
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            ));
        }
        let task = self
            .move_tasks
            .tasks
            .lock()
            .iter()
            .find(|t| t.handle == handle)
            .cloned()
            .ok_or_else(|| SqsError::new(ErrorKind::ResourceNotFound, "Task does not exist."))?;
        let mut state = task.state.lock();
        if state.0 != MoveTaskStatus::Running {
            return Err(SqsError::new(
                ErrorKind::ResourceNotFound,
                "Task does not exist.",
            ));
        }
        task.cancel.store(true, Ordering::SeqCst);
        state.0 = MoveTaskStatus::Cancelling;
        Ok(task.moved.load(Ordering::Relaxed))
    }

    /// The most recent tasks of a source queue, newest first.
    pub fn list_message_move_tasks(
        &self,
        source_arn: &str,
        max_results: Option<i64>,
    ) -> Result<Vec<MoveTaskInfo>> {
        if self.queue_by_arn(source_arn).is_none() {
            return Err(SqsError::new(
                ErrorKind::ResourceNotFound,
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            ));
        }
        let limit = match max_results {
            None => 1,
            Some(m @ 1..=10) => m as usize,
            Some(m) => {
                return Err(SqsError::invalid_parameter(
                    "MaxResults",
                    m,
                    "Must be between 1 and 10, if provided.",
                ));
            }
        };
        Ok(self
            .move_tasks
            .tasks
            .lock()
            .iter()
            .rev()
            .filter(|t| t.source_arn == source_arn)
            .take(limit)
            .map(|t| t.info())
            .collect())
    }
}

/// Moves messages until the task's count is reached, the source is empty, or it is cancelled.
/// A rate limit is kept in the emulator's time, so the virtual clock speeds a slow task up.
async fn run(sqs: Arc<Sqs>, source: Arc<Queue>, task: Arc<MoveTask>) {
    let started = sqs.now();
    loop {
        if let Some(rate) = task.max_per_second {
            wait_for_rate(&sqs, &source, &task, rate, started).await;
        }
        if task.cancel.load(Ordering::SeqCst) {
            task.state.lock().0 = MoveTaskStatus::Cancelled;
            return;
        }
        if task.moved.load(Ordering::Relaxed) >= task.to_move {
            break;
        }
        let next = {
            let now = sqs.now();
            sqs.locked(&source, |inner| {
                let super::QueueInner { config, state, .. } = inner;
                let taken = state.take_ready_for_move(config, now);
                (taken, state.is_empty())
            })
        };
        match next {
            (Some(taken), _) => {
                let target_arn = task
                    .destination_arn
                    .clone()
                    .or_else(|| taken.message.dead_letter_source_arn().map(str::to_string));
                let Some(target) = target_arn.as_deref().and_then(|arn| sqs.queue_by_arn(arn))
                else {
                    // Nowhere to go: put it back (as a new arrival) and fail the task.
                    let now = sqs.now();
                    sqs.locked(&source, |inner| {
                        inner.state.push_moved(taken.message, now);
                        inner.state.record_removed(taken.seq);
                    });
                    *task.state.lock() = (
                        MoveTaskStatus::Failed,
                        Some("AWS.SimpleQueueService.NonExistentQueue".into()),
                    );
                    return;
                };
                let mut message = taken.message;
                message.set_dead_letter_source_arn(None);
                let now = sqs.now();
                sqs.locked(&target, |inner| inner.state.push_moved(message, now));
                // Recorded once it is in the target: a crash in between duplicates it.
                sqs.locked(&source, |inner| inner.state.record_removed(taken.seq));
                target.notify.notify_waiters();
                let moved = task.moved.fetch_add(1, Ordering::Relaxed) + 1;
                if moved.is_multiple_of(256) {
                    tokio::task::yield_now().await;
                }
            }
            (None, true) => break,
            (None, false) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    finish(&task);
}

/// Waits until the task may move its next message: `rate` a second since `started`, in the
/// emulator's time (woken early when the clock is advanced, or the task cancelled).
async fn wait_for_rate(sqs: &Sqs, source: &Queue, task: &MoveTask, rate: u32, started: u64) {
    let rate = u64::from(rate.max(1));
    loop {
        let moved = task.moved.load(Ordering::Relaxed);
        // The (moved + 1)-th message is due `moved / rate` seconds after the start.
        let due = started.saturating_add(moved.saturating_mul(1000) / rate);
        let now = sqs.now();
        if now >= due || task.cancel.load(Ordering::SeqCst) {
            return;
        }
        let notified = source.notify.notified();
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(Duration::from_millis(due - now)) => {}
        }
    }
}

fn finish(task: &MoveTask) {
    let mut state = task.state.lock();
    if state.0 == MoveTaskStatus::Running {
        state.0 = MoveTaskStatus::Completed;
    } else if state.0 == MoveTaskStatus::Cancelling {
        state.0 = MoveTaskStatus::Cancelled;
    }
}
