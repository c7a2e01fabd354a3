//! The core's errors: one AWS error kind and the exact message Amazon SQS sends. The protocol
//! adapters map each kind to its wire codes (JSON `__type`, query code, HTTP status).

use std::fmt;

/// The AWS error kinds the emulator returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The queue does not exist.
    QueueDoesNotExist,
    /// A queue with this name exists with other attributes.
    QueueAlreadyExists,
    /// A parameter has a bad value.
    InvalidParameterValue,
    /// A required parameter is missing.
    MissingParameter,
    /// An attribute name is unknown or not allowed here.
    InvalidAttributeName,
    /// An attribute value is out of range or malformed.
    InvalidAttributeValue,
    /// The body holds characters SQS does not allow.
    InvalidMessageContents,
    /// The receipt handle is not one the emulator issued.
    ReceiptHandleIsInvalid,
    /// ChangeMessageVisibility on a message that is not in flight.
    MessageNotInflight,
    /// A purge within 60 seconds of the last one.
    PurgeQueueInProgress,
    /// A batch with more than 10 entries.
    TooManyEntriesInBatchRequest,
    /// A batch with two entries of the same id.
    BatchEntryIdsNotDistinct,
    /// A batch with no entries.
    EmptyBatchRequest,
    /// A batch entry id with bad characters or too long.
    InvalidBatchEntryId,
    /// A batch whose messages add up to more than 1 MiB.
    BatchRequestTooLong,
    /// A resource (move task, source or destination queue) does not exist.
    ResourceNotFound,
    /// The queue URL is not an address of this endpoint.
    InvalidAddress,
    /// A limit such as the number of tags or in-flight messages is reached.
    OverLimit,
    /// The operation is not supported.
    UnsupportedOperation,
    /// The request's action is unknown.
    InvalidAction,
    /// The request could not be understood (bad JSON, wrong types).
    MalformedRequest,
    /// The emulator failed on its side (its journal cannot be written).
    InternalFailure,
}

/// An error from the core: a kind and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SqsError {
    /// The kind, mapped to wire codes by the protocol adapter.
    pub kind: ErrorKind,
    /// The human message, worded as Amazon SQS words it.
    pub message: String,
}

impl fmt::Display for SqsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl SqsError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// `QueueDoesNotExist` with AWS's message.
    pub fn queue_does_not_exist() -> Self {
        Self::new(
            ErrorKind::QueueDoesNotExist,
            "The specified queue does not exist.",
        )
    }

    /// `InvalidParameterValue` in AWS's `Value X for parameter P is invalid. Reason: R` form.
    pub fn invalid_parameter(name: &str, value: impl fmt::Display, reason: &str) -> Self {
        Self::new(
            ErrorKind::InvalidParameterValue,
            format!("Value {value} for parameter {name} is invalid. Reason: {reason}"),
        )
    }

    /// `MissingParameter` for `name`.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            ErrorKind::MissingParameter,
            format!("The request must contain the parameter {name}."),
        )
    }

    /// `InvalidAttributeName` for an unknown attribute.
    pub fn unknown_attribute(name: &str) -> Self {
        Self::new(
            ErrorKind::InvalidAttributeName,
            format!("Unknown Attribute {name}."),
        )
    }

    /// `InvalidAttributeValue` for a bad value of `name`.
    pub fn invalid_attribute_value(name: &str) -> Self {
        Self::new(
            ErrorKind::InvalidAttributeValue,
            format!("Invalid value for the parameter {name}."),
        )
    }

    /// `InvalidParameterValue` for the receipt handle of a message that is gone or was received again.
    pub fn receipt_handle_expired(handle: &str) -> Self {
        Self::invalid_parameter("ReceiptHandle", handle, "The receipt handle has expired.")
    }

    /// `ReceiptHandleIsInvalid` for a handle the emulator did not issue.
    pub fn receipt_handle_invalid(handle: &str) -> Self {
        Self::new(
            ErrorKind::ReceiptHandleIsInvalid,
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        )
    }
}

/// The core's result type.
pub type Result<T, E = SqsError> = std::result::Result<T, E>;
