//! Messages: SendMessage, SendMessageBatch, ReceiveMessage, DeleteMessage,
//! DeleteMessageBatch, ChangeMessageVisibility, ChangeMessageVisibilityBatch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Call;
use super::shapes::{
    BatchFailure, BatchResult, BatchSuccess, Empty, WireAttribute, WireNewMessage, lenient_int,
    to_wire_attributes,
};
use crate::core::{
    Attributes, Delivery, NewMessage, ReceiveRequest, Result, SendOutcome, SqsError, limits,
    message,
};
use crate::protocol::context::resolve_queue;

/// SendMessage request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageRequest {
    queue_url: Option<String>,
    #[serde(flatten)]
    message: WireNewMessage,
}

/// SendMessage response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageResponse {
    message_id: String,
    #[serde(rename = "MD5OfMessageBody")]
    md5_of_message_body: String,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<String>,
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_system_attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<String>,
}

impl From<SendOutcome> for SendMessageResponse {
    fn from(o: SendOutcome) -> Self {
        Self {
            message_id: o.message_id.to_string(),
            md5_of_message_body: o.body_md5,
            md5_of_message_attributes: o.attributes_md5,
            md5_of_message_system_attributes: o.system_attributes_md5,
            sequence_number: o.sequence_number.map(|n| n.to_string()),
        }
    }
}

/// Sends one message.
pub fn send_message(call: &Call<'_>, request: SendMessageRequest) -> Result<SendMessageResponse> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let mut message = request.message.into_core()?;
    with_trace_header(call, &mut message);
    Ok(call.sqs.send(&queue, message)?.into())
}

/// Gives a message the request's `X-Amzn-Trace-Id` as its `AWSTraceHeader`, unless it has
/// one of its own.
fn with_trace_header(call: &Call<'_>, message: &mut NewMessage) {
    if message.trace_header.is_none() {
        message.trace_header.clone_from(&call.context.trace_header);
    }
}

/// SendMessageBatch request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchRequest {
    queue_url: Option<String>,
    #[serde(default, deserialize_with = "super::shapes::null_as_empty")]
    entries: Vec<SendBatchEntry>,
}

/// One entry of SendMessageBatch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendBatchEntry {
    id: Option<String>,
    #[serde(flatten)]
    message: WireNewMessage,
}

/// A successful SendMessageBatch entry.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendBatchSuccess {
    id: String,
    #[serde(flatten)]
    result: SendMessageResponse,
}

/// Sends up to 10 messages; each entry succeeds or fails on its own.
pub fn send_message_batch(
    call: &Call<'_>,
    request: SendMessageBatchRequest,
) -> Result<BatchResult<SendBatchSuccess>> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let mut failed = Vec::new();
    let mut valid = Vec::new();
    let ids: Vec<String> = request
        .entries
        .iter()
        .map(|e| e.id.clone().unwrap_or_default())
        .collect();
    limits::validate_batch_ids(
        "SendMessageBatchRequestEntry",
        ids.iter().map(String::as_str),
    )?;
    for (id, entry) in ids.into_iter().zip(request.entries) {
        match entry.message.into_core() {
            Ok(mut message) => {
                with_trace_header(call, &mut message);
                valid.push((id, message));
            }
            Err(error) => failed.push(BatchFailure::from_error(id, &error)),
        }
    }
    let mut successful = Vec::new();
    if !valid.is_empty() {
        for (id, result) in call.sqs.send_batch(&queue, valid)? {
            match result {
                Ok(outcome) => successful.push(SendBatchSuccess {
                    id,
                    result: outcome.into(),
                }),
                Err(error) => failed.push(BatchFailure::from_error(id, &error)),
            }
        }
    }
    Ok(BatchResult { successful, failed })
}

/// ReceiveMessage request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageRequest {
    queue_url: Option<String>,
    #[serde(default)]
    attribute_names: Vec<String>,
    #[serde(default)]
    message_system_attribute_names: Vec<String>,
    #[serde(default)]
    message_attribute_names: Vec<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    max_number_of_messages: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    visibility_timeout: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    wait_time_seconds: Option<i64>,
}

/// ReceiveMessage response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages: Vec<WireMessage>,
}

/// A received message.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireMessage {
    message_id: String,
    receipt_handle: String,
    #[serde(rename = "MD5OfBody")]
    md5_of_body: String,
    body: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    message_attributes: BTreeMap<String, WireAttribute>,
}

/// The system attributes a receive may ask for.
const SYSTEM_ATTRIBUTES: [&str; 9] = [
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
];

/// Receives up to 10 messages, long-polling up to 20 s.
pub async fn receive_message(
    call: &Call<'_>,
    request: ReceiveMessageRequest,
) -> Result<ReceiveMessageResponse> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let receive = ReceiveRequest {
        max_messages: request
            .max_number_of_messages
            .map_or(Ok(1), limits::validate_max_messages)?,
        visibility_timeout: request
            .visibility_timeout
            .map(limits::validate_visibility_timeout)
            .transpose()?,
        wait_seconds: request
            .wait_time_seconds
            .map(limits::validate_wait_seconds)
            .transpose()?,
    };
    let system_names: Vec<&str> = request
        .attribute_names
        .iter()
        .chain(&request.message_system_attribute_names)
        .map(String::as_str)
        .collect();
    let deliveries = call.sqs.receive(&queue, &receive).await?;
    if call.context.duplicate_delivery && !queue.is_fifo() {
        // A fault rule's duplicate delivery: visible again at once, so the next receive gets
        // these messages too (both handles stay usable, as on a standard queue).
        for delivery in &deliveries {
            call.sqs
                .change_visibility(&queue, &delivery.receipt_handle, 0)?;
        }
    }
    let messages = deliveries
        .into_iter()
        .map(|d| to_wire_message(d, &system_names, &request.message_attribute_names))
        .collect();
    Ok(ReceiveMessageResponse { messages })
}

fn to_wire_message(
    delivery: Delivery,
    system_names: &[&str],
    attribute_names: &[String],
) -> WireMessage {
    let Delivery {
        message: m,
        receipt_handle,
    } = delivery;
    let all = system_names.contains(&"All");
    let mut attributes = BTreeMap::new();
    for name in SYSTEM_ATTRIBUTES {
        if !all && !system_names.contains(&name) {
            continue;
        }
        let value = match name {
            "SenderId" => Some(m.sender_id.to_string()),
            "SentTimestamp" => Some(m.sent_at.to_string()),
            "ApproximateReceiveCount" => Some(m.receive_count.to_string()),
            "ApproximateFirstReceiveTimestamp" => m.first_received_at.map(|t| t.to_string()),
            "SequenceNumber" => m.sequence_number().map(|n| n.to_string()),
            "MessageDeduplicationId" => m.dedup_id().map(str::to_string),
            "MessageGroupId" => m.group_id.as_deref().map(str::to_string),
            "AWSTraceHeader" => m.trace_header().map(str::to_string),
            "DeadLetterQueueSourceArn" => m.dead_letter_source_arn().map(str::to_string),
            _ => None,
        };
        if let Some(value) = value {
            attributes.insert(name.to_string(), value);
        }
    }
    let selected = select_attributes(&m.attributes, attribute_names);
    WireMessage {
        message_id: m.id.to_string(),
        receipt_handle,
        md5_of_body: m.body_md5.to_string(),
        body: m.body.to_string(),
        attributes,
        md5_of_message_attributes: message::attributes_md5(&selected),
        message_attributes: to_wire_attributes(&selected),
    }
}

/// The attributes a receive asked for: `All` or `.*` for every one, `prefix.*` by prefix,
/// or exact names.
fn select_attributes(attributes: &Attributes, names: &[String]) -> Attributes {
    if names.iter().any(|n| n == "All" || n == ".*") {
        return attributes.clone();
    }
    attributes
        .iter()
        .filter(|(name, _)| {
            names.iter().any(|wanted| match wanted.strip_suffix(".*") {
                Some(prefix) => name.starts_with(prefix) && name[prefix.len()..].starts_with('.'),
                None => *name == wanted,
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// DeleteMessage request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageRequest {
    queue_url: Option<String>,
    receipt_handle: Option<String>,
}

/// Deletes one message.
pub fn delete_message(call: &Call<'_>, request: DeleteMessageRequest) -> Result<Empty> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let handle = request
        .receipt_handle
        .ok_or_else(|| SqsError::missing_parameter("ReceiptHandle"))?;
    call.sqs.delete_message(&queue, &handle)?;
    Ok(Empty {})
}

/// DeleteMessageBatch request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchRequest {
    queue_url: Option<String>,
    #[serde(default, deserialize_with = "super::shapes::null_as_empty")]
    entries: Vec<DeleteBatchEntry>,
}

/// One entry of DeleteMessageBatch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteBatchEntry {
    id: Option<String>,
    receipt_handle: Option<String>,
}

/// Deletes up to 10 messages.
pub fn delete_message_batch(
    call: &Call<'_>,
    request: DeleteMessageBatchRequest,
) -> Result<BatchResult<BatchSuccess>> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let entries = request.entries.into_iter().map(|mut e| (e.id.take(), e));
    each_entry("DeleteMessageBatchRequestEntry", entries, |entry| {
        let handle = entry
            .receipt_handle
            .ok_or_else(|| SqsError::missing_parameter("ReceiptHandle"))?;
        call.sqs.delete_message(&queue, &handle)
    })
}

/// Checks a batch's ids (empty, too many, malformed, repeated: the whole request fails), then
/// applies `apply` to each entry, which succeeds or fails on its own.
fn each_entry<E>(
    entry_kind: &str,
    entries: impl Iterator<Item = (Option<String>, E)>,
    mut apply: impl FnMut(E) -> Result<()>,
) -> Result<BatchResult<BatchSuccess>> {
    let entries: Vec<(String, E)> = entries.map(|(id, e)| (id.unwrap_or_default(), e)).collect();
    limits::validate_batch_ids(entry_kind, entries.iter().map(|(id, _)| id.as_str()))?;
    let mut result = BatchResult {
        successful: Vec::new(),
        failed: Vec::new(),
    };
    for (id, entry) in entries {
        match apply(entry) {
            Ok(()) => result.successful.push(BatchSuccess { id }),
            Err(error) => result.failed.push(BatchFailure::from_error(id, &error)),
        }
    }
    Ok(result)
}

/// ChangeMessageVisibility request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeVisibilityRequest {
    queue_url: Option<String>,
    receipt_handle: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    visibility_timeout: Option<i64>,
}

fn change_one(
    call: &Call<'_>,
    queue: &crate::core::Queue,
    handle: Option<String>,
    timeout: Option<i64>,
) -> Result<()> {
    let handle = handle.ok_or_else(|| SqsError::missing_parameter("ReceiptHandle"))?;
    let timeout = timeout.ok_or_else(|| SqsError::missing_parameter("VisibilityTimeout"))?;
    let timeout = limits::validate_visibility_timeout(timeout)?;
    call.sqs.change_visibility(queue, &handle, timeout)
}

/// Changes one message's visibility timeout.
pub fn change_message_visibility(
    call: &Call<'_>,
    request: ChangeVisibilityRequest,
) -> Result<Empty> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    change_one(
        call,
        &queue,
        request.receipt_handle,
        request.visibility_timeout,
    )?;
    Ok(Empty {})
}

/// ChangeMessageVisibilityBatch request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeVisibilityBatchRequest {
    queue_url: Option<String>,
    #[serde(default, deserialize_with = "super::shapes::null_as_empty")]
    entries: Vec<ChangeVisibilityBatchEntry>,
}

/// One entry of ChangeMessageVisibilityBatch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeVisibilityBatchEntry {
    id: Option<String>,
    receipt_handle: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    visibility_timeout: Option<i64>,
}

/// Changes up to 10 messages' visibility timeouts.
pub fn change_message_visibility_batch(
    call: &Call<'_>,
    request: ChangeVisibilityBatchRequest,
) -> Result<BatchResult<BatchSuccess>> {
    let queue = resolve_queue(call.sqs, call.context, request.queue_url.as_deref())?;
    let entries = request.entries.into_iter().map(|mut e| (e.id.take(), e));
    each_entry(
        "ChangeMessageVisibilityBatchRequestEntry",
        entries,
        |entry| change_one(call, &queue, entry.receipt_handle, entry.visibility_timeout),
    )
}
