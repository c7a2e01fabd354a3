//! Amazon SQS's limits and the validators that enforce them, with AWS's error messages.

use super::error::{ErrorKind, Result, SqsError};

/// Largest message (body plus attributes), and largest batch, in bytes.
pub const MAX_MESSAGE_SIZE: usize = 1_048_576;
/// Smallest allowed `MaximumMessageSize`.
pub const MIN_MESSAGE_SIZE_LIMIT: usize = 1_024;
/// Most entries in a batch request.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Longest visibility timeout, in seconds (12 hours).
pub const MAX_VISIBILITY_TIMEOUT: u64 = 43_200;
/// Longest delay, in seconds (15 minutes).
pub const MAX_DELAY_SECONDS: u64 = 900;
/// Shortest and longest retention, in seconds.
pub const RETENTION_RANGE: (u64, u64) = (60, 1_209_600);
/// Longest long-poll wait, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 20;
/// Most messages returned by one receive.
pub const MAX_RECEIVE: usize = 10;
/// Most message attributes on one message.
pub const MAX_MESSAGE_ATTRIBUTES: usize = 10;
/// The FIFO deduplication window, in milliseconds.
pub const DEDUP_WINDOW_MILLIS: u64 = 5 * 60 * 1_000;
/// Most messages in flight on a standard queue.
pub const MAX_IN_FLIGHT_STANDARD: usize = 120_000;
/// Most messages in flight on a FIFO queue.
pub const MAX_IN_FLIGHT_FIFO: usize = 20_000;
/// Most tags on a queue.
pub const MAX_TAGS: usize = 50;
/// Seconds between two purges of one queue.
pub const PURGE_INTERVAL_MILLIS: u64 = 60_000;

/// Checks a queue name: 1–80 alphanumerics, hyphens or underscores, `.fifo` suffix for FIFO.
pub fn validate_queue_name(name: &str, fifo: bool) -> Result<()> {
    let stem = if fifo {
        name.strip_suffix(".fifo")
    } else {
        Some(name)
    };
    let ok = stem.is_some_and(|stem| {
        !stem.is_empty()
            && name.len() <= 80
            && stem
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    if ok {
        return Ok(());
    }
    let message = if fifo || name.ends_with(".fifo") {
        "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
    } else {
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
    };
    Err(SqsError::new(ErrorKind::InvalidParameterValue, message))
}

/// Checks a message body's characters against SQS's allowed set:
/// `#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF`.
pub fn validate_body_chars(body: &str) -> Result<()> {
    let allowed = |c: char| matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}');
    if body.chars().all(allowed) {
        Ok(())
    } else {
        Err(SqsError::new(
            ErrorKind::InvalidMessageContents,
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        ))
    }
}

/// Checks a `MessageGroupId` or `MessageDeduplicationId`: 1–128 ASCII alphanumerics or punctuation.
pub fn validate_fifo_token(parameter: &str, value: &str) -> Result<()> {
    let ok = (1..=128).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation());
    if ok {
        Ok(())
    } else {
        Err(SqsError::invalid_parameter(
            parameter,
            value,
            &format!(
                "{parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length."
            ),
        ))
    }
}

/// Checks the shape of a batch: not empty, at most 10 entries, valid and distinct ids.
/// `entry_kind` names the entry type in the empty-batch message, e.g. `SendMessageBatchRequestEntry`.
pub fn validate_batch_ids<'a>(
    entry_kind: &str,
    ids: impl ExactSizeIterator<Item = &'a str>,
) -> Result<()> {
    let count = ids.len();
    if count == 0 {
        return Err(SqsError::new(
            ErrorKind::EmptyBatchRequest,
            format!("There should be at least one {entry_kind} in the request."),
        ));
    }
    if count > MAX_BATCH_ENTRIES {
        return Err(SqsError::new(
            ErrorKind::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent {count}."
            ),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(count);
    for id in ids {
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(SqsError::new(
                ErrorKind::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(id) {
            return Err(SqsError::new(
                ErrorKind::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(())
}

/// Checks a receive's `MaxNumberOfMessages`.
pub fn validate_max_messages(value: i64) -> Result<usize> {
    if (1..=MAX_RECEIVE as i64).contains(&value) {
        Ok(value as usize)
    } else {
        Err(SqsError::invalid_parameter(
            "MaxNumberOfMessages",
            value,
            "Must be between 1 and 10, if provided.",
        ))
    }
}

/// Checks a receive's `WaitTimeSeconds`.
pub fn validate_wait_seconds(value: i64) -> Result<u64> {
    if (0..=MAX_WAIT_SECONDS as i64).contains(&value) {
        Ok(value as u64)
    } else {
        Err(SqsError::invalid_parameter(
            "WaitTimeSeconds",
            value,
            "Must be >= 0 and <= 20, if provided.",
        ))
    }
}

/// Checks a `VisibilityTimeout` parameter (receive or change visibility).
pub fn validate_visibility_timeout(value: i64) -> Result<u64> {
    if (0..=MAX_VISIBILITY_TIMEOUT as i64).contains(&value) {
        Ok(value as u64)
    } else {
        Err(SqsError::invalid_parameter(
            "VisibilityTimeout",
            value,
            "Must be >= 0 and <= 43200, if provided.",
        ))
    }
}

/// Checks a per-message `DelaySeconds`.
pub fn validate_delay_seconds(value: i64) -> Result<u64> {
    if (0..=MAX_DELAY_SECONDS as i64).contains(&value) {
        Ok(value as u64)
    } else {
        Err(SqsError::invalid_parameter(
            "DelaySeconds",
            value,
            "DelaySeconds must be >= 0 and <= 900.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names() {
        assert!(validate_queue_name("orders-dlq_1", false).is_ok());
        assert!(validate_queue_name("orders.fifo", true).is_ok());
        assert!(validate_queue_name(".fifo", true).is_err());
        assert!(validate_queue_name("orders", true).is_err());
        assert!(validate_queue_name("", false).is_err());
        assert!(validate_queue_name("has space", false).is_err());
        assert!(validate_queue_name(&"a".repeat(81), false).is_err());
        assert!(validate_queue_name(&"a".repeat(80), false).is_ok());
    }

    #[test]
    fn body_characters() {
        assert!(validate_body_chars("tab\there\r\n 🚀 \u{E000}").is_ok());
        let err = validate_body_chars("bell\u{7}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidMessageContents);
        assert!(validate_body_chars("\u{FFFE}").is_err());
    }

    #[test]
    fn fifo_tokens_match_aws_messages() {
        let err = validate_fifo_token("MessageGroupId", "group 123").unwrap_err();
        assert_eq!(
            err.message,
            "Value group 123 for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length."
        );
        let err = validate_fifo_token("MessageDeduplicationId", "").unwrap_err();
        assert!(
            err.message
                .starts_with("Value  for parameter MessageDeduplicationId")
        );
        assert!(validate_fifo_token("MessageGroupId", "a-b_c.d!").is_ok());
    }

    #[test]
    fn batch_shapes() {
        let err = validate_batch_ids("SendMessageBatchRequestEntry", [].into_iter()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::EmptyBatchRequest);
        let ids: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let err = validate_batch_ids("X", ids.iter().map(String::as_str)).unwrap_err();
        assert_eq!(
            err.message,
            "Maximum number of entries per request are 10. You have sent 20."
        );
        let err = validate_batch_ids("X", ["a", "a"].into_iter()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BatchEntryIdsNotDistinct);
        let err = validate_batch_ids("X", ["a:b"].into_iter()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidBatchEntryId);
    }

    #[test]
    fn receive_parameters_match_aws_messages() {
        assert_eq!(
            validate_max_messages(11).unwrap_err().message,
            "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
        );
        assert_eq!(
            validate_wait_seconds(-1).unwrap_err().message,
            "Value -1 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
        );
        assert_eq!(validate_wait_seconds(20).unwrap(), 20);
        assert!(validate_visibility_timeout(43_201).is_err());
        assert!(validate_delay_seconds(901).is_err());
    }
}
