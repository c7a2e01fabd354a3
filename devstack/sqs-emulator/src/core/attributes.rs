//! A queue's configurable attributes: parsed and validated from the string map SQS APIs use,
//! and rendered back. Computed attributes (ARN, counts, timestamps) are added by the registry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{ErrorKind, Result, SqsError};
use super::limits::{
    MAX_DELAY_SECONDS, MAX_MESSAGE_SIZE, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_SECONDS,
    MIN_MESSAGE_SIZE_LIMIT, RETENTION_RANGE,
};

/// Attribute names a caller may set (on create or SetQueueAttributes).
pub const SETTABLE: &[&str] = &[
    "VisibilityTimeout",
    "DelaySeconds",
    "MessageRetentionPeriod",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "Policy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
];

/// Attribute names only GetQueueAttributes returns.
pub const READ_ONLY: &[&str] = &[
    "QueueArn",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
];

/// A queue's dead-letter configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedrivePolicy {
    /// The DLQ's ARN.
    pub dead_letter_target_arn: String,
    /// Receives after which a message moves to the DLQ (1–1000).
    pub max_receive_count: u32,
}

/// The configurable attributes of a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueConfig {
    /// Default visibility timeout, seconds.
    pub visibility_timeout: u64,
    /// Default delay, seconds.
    pub delay_seconds: u64,
    /// Retention, seconds.
    pub retention_seconds: u64,
    /// Largest message, bytes.
    pub maximum_message_size: usize,
    /// Default long-poll wait, seconds.
    pub receive_wait_seconds: u64,
    /// Dead-letter configuration.
    pub redrive_policy: Option<RedrivePolicy>,
    /// Which queues may use this queue as a DLQ (JSON, stored as given).
    pub redrive_allow_policy: Option<String>,
    /// FIFO queue.
    pub fifo: bool,
    /// FIFO: deduplicate by SHA-256 of the body when no id is sent.
    pub content_based_deduplication: bool,
    /// FIFO: `queue` or `messageGroup`.
    pub deduplication_scope: String,
    /// FIFO: `perQueue` or `perMessageGroupId`.
    pub fifo_throughput_limit: String,
    /// Other attributes SQS accepts and returns unchanged (Policy, KMS, SSE).
    pub passthrough: BTreeMap<String, String>,
}

impl QueueConfig {
    /// The defaults of a new queue.
    pub fn new(fifo: bool) -> Self {
        let mut passthrough = BTreeMap::new();
        passthrough.insert("SqsManagedSseEnabled".to_string(), "true".to_string());
        Self {
            visibility_timeout: 30,
            delay_seconds: 0,
            retention_seconds: 345_600,
            maximum_message_size: MAX_MESSAGE_SIZE,
            receive_wait_seconds: 0,
            redrive_policy: None,
            redrive_allow_policy: None,
            fifo,
            content_based_deduplication: false,
            deduplication_scope: "queue".into(),
            fifo_throughput_limit: "perQueue".into(),
            passthrough,
        }
    }

    /// Whether a queue named `name` with these attributes is FIFO; checks name and attribute agree.
    pub fn fifo_from_create(name: &str, attributes: &BTreeMap<String, String>) -> Result<bool> {
        let fifo = match attributes
            .get("FifoQueue")
            .map(|v| parse_bool("FifoQueue", v))
        {
            None => false,
            Some(Ok(true)) => true,
            Some(_) if !name.ends_with(".fifo") => {
                return Err(SqsError::unknown_attribute("FifoQueue"));
            }
            Some(_) => return Err(SqsError::invalid_attribute_value("FifoQueue")),
        };
        super::limits::validate_queue_name(name, fifo || name.ends_with(".fifo"))?;
        if name.ends_with(".fifo") && !fifo {
            return Err(SqsError::new(
                ErrorKind::InvalidParameterValue,
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
            ));
        }
        Ok(fifo)
    }

    /// Applies `attributes` (validated first; nothing changes on error). `creating` allows
    /// `FifoQueue`, which SetQueueAttributes refuses.
    pub fn apply(&mut self, attributes: &BTreeMap<String, String>, creating: bool) -> Result<()> {
        let mut next = self.clone();
        for (name, value) in attributes {
            next.apply_one(name, value, creating)?;
        }
        next.check_combination(attributes)?;
        *self = next;
        Ok(())
    }

    fn apply_one(&mut self, name: &str, value: &str, creating: bool) -> Result<()> {
        match name {
            "VisibilityTimeout" => {
                self.visibility_timeout = parse_range(name, value, 0, MAX_VISIBILITY_TIMEOUT)?
            }
            "DelaySeconds" => self.delay_seconds = parse_range(name, value, 0, MAX_DELAY_SECONDS)?,
            "MessageRetentionPeriod" => {
                self.retention_seconds =
                    parse_range(name, value, RETENTION_RANGE.0, RETENTION_RANGE.1)?
            }
            "MaximumMessageSize" => {
                self.maximum_message_size = parse_range(
                    name,
                    value,
                    MIN_MESSAGE_SIZE_LIMIT as u64,
                    MAX_MESSAGE_SIZE as u64,
                )? as usize;
            }
            "ReceiveMessageWaitTimeSeconds" => {
                self.receive_wait_seconds = parse_range(name, value, 0, MAX_WAIT_SECONDS)?
            }
            "RedrivePolicy" => self.redrive_policy = parse_redrive_policy(value)?,
            "RedriveAllowPolicy" => {
                self.redrive_allow_policy = if value.is_empty() {
                    None
                } else {
                    serde_json::from_str::<serde_json::Value>(value)
                        .ok()
                        .filter(serde_json::Value::is_object)
                        .ok_or_else(|| SqsError::invalid_attribute_value(name))?;
                    Some(value.to_string())
                };
            }
            // A standard queue does not know the attribute; a FIFO queue accepts `true` (no
            // change) and refuses to become standard.
            "FifoQueue" => {
                if !self.fifo {
                    return Err(SqsError::unknown_attribute(name));
                }
                if !parse_bool(name, value)? && !creating {
                    return Err(SqsError::new(
                        ErrorKind::InvalidAttributeValue,
                        "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
                    ));
                }
            }
            "ContentBasedDeduplication" => {
                if !self.fifo {
                    return Err(SqsError::unknown_attribute(name));
                }
                self.content_based_deduplication = parse_bool(name, value)?;
            }
            "DeduplicationScope" => {
                if !self.fifo {
                    return Err(SqsError::new(
                        ErrorKind::InvalidAttributeName,
                        "You can specify the DeduplicationScope only when FifoQueue is set to true.",
                    ));
                }
                if !matches!(value, "queue" | "messageGroup") {
                    return Err(SqsError::invalid_attribute_value(name));
                }
                self.deduplication_scope = value.to_string();
            }
            "FifoThroughputLimit" => {
                if !self.fifo {
                    return Err(SqsError::new(
                        ErrorKind::InvalidAttributeName,
                        "You can specify the FifoThroughputLimit only when FifoQueue is set to true.",
                    ));
                }
                if !matches!(value, "perQueue" | "perMessageGroupId") {
                    return Err(SqsError::invalid_attribute_value(name));
                }
                self.fifo_throughput_limit = value.to_string();
            }
            "Policy"
            | "KmsMasterKeyId"
            | "KmsDataKeyReusePeriodSeconds"
            | "SqsManagedSseEnabled" => {
                if name == "KmsDataKeyReusePeriodSeconds" {
                    parse_range(name, value, 60, 86_400)?;
                }
                if name == "SqsManagedSseEnabled" {
                    parse_bool(name, value)?;
                }
                if value.is_empty() {
                    self.passthrough.remove(name);
                } else {
                    self.passthrough.insert(name.to_string(), value.to_string());
                }
                self.settle_encryption(name, value);
            }
            _ if READ_ONLY.contains(&name) => return Err(SqsError::unknown_attribute(name)),
            _ => return Err(SqsError::unknown_attribute(name)),
        }
        Ok(())
    }

    /// The rules between attributes, checked on the queue as it would be after the change:
    /// `perMessageGroupId` throughput needs `messageGroup` deduplication (high-throughput FIFO
    /// is the two together), and one request may not ask for both kinds of encryption.
    fn check_combination(&self, requested: &BTreeMap<String, String>) -> Result<()> {
        if self.fifo_throughput_limit == "perMessageGroupId"
            && self.deduplication_scope != "messageGroup"
        {
            return Err(SqsError::invalid_attribute_value("FifoThroughputLimit"));
        }
        let kms = requested
            .get("KmsMasterKeyId")
            .is_some_and(|key| !key.is_empty());
        let sse = requested
            .get("SqsManagedSseEnabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if kms && sse {
            return Err(SqsError::invalid_attribute_value("SqsManagedSseEnabled"));
        }
        Ok(())
    }

    /// Keeps the encryption attributes as SQS reports them after a change to one: a KMS key
    /// turns SQS-managed encryption off and brings the data key reuse period (300 s unless
    /// set); SQS-managed encryption turned on drops the KMS attributes.
    fn settle_encryption(&mut self, name: &str, value: &str) {
        let sse = &mut self.passthrough;
        match name {
            "KmsMasterKeyId" if !value.is_empty() => {
                sse.insert("SqsManagedSseEnabled".into(), "false".into());
                sse.entry("KmsDataKeyReusePeriodSeconds".into())
                    .or_insert_with(|| "300".into());
            }
            "KmsMasterKeyId" => {
                sse.remove("KmsDataKeyReusePeriodSeconds");
            }
            "SqsManagedSseEnabled" if value.eq_ignore_ascii_case("true") => {
                sse.insert(name.into(), "true".into());
                sse.remove("KmsMasterKeyId");
                sse.remove("KmsDataKeyReusePeriodSeconds");
            }
            "SqsManagedSseEnabled" => {
                sse.insert(name.into(), "false".into());
            }
            _ => {}
        }
    }

    /// The configurable attributes as SQS returns them.
    pub fn render(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        out.insert(
            "VisibilityTimeout".into(),
            self.visibility_timeout.to_string(),
        );
        out.insert("DelaySeconds".into(), self.delay_seconds.to_string());
        out.insert(
            "MessageRetentionPeriod".into(),
            self.retention_seconds.to_string(),
        );
        out.insert(
            "MaximumMessageSize".into(),
            self.maximum_message_size.to_string(),
        );
        out.insert(
            "ReceiveMessageWaitTimeSeconds".into(),
            self.receive_wait_seconds.to_string(),
        );
        if let Some(policy) = &self.redrive_policy {
            out.insert("RedrivePolicy".into(), render_redrive_policy(policy));
        }
        if let Some(policy) = &self.redrive_allow_policy {
            out.insert("RedriveAllowPolicy".into(), policy.clone());
        }
        if self.fifo {
            out.insert("FifoQueue".into(), "true".into());
            out.insert(
                "ContentBasedDeduplication".into(),
                self.content_based_deduplication.to_string(),
            );
            out.insert(
                "DeduplicationScope".into(),
                self.deduplication_scope.clone(),
            );
            out.insert(
                "FifoThroughputLimit".into(),
                self.fifo_throughput_limit.clone(),
            );
        }
        out.extend(self.passthrough.clone());
        out
    }

    /// The first attribute in `requested` whose value differs from this config's, for
    /// CreateQueue's QueueAlreadyExists check.
    pub fn first_difference(&self, requested: &BTreeMap<String, String>) -> Result<Option<String>> {
        let mut wanted = QueueConfig::new(self.fifo);
        wanted.apply(requested, true)?;
        let (mine, theirs) = (self.render(), wanted.render());
        Ok(requested
            .keys()
            .find(|name| mine.get(*name) != theirs.get(*name))
            .cloned())
    }
}

fn parse_range(name: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| SqsError::invalid_attribute_value(name))
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(SqsError::invalid_attribute_value(name)),
    }
}

fn parse_redrive_policy(value: &str) -> Result<Option<RedrivePolicy>> {
    if value.is_empty() {
        return Ok(None);
    }
    let invalid = |reason: &str| SqsError::invalid_parameter("RedrivePolicy", value, reason);
    let json: serde_json::Value = serde_json::from_str(value)
        .map_err(|_| invalid("Redrive policy is not a valid JSON map."))?;
    let arn = json
        .get("deadLetterTargetArn")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            invalid("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
        })?;
    let count = match json.get("maxReceiveCount") {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => {
            return Err(invalid(
                "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
            ));
        }
    };
    match count {
        Some(count @ 1..=1000) => Ok(Some(RedrivePolicy {
            dead_letter_target_arn: arn.to_string(),
            max_receive_count: count as u32,
        })),
        other => Err(invalid(&format!(
            "Invalid value for maxReceiveCount: {}, valid values are from 1 to 1000 both inclusive.",
            other.map_or_else(|| "?".to_string(), |c| c.to_string())
        ))),
    }
}

fn render_redrive_policy(policy: &RedrivePolicy) -> String {
    serde_json::json!({
        "deadLetterTargetArn": policy.dead_letter_target_arn,
        "maxReceiveCount": policy.max_receive_count,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_render_like_aws() {
        let rendered = QueueConfig::new(false).render();
        assert_eq!(rendered["VisibilityTimeout"], "30");
        assert_eq!(rendered["MessageRetentionPeriod"], "345600");
        assert_eq!(rendered["MaximumMessageSize"], "1048576");
        assert!(!rendered.contains_key("FifoQueue"));
    }

    #[test]
    fn ranges_are_enforced_and_nothing_changes_on_error() {
        let mut config = QueueConfig::new(false);
        let err = config
            .apply(
                &map(&[("DelaySeconds", "5"), ("VisibilityTimeout", "43201")]),
                true,
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidAttributeValue);
        assert_eq!(
            err.message,
            "Invalid value for the parameter VisibilityTimeout."
        );
        assert_eq!(config.delay_seconds, 0);
        assert!(
            config
                .apply(&map(&[("MessageRetentionPeriod", "59")]), true)
                .is_err()
        );
        assert!(
            config
                .apply(&map(&[("MaximumMessageSize", "1023")]), true)
                .is_err()
        );
        config
            .apply(&map(&[("DelaySeconds", "900")]), true)
            .unwrap();
        assert_eq!(config.delay_seconds, 900);
    }

    #[test]
    fn fifo_only_attributes_on_standard_queues() {
        let mut config = QueueConfig::new(false);
        assert_eq!(
            config
                .apply(&map(&[("ContentBasedDeduplication", "true")]), true)
                .unwrap_err()
                .message,
            "Unknown Attribute ContentBasedDeduplication."
        );
        assert_eq!(
            config
                .apply(&map(&[("DeduplicationScope", "queue")]), true)
                .unwrap_err()
                .message,
            "You can specify the DeduplicationScope only when FifoQueue is set to true."
        );
        assert_eq!(
            config
                .apply(&map(&[("FifoQueue", "true")]), false)
                .unwrap_err()
                .message,
            "Unknown Attribute FifoQueue."
        );
        assert!(config.apply(&map(&[("Bogus", "1")]), true).is_err());
    }

    #[test]
    fn high_throughput_fifo_is_per_group_deduplication_and_throughput_together() {
        let mut config = QueueConfig::new(true);
        let err = config
            .apply(&map(&[("FifoThroughputLimit", "perMessageGroupId")]), true)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidAttributeValue);
        assert_eq!(
            err.message,
            "Invalid value for the parameter FifoThroughputLimit."
        );
        assert_eq!(config.fifo_throughput_limit, "perQueue", "nothing changed");
        config
            .apply(
                &map(&[
                    ("DeduplicationScope", "messageGroup"),
                    ("FifoThroughputLimit", "perMessageGroupId"),
                ]),
                false,
            )
            .unwrap();
        // Going back to queue-wide deduplication needs the throughput limit back too.
        assert!(
            config
                .apply(&map(&[("DeduplicationScope", "queue")]), false)
                .is_err()
        );
        config
            .apply(&map(&[("FifoThroughputLimit", "perQueue")]), false)
            .unwrap();
        config
            .apply(&map(&[("DeduplicationScope", "queue")]), false)
            .unwrap();
        // messageGroup deduplication with a per-queue limit is a valid (normal throughput) pair.
        config
            .apply(&map(&[("DeduplicationScope", "messageGroup")]), false)
            .unwrap();
    }

    #[test]
    fn one_request_may_not_ask_for_both_encryptions() {
        let mut config = QueueConfig::new(false);
        let err = config
            .apply(
                &map(&[
                    ("KmsMasterKeyId", "alias/aws/sqs"),
                    ("SqsManagedSseEnabled", "true"),
                ]),
                true,
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidAttributeValue);
    }

    #[test]
    fn a_kms_key_brings_its_reuse_period_and_turns_sqs_managed_encryption_off() {
        let mut config = QueueConfig::new(false);
        config
            .apply(&map(&[("KmsMasterKeyId", "alias/aws/sqs")]), false)
            .unwrap();
        let rendered = config.render();
        assert_eq!(rendered["KmsDataKeyReusePeriodSeconds"], "300");
        assert_eq!(rendered["SqsManagedSseEnabled"], "false");
        config
            .apply(&map(&[("KmsDataKeyReusePeriodSeconds", "600")]), false)
            .unwrap();
        assert_eq!(config.render()["KmsDataKeyReusePeriodSeconds"], "600");
        config
            .apply(&map(&[("SqsManagedSseEnabled", "True")]), false)
            .unwrap();
        let rendered = config.render();
        assert_eq!(rendered["SqsManagedSseEnabled"], "true");
        assert!(!rendered.contains_key("KmsMasterKeyId"));
        assert!(!rendered.contains_key("KmsDataKeyReusePeriodSeconds"));
    }

    #[test]
    fn a_fifo_queue_keeps_its_type_and_booleans_ignore_case() {
        let mut config = QueueConfig::new(true);
        config.apply(&map(&[("FifoQueue", "TRUE")]), false).unwrap();
        config
            .apply(&map(&[("ContentBasedDeduplication", "True")]), false)
            .unwrap();
        assert_eq!(config.render()["ContentBasedDeduplication"], "true");
        let refused = config
            .apply(&map(&[("FifoQueue", "false")]), false)
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::InvalidAttributeValue);
        assert_eq!(
            refused.message,
            "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."
        );
        assert!(QueueConfig::fifo_from_create("a.fifo", &map(&[("FifoQueue", "True")])).unwrap());
    }

    #[test]
    fn fifo_name_and_attribute_must_agree() {
        assert!(QueueConfig::fifo_from_create("a.fifo", &map(&[("FifoQueue", "true")])).unwrap());
        assert!(QueueConfig::fifo_from_create("a", &map(&[("FifoQueue", "true")])).is_err());
        assert!(QueueConfig::fifo_from_create("a.fifo", &map(&[])).is_err());
        assert_eq!(
            QueueConfig::fifo_from_create("a", &map(&[("FifoQueue", "false")]))
                .unwrap_err()
                .message,
            "Unknown Attribute FifoQueue."
        );
    }

    #[test]
    fn redrive_policy_parses_numbers_or_strings() {
        let mut config = QueueConfig::new(false);
        config
            .apply(&map(&[("RedrivePolicy", r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"5"}"#)]), true)
            .unwrap();
        assert_eq!(config.redrive_policy.as_ref().unwrap().max_receive_count, 5);
        assert_eq!(
            config.render()["RedrivePolicy"],
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":5}"#
        );
        assert!(
            config
                .apply(
                    &map(&[(
                        "RedrivePolicy",
                        r#"{"deadLetterTargetArn":"x","maxReceiveCount":0}"#
                    )]),
                    true
                )
                .is_err()
        );
        assert!(
            config
                .apply(&map(&[("RedrivePolicy", "nope")]), true)
                .is_err()
        );
        config.apply(&map(&[("RedrivePolicy", "")]), false).unwrap();
        assert!(config.redrive_policy.is_none());
    }

    #[test]
    fn first_difference_names_the_attribute() {
        let mut config = QueueConfig::new(false);
        config.apply(&map(&[("DelaySeconds", "5")]), true).unwrap();
        assert_eq!(
            config
                .first_difference(&map(&[("DelaySeconds", "5")]))
                .unwrap(),
            None
        );
        assert_eq!(
            config
                .first_difference(&map(&[("DelaySeconds", "6")]))
                .unwrap()
                .as_deref(),
            Some("DelaySeconds")
        );
        assert_eq!(config.first_difference(&map(&[])).unwrap(), None);
    }
}
