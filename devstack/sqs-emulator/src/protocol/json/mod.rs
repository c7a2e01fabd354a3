//! The AWS JSON 1.0 protocol: `POST /` with `X-Amz-Target: AmazonSQS.<Action>` and a JSON
//! body; JSON responses; errors as HTTP 4xx with `{"__type", "message"}` and the
//! `x-amzn-query-error` header. One module per action family:
//!
//! - [`queues`]: Create/Delete/List queues, GetQueueUrl, Get/SetQueueAttributes, PurgeQueue.
//! - [`messages`]: Send/Receive/Delete/ChangeMessageVisibility and their batches.
//! - [`access`]: tags and permissions.
//! - [`dead_letters`]: ListDeadLetterSourceQueues and message move tasks.

pub mod access;
pub mod dead_letters;
pub mod messages;
pub mod queues;
pub mod shapes;

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::WireResponse;
use super::context::RequestContext;
use super::errors::codes;
use crate::core::{ErrorKind, Result, Sqs, SqsError};

/// The content type of JSON-protocol requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// What every action handler gets.
pub struct Call<'a> {
    /// The emulator.
    pub sqs: &'a Arc<Sqs>,
    /// The request's origin.
    pub context: &'a RequestContext,
}

/// Handles one JSON-protocol request. `target` is the `X-Amz-Target` header's value.
pub async fn handle(
    sqs: &Arc<Sqs>,
    context: &RequestContext,
    target: Option<&str>,
    body: &[u8],
) -> WireResponse {
    let call = Call { sqs, context };
    match dispatch(&call, target, body).await {
        Ok(body) => WireResponse {
            status: 200,
            content_type: CONTENT_TYPE,
            query_error: None,
            body,
        },
        Err(error) => error_response(&error),
    }
}

/// The wire form of an error.
pub fn error_response(error: &SqsError) -> WireResponse {
    let wire = codes(error.kind);
    let body = serde_json::json!({"__type": wire.json_type, "message": error.message});
    WireResponse {
        status: wire.status,
        content_type: CONTENT_TYPE,
        query_error: Some(format!("{};{}", wire.query_code, wire.fault.as_str())),
        body: body.to_string().into_bytes(),
    }
}

/// The wire form of an error a fault rule injects: `code` as the `__type` and the query code,
/// a `Receiver` fault for a 5xx status.
pub fn injected_error(code: &str, status: u16, message: &str) -> WireResponse {
    let fault = if status >= 500 { "Receiver" } else { "Sender" };
    let body =
        serde_json::json!({"__type": format!("com.amazonaws.sqs#{code}"), "message": message});
    WireResponse {
        status,
        content_type: CONTENT_TYPE,
        query_error: Some(format!("{code};{fault}")),
        body: body.to_string().into_bytes(),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        SqsError::new(
            ErrorKind::MalformedRequest,
            format!("Malformed request body: {e}"),
        )
    })
}

fn render<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| {
        SqsError::new(
            ErrorKind::MalformedRequest,
            format!("cannot encode response: {e}"),
        )
    })
}

async fn dispatch(call: &Call<'_>, target: Option<&str>, body: &[u8]) -> Result<Vec<u8>> {
    let action = target
        .and_then(|t| t.strip_prefix("AmazonSQS."))
        .ok_or_else(|| {
            SqsError::new(
                ErrorKind::InvalidAction,
                "Missing or unknown X-Amz-Target; expected AmazonSQS.<Action>.",
            )
        })?;
    run_action(call, action, body).await
}

/// Runs `action` on a JSON request body; the JSON response body. The Query protocol adapter
/// calls this too, with the form parameters translated to JSON.
pub(crate) async fn run_action(call: &Call<'_>, action: &str, body: &[u8]) -> Result<Vec<u8>> {
    macro_rules! sync_action {
        ($handler:path) => {
            render(&$handler(call, parse(body)?)?)
        };
    }
    match action {
        "CreateQueue" => sync_action!(queues::create_queue),
        "DeleteQueue" => sync_action!(queues::delete_queue),
        "GetQueueUrl" => sync_action!(queues::get_queue_url),
        "ListQueues" => sync_action!(queues::list_queues),
        "GetQueueAttributes" => sync_action!(queues::get_queue_attributes),
        "SetQueueAttributes" => sync_action!(queues::set_queue_attributes),
        "PurgeQueue" => sync_action!(queues::purge_queue),
        "SendMessage" => sync_action!(messages::send_message),
        "SendMessageBatch" => sync_action!(messages::send_message_batch),
        "ReceiveMessage" => render(&messages::receive_message(call, parse(body)?).await?),
        "DeleteMessage" => sync_action!(messages::delete_message),
        "DeleteMessageBatch" => sync_action!(messages::delete_message_batch),
        "ChangeMessageVisibility" => sync_action!(messages::change_message_visibility),
        "ChangeMessageVisibilityBatch" => sync_action!(messages::change_message_visibility_batch),
        "TagQueue" => sync_action!(access::tag_queue),
        "UntagQueue" => sync_action!(access::untag_queue),
        "ListQueueTags" => sync_action!(access::list_queue_tags),
        "AddPermission" => sync_action!(access::add_permission),
        "RemovePermission" => sync_action!(access::remove_permission),
        "ListDeadLetterSourceQueues" => sync_action!(dead_letters::list_dead_letter_source_queues),
        "StartMessageMoveTask" => sync_action!(dead_letters::start_message_move_task),
        "CancelMessageMoveTask" => sync_action!(dead_letters::cancel_message_move_task),
        "ListMessageMoveTasks" => sync_action!(dead_letters::list_message_move_tasks),
        other => Err(SqsError::new(
            ErrorKind::InvalidAction,
            format!("The action {other} is not valid for this endpoint."),
        )),
    }
}
