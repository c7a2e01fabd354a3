//! Tags and permissions: TagQueue, UntagQueue, ListQueueTags, AddPermission, RemovePermission.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Call;
use super::shapes::Empty;
use crate::core::{Result, SqsError};
use crate::protocol::context::resolve_queue;

/// TagQueue request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagQueueRequest {
    queue_url: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

/// Adds or replaces tags.
pub fn tag_queue(call: &Call<'_>, request: TagQueueRequest) -> Result<Empty> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let tags = request
        .tags
        .ok_or_else(|| SqsError::missing_parameter("Tags"))?;
    call.sqs.tag_queue(&queue, &tags)?;
    Ok(Empty {})
}

/// UntagQueue request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagQueueRequest {
    queue_url: Option<String>,
    tag_keys: Option<Vec<String>>,
}

/// Removes tags.
pub fn untag_queue(call: &Call<'_>, request: UntagQueueRequest) -> Result<Empty> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let keys = request
        .tag_keys
        .ok_or_else(|| SqsError::missing_parameter("TagKeys"))?;
    call.sqs.untag_queue(&queue, &keys);
    Ok(Empty {})
}

/// ListQueueTags response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsResponse {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
}

/// Lists tags.
pub fn list_queue_tags(
    call: &Call<'_>,
    request: super::queues::QueueRequest,
) -> Result<ListQueueTagsResponse> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    Ok(ListQueueTagsResponse {
        tags: call.sqs.list_tags(&queue),
    })
}

/// AddPermission request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionRequest {
    queue_url: Option<String>,
    label: Option<String>,
    #[serde(default, rename = "AWSAccountIds")]
    aws_account_ids: Vec<String>,
    #[serde(default)]
    actions: Vec<String>,
}

/// Grants a permission.
pub fn add_permission(call: &Call<'_>, request: AddPermissionRequest) -> Result<Empty> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let label = request
        .label
        .ok_or_else(|| SqsError::missing_parameter("Label"))?;
    call.sqs
        .add_permission(&queue, &label, &request.aws_account_ids, &request.actions)?;
    Ok(Empty {})
}

/// RemovePermission request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionRequest {
    queue_url: Option<String>,
    label: Option<String>,
}

/// Revokes a permission.
pub fn remove_permission(call: &Call<'_>, request: RemovePermissionRequest) -> Result<Empty> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let label = request
        .label
        .ok_or_else(|| SqsError::missing_parameter("Label"))?;
    call.sqs.remove_permission(&queue, &label)?;
    Ok(Empty {})
}
