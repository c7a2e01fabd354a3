//! A message as the core stores it, its attributes, and the MD5 digests SDKs verify.
//!
//! `MD5OfMessageAttributes` follows AWS's documented encoding: attributes sorted by name; for
//! each, the name, the data type and the value, every field prefixed by its length as a 4-byte
//! big-endian integer, with a transport byte between type and value (1 for String and Number,
//! 2 for Binary).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::{ErrorKind, Result, SqsError};
use super::limits::MAX_MESSAGE_ATTRIBUTES;

/// One message attribute: a data type (`String`, `Number`, `Binary`, optionally with a custom
/// suffix such as `String.json`) and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeValue {
    /// The data type, as sent.
    pub data_type: String,
    /// The value: text for String and Number types, bytes for Binary types.
    pub value: AttributeData,
}

/// The value of an attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeData {
    /// String or Number.
    Text(String),
    /// Binary.
    Bytes(Vec<u8>),
}

/// Message attributes by name, sorted (as the MD5 needs).
pub type Attributes = BTreeMap<String, AttributeValue>;

/// The base type of a data type (`String.json` → `String`).
pub fn base_type(data_type: &str) -> &str {
    data_type.split('.').next().unwrap_or(data_type)
}

impl AttributeValue {
    /// A `String` attribute.
    pub fn string(value: impl Into<String>) -> Self {
        Self {
            data_type: "String".into(),
            value: AttributeData::Text(value.into()),
        }
    }

    /// Bytes counted against the message size: type plus value.
    fn size(&self) -> usize {
        self.data_type.len()
            + match &self.value {
                AttributeData::Text(s) => s.len(),
                AttributeData::Bytes(b) => b.len(),
            }
    }
}

/// Checks user message attributes: at most 10, known base types, non-empty values, numbers
/// that parse. Returns the bytes they count towards the message size.
pub fn validate_attributes(attributes: &Attributes) -> Result<usize> {
    if attributes.len() > MAX_MESSAGE_ATTRIBUTES {
        return Err(SqsError::new(
            ErrorKind::InvalidParameterValue,
            format!(
                "Number of message attributes [{}] exceeds the allowed maximum [{MAX_MESSAGE_ATTRIBUTES}].",
                attributes.len()
            ),
        ));
    }
    let mut size = 0;
    for (name, attribute) in attributes {
        validate_attribute_name(name)?;
        let base = base_type(&attribute.data_type);
        let non_empty = match (&attribute.value, base) {
            (AttributeData::Text(s), "String" | "Number") => !s.is_empty(),
            (AttributeData::Bytes(b), "Binary") => !b.is_empty(),
            (_, "String" | "Number" | "Binary") => false,
            _ => {
                return Err(SqsError::new(
                    ErrorKind::InvalidParameterValue,
                    format!(
                        "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
                    ),
                ));
            }
        };
        if !non_empty {
            return Err(SqsError::new(
                ErrorKind::InvalidParameterValue,
                format!(
                    "Message (user) attribute '{name}' must contain a non-empty value of type '{base}'."
                ),
            ));
        }
        // String and Number values obey the body's character rules (XML 1.0's characters).
        if let AttributeData::Text(text) = &attribute.value {
            super::limits::validate_body_chars(text)?;
        }
        if let (AttributeData::Text(s), "Number") = (&attribute.value, base)
            && s.trim().parse::<f64>().is_err()
        {
            return Err(SqsError::new(
                ErrorKind::InvalidParameterValue,
                format!("Can't cast the value of message (user) attribute '{name}' to a number."),
            ));
        }
        size += name.len() + attribute.size();
    }
    Ok(size)
}

fn validate_attribute_name(name: &str) -> Result<()> {
    let lower = name.to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.chars().count() <= 256
        && name
            .chars()
            // Letters with diacritics (Latin-1 Supplement and Latin Extended-A) are accepted
            // by SQS, though its documentation names only ASCII.
            .all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{C0}'..='\u{17F}')
            })
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.");
    if valid {
        Ok(())
    } else {
        Err(SqsError::new(
            ErrorKind::InvalidParameterValue,
            format!("Message (user) attribute name '{name}' is invalid."),
        ))
    }
}

/// MD5 of a body, as lowercase hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// `MD5OfMessageAttributes` (or `MD5OfMessageSystemAttributes`) of a set of attributes;
/// `None` when there are none.
pub fn attributes_md5(attributes: &Attributes) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    fn length_prefixed(hasher: &mut Md5, bytes: &[u8]) {
        hasher.update(u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
        hasher.update(bytes);
    }
    let mut hasher = Md5::new();
    for (name, attribute) in attributes {
        length_prefixed(&mut hasher, name.as_bytes());
        length_prefixed(&mut hasher, attribute.data_type.as_bytes());
        match &attribute.value {
            AttributeData::Text(s) => {
                hasher.update([1u8]);
                length_prefixed(&mut hasher, s.as_bytes());
            }
            AttributeData::Bytes(b) => {
                hasher.update([2u8]);
                length_prefixed(&mut hasher, b);
            }
        }
    }
    Some(hex::encode(hasher.finalize()))
}

/// An MD5 digest, kept as 16 bytes and shown as lowercase hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Md5Digest(pub [u8; 16]);

impl Md5Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Md5::digest(bytes).into())
    }
}

impl std::fmt::Display for Md5Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The attribute set of every message sent without attributes, shared so that such messages
/// allocate nothing for it.
pub fn no_attributes() -> Arc<Attributes> {
    static EMPTY: LazyLock<Arc<Attributes>> = LazyLock::new(|| Arc::new(Attributes::new()));
    EMPTY.clone()
}

/// A stored message.
///
/// Kept small, because a queue may hold millions: the id and the body digest are inline bytes,
/// messages without attributes share one empty set, and the fields most messages lack (FIFO
/// deduplication and sequence, trace header, dead-letter source) sit behind one optional box.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    /// The message id.
    pub id: Uuid,
    /// The body.
    pub body: Arc<str>,
    /// MD5 of the body.
    pub body_md5: Md5Digest,
    /// User attributes.
    pub attributes: Arc<Attributes>,
    /// The account that sent it (for `SenderId`), shared by the queue's messages.
    pub sender_id: Arc<str>,
    /// FIFO (or fair-queue) group.
    pub group_id: Option<Arc<str>>,
    /// When it was first sent, ms since epoch (kept across dead-letter moves).
    pub sent_at: u64,
    /// When it was first received, ms since epoch.
    pub first_received_at: Option<u64>,
    /// How many times it was received.
    pub receive_count: u32,
    extra: Option<Box<MessageExtra>>,
}

/// The fields few messages have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct MessageExtra {
    trace_header: Option<Arc<str>>,
    dedup_id: Option<Arc<str>>,
    sequence_number: Option<u128>,
    dead_letter_source_arn: Option<Arc<str>>,
}

impl Message {
    /// A message sent now, not yet received.
    pub fn new(
        body: Arc<str>,
        attributes: Arc<Attributes>,
        sender_id: Arc<str>,
        sent_at: u64,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            body_md5: Md5Digest::of(body.as_bytes()),
            body,
            attributes,
            sender_id,
            group_id: None,
            sent_at,
            first_received_at: None,
            receive_count: 0,
            extra: None,
        }
    }

    fn extra_mut(&mut self) -> &mut MessageExtra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Drops the box when every rare field is empty again.
    fn tidy(&mut self) {
        if self.extra.as_deref() == Some(&MessageExtra::default()) {
            self.extra = None;
        }
    }

    /// The `AWSTraceHeader` system attribute, if sent.
    pub fn trace_header(&self) -> Option<&str> {
        self.extra.as_ref()?.trace_header.as_deref()
    }

    /// Sets the `AWSTraceHeader` system attribute.
    pub fn set_trace_header(&mut self, value: Option<Arc<str>>) {
        self.extra_mut().trace_header = value;
        self.tidy();
    }

    /// FIFO deduplication id.
    pub fn dedup_id(&self) -> Option<&str> {
        self.extra.as_ref()?.dedup_id.as_deref()
    }

    /// Sets the FIFO deduplication id.
    pub fn set_dedup_id(&mut self, value: Option<Arc<str>>) {
        self.extra_mut().dedup_id = value;
        self.tidy();
    }

    /// FIFO sequence number.
    pub fn sequence_number(&self) -> Option<u128> {
        self.extra.as_ref()?.sequence_number
    }

    /// Sets the FIFO sequence number.
    pub fn set_sequence_number(&mut self, value: Option<u128>) {
        self.extra_mut().sequence_number = value;
        self.tidy();
    }

    /// The ARN of the queue it was dead-lettered from.
    pub fn dead_letter_source_arn(&self) -> Option<&str> {
        self.extra.as_ref()?.dead_letter_source_arn.as_deref()
    }

    /// Sets the ARN of the queue it was dead-lettered from.
    pub fn set_dead_letter_source_arn(&mut self, value: Option<Arc<str>>) {
        self.extra_mut().dead_letter_source_arn = value;
        self.tidy();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_md5_is_hex_of_utf8_bytes() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(
            Md5Digest::of(b"hello").to_string(),
            "5d41402abc4b2a76b9719d911017c592"
        );
    }

    #[test]
    fn attribute_names_and_values_follow_sqs_characters() {
        let one = |name: &str, value: &str| {
            let mut attributes = Attributes::new();
            attributes.insert(name.into(), AttributeValue::string(value));
            validate_attributes(&attributes)
        };
        assert!(one("Größe", "ok").is_ok(), "Latin letters with diacritics");
        assert!(one("a.b-c_d", "tab\tand newline\n").is_ok());
        for bad in ["a b", ".a", "a.", "a..b", "AWS.x", "amazon.x", "日本"] {
            assert!(one(bad, "v").is_err(), "{bad}");
        }
        let control = one("name", "bell \u{7}").unwrap_err();
        assert_eq!(control.kind, ErrorKind::InvalidMessageContents);
        assert!(control.message.starts_with("Invalid characters found."));
    }

    #[test]
    fn rare_fields_take_no_room_until_set_and_give_it_back() {
        let mut message = Message::new(Arc::from("b"), no_attributes(), Arc::from("1"), 0);
        assert!(message.extra.is_none());
        message.set_sequence_number(Some(7));
        message.set_dead_letter_source_arn(Some(Arc::from("arn")));
        assert_eq!(message.sequence_number(), Some(7));
        assert_eq!(message.dead_letter_source_arn(), Some("arn"));
        message.set_sequence_number(None);
        message.set_dead_letter_source_arn(None);
        assert!(message.extra.is_none());
        // The record stays small: a million of them must fit the memory budget.
        assert!(std::mem::size_of::<Message>() <= 128);
    }

    #[test]
    fn attribute_md5_matches_aws_reference() {
        // Reference value computed by botocore's own MD5 check for this attribute set.
        let mut attributes = Attributes::new();
        attributes.insert("attr1".into(), AttributeValue::string("value1"));
        attributes.insert(
            "bin".into(),
            AttributeValue {
                data_type: "Binary".into(),
                value: AttributeData::Bytes(b"\x00\x01".to_vec()),
            },
        );
        let expected = {
            let mut h = Md5::new();
            for part in [&b"attr1"[..], b"String"] {
                h.update((part.len() as u32).to_be_bytes());
                h.update(part);
            }
            h.update([1u8]);
            h.update(6u32.to_be_bytes());
            h.update(b"value1");
            for part in [&b"bin"[..], b"Binary"] {
                h.update((part.len() as u32).to_be_bytes());
                h.update(part);
            }
            h.update([2u8]);
            h.update(2u32.to_be_bytes());
            h.update([0u8, 1]);
            hex::encode(h.finalize())
        };
        assert_eq!(attributes_md5(&attributes).unwrap(), expected);
        assert_eq!(attributes_md5(&Attributes::new()), None);
    }

    #[test]
    fn attribute_validation_uses_aws_messages() {
        let mut attributes = Attributes::new();
        attributes.insert("ErrorDetails".into(), AttributeValue::string(""));
        assert_eq!(
            validate_attributes(&attributes).unwrap_err().message,
            "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'."
        );
        let mut attributes = Attributes::new();
        attributes.insert(
            "n".into(),
            AttributeValue {
                data_type: "Number".into(),
                value: AttributeData::Text("abc".into()),
            },
        );
        assert!(validate_attributes(&attributes).is_err());
        let mut attributes = Attributes::new();
        attributes.insert(
            "x".into(),
            AttributeValue {
                data_type: "Float".into(),
                value: AttributeData::Text("1".into()),
            },
        );
        assert!(validate_attributes(&attributes).is_err());
        let many: Attributes = (0..11)
            .map(|i| (format!("a{i}"), AttributeValue::string("v")))
            .collect();
        assert!(
            validate_attributes(&many)
                .unwrap_err()
                .message
                .contains("[11]")
        );
        let mut ok = Attributes::new();
        ok.insert(
            "price".into(),
            AttributeValue {
                data_type: "Number.cents".into(),
                value: AttributeData::Text("12.5".into()),
            },
        );
        assert_eq!(
            validate_attributes(&ok).unwrap(),
            "price".len() + "Number.cents".len() + 4
        );
    }
}
