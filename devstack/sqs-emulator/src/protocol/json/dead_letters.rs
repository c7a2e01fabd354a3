//! Dead letters: ListDeadLetterSourceQueues, StartMessageMoveTask, CancelMessageMoveTask,
//! ListMessageMoveTasks.

use serde::{Deserialize, Serialize};

use super::Call;
use super::shapes::lenient_int;
use crate::core::move_tasks::MoveTaskStatus;
use crate::core::{Result, SqsError};
use crate::protocol::context::resolve_queue;

/// ListDeadLetterSourceQueues request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueuesRequest {
    queue_url: Option<String>,
    next_token: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    max_results: Option<i64>,
}

/// ListDeadLetterSourceQueues response (note SQS's lower-case `queueUrls`).
#[derive(Debug, Serialize)]
pub struct ListDeadLetterSourceQueuesResponse {
    #[serde(rename = "queueUrls")]
    queue_urls: Vec<String>,
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Lists the queues that use this one as their DLQ.
pub fn list_dead_letter_source_queues(
    call: &Call<'_>,
    request: ListDeadLetterSourceQueuesRequest,
) -> Result<ListDeadLetterSourceQueuesResponse> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let page =
        call.sqs
            .dead_letter_sources(&queue, request.max_results, request.next_token.as_deref())?;
    Ok(ListDeadLetterSourceQueuesResponse {
        queue_urls: page
            .items
            .iter()
            .map(|q| call.context.queue_url(q))
            .collect(),
        next_token: page.next_token,
    })
}

/// StartMessageMoveTask request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskRequest {
    source_arn: Option<String>,
    destination_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    max_number_of_messages_per_second: Option<i64>,
}

/// StartMessageMoveTask response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskResponse {
    task_handle: String,
}

/// Starts moving a DLQ's messages.
pub fn start_message_move_task(
    call: &Call<'_>,
    request: StartMessageMoveTaskRequest,
) -> Result<StartMessageMoveTaskResponse> {
    let source = request
        .source_arn
        .ok_or_else(|| SqsError::missing_parameter("SourceArn"))?;
    let task_handle = call.sqs.start_message_move_task(
        &source,
        request.destination_arn.as_deref(),
        request.max_number_of_messages_per_second,
    )?;
    Ok(StartMessageMoveTaskResponse { task_handle })
}

/// CancelMessageMoveTask request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskRequest {
    task_handle: Option<String>,
}

/// CancelMessageMoveTask response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskResponse {
    approximate_number_of_messages_moved: u64,
}

/// Cancels a running task.
pub fn cancel_message_move_task(
    call: &Call<'_>,
    request: CancelMessageMoveTaskRequest,
) -> Result<CancelMessageMoveTaskResponse> {
    let handle = request
        .task_handle
        .ok_or_else(|| SqsError::missing_parameter("TaskHandle"))?;
    let moved = call.sqs.cancel_message_move_task(&handle)?;
    Ok(CancelMessageMoveTaskResponse {
        approximate_number_of_messages_moved: moved,
    })
}

/// ListMessageMoveTasks request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksRequest {
    source_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    max_results: Option<i64>,
}

/// ListMessageMoveTasks response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResponse {
    results: Vec<MoveTaskEntry>,
}

/// One task in ListMessageMoveTasks.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveTaskEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    task_handle: Option<String>,
    status: &'static str,
    source_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_number_of_messages_per_second: Option<u32>,
    approximate_number_of_messages_moved: u64,
    approximate_number_of_messages_to_move: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    started_timestamp: u64,
}

/// Lists a DLQ's recent move tasks, newest first.
pub fn list_message_move_tasks(
    call: &Call<'_>,
    request: ListMessageMoveTasksRequest,
) -> Result<ListMessageMoveTasksResponse> {
    let source = request
        .source_arn
        .ok_or_else(|| SqsError::missing_parameter("SourceArn"))?;
    let results = call
        .sqs
        .list_message_move_tasks(&source, request.max_results)?
        .into_iter()
        .map(|t| MoveTaskEntry {
            task_handle: (t.status == MoveTaskStatus::Running).then_some(t.handle),
            status: t.status.as_str(),
            source_arn: t.source_arn,
            destination_arn: t.destination_arn,
            max_number_of_messages_per_second: t.max_per_second,
            approximate_number_of_messages_moved: t.moved,
            approximate_number_of_messages_to_move: t.to_move,
            failure_reason: t.failure_reason,
            started_timestamp: t.started_at,
        })
        .collect();
    Ok(ListMessageMoveTasksResponse { results })
}
