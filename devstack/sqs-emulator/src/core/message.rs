//! A message as the core stores it, its attributes, and the MD5 digests SDKs verify.
//!
//! `MD5OfMessageAttributes` follows AWS's documented encoding: attributes sorted by name; for
//! each, the name, the data type and the value, every field prefixed by its length as a 4-byte
//! big-endian integer, with a transport byte between type and value (1 for String and Number,
//! 2 for Binary).

use std::collections::BTreeMap;
use std::sync::Arc;

use md5::{Digest, Md5};

use super::error::{ErrorKind, Result, SqsError};
use super::limits::MAX_MESSAGE_ATTRIBUTES;

/// One message attribute: a data type (`String`, `Number`, `Binary`, optionally with a custom
/// suffix such as `String.json`) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeValue {
    /// The data type, as sent.
    pub data_type: String,
    /// The value: text for String and Number types, bytes for Binary types.
    pub value: AttributeData,
}

/// The value of an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
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

/// A stored message.
#[derive(Debug, Clone)]
pub struct Message {
    /// The message id (a UUID).
    pub id: Arc<str>,
    /// The body.
    pub body: Arc<str>,
    /// MD5 of the body, hex.
    pub body_md5: Arc<str>,
    /// User attributes.
    pub attributes: Arc<Attributes>,
    /// The `AWSTraceHeader` system attribute, if sent.
    pub trace_header: Option<Arc<str>>,
    /// When it was first sent, ms since epoch (kept across dead-letter moves).
    pub sent_at: u64,
    /// How many times it was received.
    pub receive_count: u32,
    /// When it was first received, ms since epoch.
    pub first_received_at: Option<u64>,
    /// FIFO (or fair-queue) group.
    pub group_id: Option<Arc<str>>,
    /// FIFO deduplication id.
    pub dedup_id: Option<Arc<str>>,
    /// FIFO sequence number.
    pub sequence_number: Option<u128>,
    /// The ARN of the queue it was dead-lettered from.
    pub dead_letter_source_arn: Option<Arc<str>>,
    /// The account that sent it (for `SenderId`).
    pub sender_id: Arc<str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_md5_is_hex_of_utf8_bytes() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
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
