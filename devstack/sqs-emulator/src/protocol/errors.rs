//! The wire codes of each error kind, as recorded against Amazon SQS (see
//! `shared/aws-sqs-errors.json`): the JSON protocol's `__type` shape, the query protocol's
//! code (also sent in JSON's `x-amzn-query-error` header), the HTTP status, and the fault.

use crate::core::ErrorKind;

/// Who is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller.
    Sender,
    /// The service.
    Receiver,
}

impl Fault {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sender => "Sender",
            Self::Receiver => "Receiver",
        }
    }
}

/// The wire codes of one error kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireCodes {
    /// JSON `__type`, fully qualified.
    pub json_type: &'static str,
    /// The query protocol's `<Code>`, also JSON's `x-amzn-query-error` code.
    pub query_code: &'static str,
    /// HTTP status.
    pub status: u16,
    /// Fault.
    pub fault: Fault,
}

/// The wire codes of `kind`.
pub fn codes(kind: ErrorKind) -> WireCodes {
    use ErrorKind as K;
    let (json_type, query_code, status) = match kind {
        K::QueueDoesNotExist => (
            "com.amazonaws.sqs#QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            400,
        ),
        K::QueueAlreadyExists => (
            "com.amazonaws.sqs#QueueNameExists",
            "QueueAlreadyExists",
            400,
        ),
        K::InvalidParameterValue => (
            "com.amazonaws.sqs#InvalidParameterValueException",
            "InvalidParameterValue",
            400,
        ),
        K::MissingParameter => (
            "com.amazonaws.sqs#MissingRequiredParameterException",
            "MissingParameter",
            400,
        ),
        K::InvalidAttributeName => (
            "com.amazonaws.sqs#InvalidAttributeName",
            "InvalidAttributeName",
            400,
        ),
        K::InvalidAttributeValue => (
            "com.amazonaws.sqs#InvalidAttributeValue",
            "InvalidAttributeValue",
            400,
        ),
        K::InvalidMessageContents => (
            "com.amazonaws.sqs#InvalidMessageContents",
            "InvalidMessageContents",
            400,
        ),
        K::ReceiptHandleIsInvalid => (
            "com.amazonaws.sqs#ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            400,
        ),
        K::MessageNotInflight => (
            "com.amazonaws.sqs#MessageNotInflight",
            "AWS.SimpleQueueService.MessageNotInflight",
            400,
        ),
        K::PurgeQueueInProgress => (
            "com.amazonaws.sqs#PurgeQueueInProgress",
            "AWS.SimpleQueueService.PurgeQueueInProgress",
            403,
        ),
        K::TooManyEntriesInBatchRequest => (
            "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            400,
        ),
        K::BatchEntryIdsNotDistinct => (
            "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            400,
        ),
        K::EmptyBatchRequest => (
            "com.amazonaws.sqs#EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            400,
        ),
        K::InvalidBatchEntryId => (
            "com.amazonaws.sqs#InvalidBatchEntryId",
            "AWS.SimpleQueueService.InvalidBatchEntryId",
            400,
        ),
        K::BatchRequestTooLong => (
            "com.amazonaws.sqs#BatchRequestTooLong",
            "AWS.SimpleQueueService.BatchRequestTooLong",
            400,
        ),
        K::ResourceNotFound => (
            "com.amazonaws.sqs#ResourceNotFoundException",
            "ResourceNotFoundException",
            404,
        ),
        K::InvalidAddress => ("com.amazonaws.sqs#InvalidAddress", "InvalidAddress", 404),
        K::OverLimit => ("com.amazonaws.sqs#OverLimit", "OverLimit", 403),
        K::UnsupportedOperation => (
            "com.amazonaws.sqs#UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            400,
        ),
        K::InvalidAction => (
            "com.amazon.coral.service#UnknownOperationException",
            "InvalidAction",
            400,
        ),
        K::MalformedRequest => (
            "com.amazon.coral.service#SerializationException",
            "MalformedInput",
            400,
        ),
        K::InternalFailure => (
            "com.amazon.coral.service#InternalFailure",
            "InternalFailure",
            500,
        ),
    };
    WireCodes {
        json_type,
        query_code,
        status,
        fault: Fault::Sender,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_codes() {
        let c = codes(ErrorKind::QueueDoesNotExist);
        assert_eq!(
            (c.query_code, c.status),
            ("AWS.SimpleQueueService.NonExistentQueue", 400)
        );
        assert!(c.json_type.ends_with("#QueueDoesNotExist"));
        assert_eq!(codes(ErrorKind::PurgeQueueInProgress).status, 403);
        assert_eq!(codes(ErrorKind::ResourceNotFound).status, 404);
        assert!(
            codes(ErrorKind::QueueAlreadyExists)
                .json_type
                .ends_with("#QueueNameExists")
        );
        assert!(
            codes(ErrorKind::MissingParameter)
                .json_type
                .ends_with("#MissingRequiredParameterException")
        );
    }
}
