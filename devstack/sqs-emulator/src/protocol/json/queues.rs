//! Queue life cycle and attributes: CreateQueue, DeleteQueue, GetQueueUrl, ListQueues,
//! GetQueueAttributes, SetQueueAttributes, PurgeQueue.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Call;
use super::shapes::{Empty, lenient_int};
use crate::core::{Result, Scope, SqsError};
use crate::protocol::context::resolve_queue;

/// CreateQueue request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueRequest {
    queue_name: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default, rename = "tags")]
    tags: BTreeMap<String, String>,
}

/// A response holding a queue URL.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlResponse {
    queue_url: String,
}

/// Creates a queue (idempotent with equal attributes).
pub fn create_queue(call: &Call<'_>, request: CreateQueueRequest) -> Result<QueueUrlResponse> {
    let name = request
        .queue_name
        .ok_or_else(|| SqsError::missing_parameter("QueueName"))?;
    let queue = call.sqs.create_queue(
        &call.context.scope,
        &name,
        &request.attributes,
        &request.tags,
    )?;
    Ok(QueueUrlResponse {
        queue_url: call.context.queue_url(&queue),
    })
}

/// A request naming only a queue.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueRequest {
    pub(super) queue_url: Option<String>,
}

/// Deletes a queue.
pub fn delete_queue(call: &Call<'_>, request: QueueRequest) -> Result<Empty> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    call.sqs.delete_queue(&queue)?;
    Ok(Empty {})
}

/// Removes every message of a queue.
pub fn purge_queue(call: &Call<'_>, request: QueueRequest) -> Result<Empty> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    call.sqs.purge_queue(&queue)?;
    Ok(Empty {})
}

/// GetQueueUrl request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlRequest {
    queue_name: Option<String>,
    #[serde(rename = "QueueOwnerAWSAccountId")]
    queue_owner_aws_account_id: Option<String>,
}

/// Finds a queue's URL by name.
pub fn get_queue_url(call: &Call<'_>, request: GetQueueUrlRequest) -> Result<QueueUrlResponse> {
    let name = request
        .queue_name
        .ok_or_else(|| SqsError::missing_parameter("QueueName"))?;
    let scope = match request.queue_owner_aws_account_id {
        Some(owner) => Scope::new(call.context.scope.region.clone(), owner),
        None => call.context.scope.clone(),
    };
    let queue = call.sqs.queue(&scope, &name)?;
    Ok(QueueUrlResponse {
        queue_url: call.context.queue_url(&queue),
    })
}

/// ListQueues request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesRequest {
    queue_name_prefix: Option<String>,
    next_token: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    max_results: Option<i64>,
}

/// ListQueues response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    queue_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Lists queues by prefix, with pagination.
pub fn list_queues(call: &Call<'_>, request: ListQueuesRequest) -> Result<ListQueuesResponse> {
    let page = call.sqs.list_queues(
        &call.context.scope,
        request.queue_name_prefix.as_deref(),
        request.max_results,
        request.next_token.as_deref(),
    )?;
    Ok(ListQueuesResponse {
        queue_urls: page
            .items
            .iter()
            .map(|q| call.context.queue_url(q))
            .collect(),
        next_token: page.next_token,
    })
}

/// GetQueueAttributes request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesRequest {
    queue_url: Option<String>,
    #[serde(default)]
    attribute_names: Vec<String>,
}

/// A response holding attributes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesResponse {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
}

/// Returns the named attributes (`All` for every one).
pub fn get_queue_attributes(
    call: &Call<'_>,
    request: GetQueueAttributesRequest,
) -> Result<AttributesResponse> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let attributes = call
        .sqs
        .get_queue_attributes(&queue, &request.attribute_names)?;
    Ok(AttributesResponse { attributes })
}

/// SetQueueAttributes request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetQueueAttributesRequest {
    queue_url: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
}

/// Changes attributes.
pub fn set_queue_attributes(call: &Call<'_>, request: SetQueueAttributesRequest) -> Result<Empty> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let attributes = request
        .attributes
        .ok_or_else(|| SqsError::missing_parameter("Attributes"))?;
    call.sqs.set_queue_attributes(&queue, &attributes)?;
    Ok(Empty {})
}
