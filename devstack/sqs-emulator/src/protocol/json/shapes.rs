//! The JSON protocol's request and response shapes, and their conversion to core types.
//! Field names are SQS's (PascalCase). Unknown fields are ignored, as newer SDKs send more.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize};

use crate::core::{
    AttributeData, AttributeValue, Attributes, ErrorKind, NewMessage, Result, SqsError,
};

/// A list that may come as `null` (read as empty, so an empty batch is `EmptyBatchRequest`,
/// not a malformed request).
pub fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// An integer that SDKs may send as a number or a string.
pub fn lenient_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        Float(f64),
        Text(String),
    }
    match Option::<IntOrString>::deserialize(deserializer)? {
        None => Ok(None),
        Some(IntOrString::Int(i)) => Ok(Some(i)),
        Some(IntOrString::Float(f)) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(Some(f as i64)),
        Some(IntOrString::Float(f)) => {
            Err(serde::de::Error::custom(format!("{f} is not an integer")))
        }
        Some(IntOrString::Text(s)) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// A message attribute on the wire.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireAttribute {
    /// `String`, `Number`, `Binary`, with an optional custom suffix.
    #[serde(default)]
    pub data_type: Option<String>,
    /// The value of String and Number types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// The value of Binary types, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
    /// Reserved by SQS; refused when non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_list_values: Option<Vec<String>>,
    /// Reserved by SQS; refused when non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_list_values: Option<Vec<String>>,
}

/// Converts wire attributes to core attributes.
pub fn to_core_attributes(wire: Option<BTreeMap<String, WireAttribute>>) -> Result<Attributes> {
    let mut out = Attributes::new();
    for (name, attribute) in wire.unwrap_or_default() {
        let Some(data_type) = attribute.data_type.filter(|t| !t.is_empty()) else {
            return Err(SqsError::new(
                ErrorKind::InvalidParameterValue,
                format!(
                    "The message attribute '{name}' must contain non-empty message attribute type."
                ),
            ));
        };
        if attribute.string_list_values.is_some_and(|v| !v.is_empty())
            || attribute.binary_list_values.is_some_and(|v| !v.is_empty())
        {
            return Err(SqsError::new(
                ErrorKind::UnsupportedOperation,
                format!(
                    "Message attribute list values in SendMessage operation are not supported for attribute '{name}'."
                ),
            ));
        }
        let value = if crate::core::message::base_type(&data_type) == "Binary" {
            let bytes = match attribute.binary_value {
                Some(b64) => BASE64.decode(b64.as_bytes()).map_err(|_| {
                    SqsError::new(
                        ErrorKind::InvalidParameterValue,
                        format!("The message attribute '{name}' has an invalid base64 value."),
                    )
                })?,
                None => Vec::new(),
            };
            AttributeData::Bytes(bytes)
        } else {
            AttributeData::Text(attribute.string_value.unwrap_or_default())
        };
        out.insert(name, AttributeValue { data_type, value });
    }
    Ok(out)
}

/// Converts core attributes to wire attributes.
pub fn to_wire_attributes(attributes: &Attributes) -> BTreeMap<String, WireAttribute> {
    attributes
        .iter()
        .map(|(name, a)| {
            let mut wire = WireAttribute {
                data_type: Some(a.data_type.clone()),
                ..WireAttribute::default()
            };
            match &a.value {
                AttributeData::Text(s) => wire.string_value = Some(s.clone()),
                AttributeData::Bytes(b) => wire.binary_value = Some(BASE64.encode(b)),
            }
            (name.clone(), wire)
        })
        .collect()
}

/// The fields of a message to send, shared by SendMessage and SendMessageBatch entries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireNewMessage {
    /// Body.
    pub message_body: Option<String>,
    /// Per-message delay.
    #[serde(default, deserialize_with = "lenient_int")]
    pub delay_seconds: Option<i64>,
    /// User attributes.
    pub message_attributes: Option<BTreeMap<String, WireAttribute>>,
    /// System attributes (`AWSTraceHeader`).
    pub message_system_attributes: Option<BTreeMap<String, WireAttribute>>,
    /// FIFO dedup id.
    pub message_deduplication_id: Option<String>,
    /// FIFO group id.
    pub message_group_id: Option<String>,
}

impl WireNewMessage {
    /// Converts to the core's new message, checking what only the wire can get wrong.
    pub fn into_core(self) -> Result<NewMessage> {
        let body = self
            .message_body
            .ok_or_else(|| SqsError::missing_parameter("MessageBody"))?;
        let delay_seconds = self
            .delay_seconds
            .map(crate::core::limits::validate_delay_seconds)
            .transpose()?;
        let mut trace_header = None;
        for (name, attribute) in self.message_system_attributes.unwrap_or_default() {
            if name != "AWSTraceHeader" {
                return Err(SqsError::new(
                    ErrorKind::InvalidParameterValue,
                    format!("Message system attribute name '{name}' is invalid."),
                ));
            }
            trace_header = attribute.string_value.filter(|v| !v.is_empty());
            if trace_header.is_none() {
                return Err(SqsError::new(
                    ErrorKind::InvalidParameterValue,
                    "Message system attribute 'AWSTraceHeader' must contain a non-empty value of type 'String'.",
                ));
            }
        }
        Ok(NewMessage {
            body,
            attributes: to_core_attributes(self.message_attributes)?,
            trace_header,
            delay_seconds,
            group_id: self.message_group_id,
            dedup_id: self.message_deduplication_id,
        })
    }
}

/// A failed batch entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchFailure {
    /// The entry id.
    pub id: String,
    /// Whether the caller is at fault.
    pub sender_fault: bool,
    /// The error code (the query code, as SQS sends in batch results).
    pub code: String,
    /// The message.
    pub message: String,
}

impl BatchFailure {
    /// A failure entry for `id` from a core error.
    pub fn from_error(id: String, error: &SqsError) -> Self {
        Self {
            id,
            sender_fault: true,
            code: crate::protocol::errors::codes(error.kind)
                .query_code
                .to_string(),
            message: error.message.clone(),
        }
    }
}

/// A successful batch entry with only an id.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchSuccess {
    /// The entry id.
    pub id: String,
}

/// Results of DeleteMessageBatch and ChangeMessageVisibilityBatch.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResult<T: Serialize> {
    /// Entries that succeeded.
    pub successful: Vec<T>,
    /// Entries that failed.
    pub failed: Vec<BatchFailure>,
}

/// An empty response body (`{}`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Empty {}
