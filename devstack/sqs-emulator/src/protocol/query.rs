//! The Query protocol, spoken by older SDKs (Java v1, Go v1, botocore before its JSON switch):
//! form-encoded `Action=…` parameters in a POST body or a GET query string, XML responses,
//! errors as `<ErrorResponse>`.
//!
//! It is a translation, not a second implementation: the flattened parameters
//! (`Attribute.1.Name`, `SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType`…)
//! become the JSON protocol's request, the action runs through `json::run_action`, and the
//! JSON response becomes SQS's XML (`QueueUrls` → repeated `<QueueUrl>`, `Attributes` →
//! `<Attribute><Name/><Value/></Attribute>`, `Successful` → `<…ResultEntry>`…). Every
//! action of the JSON protocol is therefore served here with the same semantics and errors.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::WireResponse;
use super::context::RequestContext;
use super::errors::codes;
use super::json::{self, Call};
use crate::core::{ErrorKind, Sqs, SqsError};

/// The XML namespace of SQS responses.
pub const NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";
/// The content type of XML responses.
pub const CONTENT_TYPE: &str = "text/xml";

/// Actions whose responses have no `<…Result>` element.
const NO_RESULT: [&str; 9] = [
    "DeleteQueue",
    "SetQueueAttributes",
    "PurgeQueue",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "TagQueue",
    "UntagQueue",
    "AddPermission",
    "RemovePermission",
];

/// Query parameters that are lists of scalars: the flattened name → the JSON member.
const SCALAR_LISTS: [(&str, &str); 6] = [
    ("AttributeName", "AttributeNames"),
    ("MessageAttributeName", "MessageAttributeNames"),
    ("MessageSystemAttributeName", "MessageSystemAttributeNames"),
    ("TagKey", "TagKeys"),
    ("AWSAccountId", "AWSAccountIds"),
    ("ActionName", "Actions"),
];

/// Whether a request speaks the Query protocol: an `Action` among its parameters.
pub fn is_query(params: &[(String, String)]) -> bool {
    params.iter().any(|(key, _)| key == "Action")
}

/// Reads form parameters from a body or a query string; malformed encoding is an error.
pub fn parse_params(bytes: &[u8]) -> Result<Vec<(String, String)>, SqsError> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        SqsError::new(
            ErrorKind::MalformedRequest,
            format!("Malformed form parameters: {e}"),
        )
    })
}

/// Handles one Query-protocol request. `path` is the request path: old SDKs post to the queue
/// URL itself instead of passing `QueueUrl`.
pub async fn handle(
    sqs: &Arc<Sqs>,
    context: &RequestContext,
    path: &str,
    params: Vec<(String, String)>,
) -> WireResponse {
    let request_id = uuid::Uuid::new_v4().to_string();
    let action = params
        .iter()
        .find(|(key, _)| key == "Action")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let mut request = to_json_request(&action, &params);
    if !request.contains_key("QueueUrl") && path.trim_matches('/').contains('/') {
        request.insert(
            "QueueUrl".into(),
            Value::String(format!("{}{}", context.base_url, path)),
        );
    }
    let call = Call { sqs, context };
    let result = match serde_json::to_vec(&Value::Object(request)) {
        Ok(body) => json::run_action(&call, &action, &body).await,
        Err(e) => Err(SqsError::new(ErrorKind::MalformedRequest, e.to_string())),
    };
    let response = result.and_then(|body| {
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| SqsError::new(ErrorKind::MalformedRequest, e.to_string()))
    });
    match response {
        Ok(value) => WireResponse {
            status: 200,
            content_type: CONTENT_TYPE,
            query_error: None,
            body: success_xml(&action, &value, &request_id).into_bytes(),
        },
        Err(error) => error_response(&error, &request_id),
    }
}

/// The wire form of an error: `<ErrorResponse>` with the Query error code.
pub fn error_response(error: &SqsError, request_id: &str) -> WireResponse {
    let wire = codes(error.kind);
    // The Query protocol words this one as SQS's first API did.
    let message = match error.kind {
        ErrorKind::QueueDoesNotExist => "The specified queue does not exist for this wsdl version.",
        _ => error.message.as_str(),
    };
    let body = format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message><Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        wire.fault.as_str(),
        escape(wire.query_code),
        escape(message)
    );
    WireResponse {
        status: wire.status,
        content_type: CONTENT_TYPE,
        query_error: None,
        body: body.into_bytes(),
    }
}

/// A tree of flattened parameters: `a.1.b=x` → `{a: {1: {b: x}}}`.
#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &[&str], value: &str) {
        match path.split_first() {
            None => self.value = Some(value.to_owned()),
            Some((first, rest)) => self
                .children
                .entry((*first).to_owned())
                .or_default()
                .insert(rest, value),
        }
    }

    /// Children keyed by list index (`1`, `2`…), in index order.
    fn indexed(&self) -> Vec<&Node> {
        let mut items: Vec<(u64, &Node)> = self
            .children
            .iter()
            .filter_map(|(key, node)| key.parse::<u64>().ok().map(|i| (i, node)))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, node)| node).collect()
    }

    fn text(&self, key: &str) -> Option<String> {
        self.children.get(key).and_then(|n| n.value.clone())
    }

    fn leaf_or_object(&self) -> Value {
        match &self.value {
            Some(value) if self.children.is_empty() => Value::String(value.clone()),
            _ => Value::Object(object_of(self, false)),
        }
    }
}

fn to_json_request(action: &str, params: &[(String, String)]) -> Map<String, Value> {
    let mut root = Node::default();
    for (key, value) in params {
        let path: Vec<&str> = key.split('.').collect();
        root.insert(&path, value);
    }
    for ignored in [
        "Action",
        "Version",
        "AWSAccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "Timestamp",
        "Expires",
        "SecurityToken",
    ] {
        root.children.remove(ignored);
    }
    object_of(&root, action == "CreateQueue")
}

/// The JSON object of one level of parameters. `create_queue` names the tags `tags`, as the
/// JSON protocol's CreateQueue does.
fn object_of(node: &Node, create_queue: bool) -> Map<String, Value> {
    let mut object = Map::new();
    for (key, child) in &node.children {
        if let Some((_, member)) = SCALAR_LISTS.iter().find(|(name, _)| name == key) {
            let items = child
                .indexed()
                .into_iter()
                .filter_map(|n| n.value.clone().map(Value::String))
                .collect();
            object.insert((*member).to_owned(), Value::Array(items));
        } else if key == "Attribute" {
            object.insert("Attributes".into(), pairs(child, "Name", "Value"));
        } else if key == "Tag" {
            let member = if create_queue { "tags" } else { "Tags" };
            object.insert(member.into(), pairs(child, "Key", "Value"));
        } else if key == "MessageAttribute" || key == "MessageSystemAttribute" {
            let mut map = Map::new();
            for item in child.indexed() {
                if let (Some(name), Some(value)) = (item.text("Name"), item.children.get("Value")) {
                    map.insert(name, Value::Object(object_of(value, false)));
                }
            }
            object.insert(format!("{key}s"), Value::Object(map));
        } else if key.ends_with("RequestEntry") {
            let entries = child
                .indexed()
                .into_iter()
                .map(|entry| Value::Object(object_of(entry, false)))
                .collect();
            object.insert("Entries".into(), Value::Array(entries));
        } else {
            object.insert(key.clone(), child.leaf_or_object());
        }
    }
    object
}

fn pairs(list: &Node, key: &str, value: &str) -> Value {
    let mut map = Map::new();
    for item in list.indexed() {
        if let Some(name) = item.text(key) {
            map.insert(name, Value::String(item.text(value).unwrap_or_default()));
        }
    }
    Value::Object(map)
}

/// Escapes text for XML; `\r` as a character reference, so parsers do not fold it.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            other => out.push(other),
        }
    }
    out
}

fn success_xml(action: &str, value: &Value, request_id: &str) -> String {
    let mut out = format!("<?xml version=\"1.0\"?><{action}Response xmlns=\"{NAMESPACE}\">");
    if !NO_RESULT.contains(&action) {
        // Always present for actions with a result, even an empty one (a receive that got
        // nothing): SDKs look for it.
        let mut fields_xml = String::new();
        if let Value::Object(fields) = value {
            write_fields(&mut fields_xml, action, fields);
        }
        if fields_xml.is_empty() {
            let _ = write!(out, "<{action}Result/>");
        } else {
            let _ = write!(out, "<{action}Result>{fields_xml}</{action}Result>");
        }
    }
    let _ = write!(
        out,
        "<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    );
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => escape(s),
        Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

fn element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{text}</{name}>");
}

fn write_fields(out: &mut String, action: &str, fields: &Map<String, Value>) {
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("QueueUrls" | "queueUrls", Value::Array(urls)) => {
                for url in urls {
                    element(out, "QueueUrl", &scalar(url));
                }
            }
            ("Attributes", Value::Object(map)) => {
                for (name, value) in map {
                    let _ = write!(
                        out,
                        "<Attribute><Name>{}</Name><Value>{}</Value></Attribute>",
                        escape(name),
                        scalar(value)
                    );
                }
            }
            ("Tags", Value::Object(map)) => {
                for (name, value) in map {
                    let _ = write!(
                        out,
                        "<Tag><Key>{}</Key><Value>{}</Value></Tag>",
                        escape(name),
                        scalar(value)
                    );
                }
            }
            ("MessageAttributes", Value::Object(map)) => {
                for (name, value) in map {
                    let _ = write!(
                        out,
                        "<MessageAttribute><Name>{}</Name><Value>",
                        escape(name)
                    );
                    if let Value::Object(inner) = value {
                        write_fields(out, action, inner);
                    }
                    out.push_str("</Value></MessageAttribute>");
                }
            }
            (_, Value::Array(items)) => {
                let name = match key.as_str() {
                    "Messages" => "Message".to_owned(),
                    "Successful" => format!("{action}ResultEntry"),
                    "Failed" => "BatchResultErrorEntry".to_owned(),
                    "Results" => format!("{action}ResultEntry"),
                    other => other.trim_end_matches('s').to_owned(),
                };
                for item in items {
                    let _ = write!(out, "<{name}>");
                    match item {
                        Value::Object(inner) => write_fields(out, action, inner),
                        other => out.push_str(&scalar(other)),
                    }
                    let _ = write!(out, "</{name}>");
                }
            }
            (_, Value::Object(inner)) => {
                let _ = write!(out, "<{key}>");
                write_fields(out, action, inner);
                let _ = write!(out, "</{key}>");
            }
            (_, scalar_value) => element(out, key, &scalar(scalar_value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn flattened_parameters_become_the_json_request() {
        let request = to_json_request(
            "SendMessageBatch",
            &params(&[
                ("Action", "SendMessageBatch"),
                ("Version", "2012-11-05"),
                ("QueueUrl", "http://h/000000000000/q"),
                ("SendMessageBatchRequestEntry.2.Id", "b"),
                ("SendMessageBatchRequestEntry.2.MessageBody", "second"),
                ("SendMessageBatchRequestEntry.1.Id", "a"),
                ("SendMessageBatchRequestEntry.1.MessageBody", "first"),
                ("SendMessageBatchRequestEntry.1.DelaySeconds", "5"),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                    "colour",
                ),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                    "String",
                ),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue",
                    "blue",
                ),
            ]),
        );
        let expected = serde_json::json!({
            "QueueUrl": "http://h/000000000000/q",
            "Entries": [
                {"Id": "a", "MessageBody": "first", "DelaySeconds": "5",
                 "MessageAttributes": {"colour": {"DataType": "String", "StringValue": "blue"}}},
                {"Id": "b", "MessageBody": "second"}
            ]
        });
        assert_eq!(Value::Object(request), expected);
    }

    #[test]
    fn attributes_tags_and_name_lists_become_maps_and_arrays() {
        let create = to_json_request(
            "CreateQueue",
            &params(&[
                ("QueueName", "q"),
                ("Attribute.1.Name", "VisibilityTimeout"),
                ("Attribute.1.Value", "40"),
                ("Attribute.2.Name", "DelaySeconds"),
                ("Attribute.2.Value", "1"),
                ("Tag.1.Key", "team"),
                ("Tag.1.Value", "orders"),
            ]),
        );
        assert_eq!(
            Value::Object(create),
            serde_json::json!({"QueueName": "q",
                "Attributes": {"VisibilityTimeout": "40", "DelaySeconds": "1"},
                "tags": {"team": "orders"}})
        );
        let receive = to_json_request(
            "ReceiveMessage",
            &params(&[
                ("AttributeName.1", "All"),
                ("MessageAttributeName.1", "colour"),
                ("MessageAttributeName.2", "size"),
                ("MaxNumberOfMessages", "10"),
            ]),
        );
        assert_eq!(
            Value::Object(receive),
            serde_json::json!({"AttributeNames": ["All"],
                "MessageAttributeNames": ["colour", "size"], "MaxNumberOfMessages": "10"})
        );
        let tag = to_json_request(
            "TagQueue",
            &params(&[("Tag.1.Key", "k"), ("Tag.1.Value", "v")]),
        );
        assert_eq!(Value::Object(tag), serde_json::json!({"Tags": {"k": "v"}}));
    }

    #[test]
    fn json_responses_become_sqs_xml() {
        let receive = serde_json::json!({"Messages": [{
            "MessageId": "m-1", "ReceiptHandle": "r&1", "MD5OfBody": "abc", "Body": "a <b>\r\n",
            "Attributes": {"SentTimestamp": "1"},
            "MessageAttributes": {"colour": {"DataType": "String", "StringValue": "blue"}}
        }]});
        let xml = success_xml("ReceiveMessage", &receive, "req-1");
        assert!(xml.starts_with("<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><ReceiveMessageResult><Message>"));
        assert!(xml.contains("<ReceiptHandle>r&amp;1</ReceiptHandle>"));
        assert!(xml.contains("<Body>a &lt;b&gt;&#xD;\n</Body>"));
        assert!(xml.contains("<Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>"));
        assert!(xml.contains("<MessageAttribute><Name>colour</Name><Value><DataType>String</DataType><StringValue>blue</StringValue></Value></MessageAttribute>"));
        assert!(xml.ends_with("<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ReceiveMessageResponse>"));

        let batch = serde_json::json!({"Successful": [{"Id": "a", "MessageId": "m"}],
            "Failed": [{"Id": "b", "Code": "InvalidParameterValue", "Message": "no", "SenderFault": true}]});
        let xml = success_xml("SendMessageBatch", &batch, "r");
        assert!(xml.contains("<SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId></SendMessageBatchResultEntry>"));
        assert!(xml.contains("<BatchResultErrorEntry><Code>InvalidParameterValue</Code><Id>b</Id><Message>no</Message><SenderFault>true</SenderFault></BatchResultErrorEntry>"));

        let list = success_xml(
            "ListQueues",
            &serde_json::json!({"QueueUrls": ["u1", "u2"]}),
            "r",
        );
        assert!(list.contains(
            "<ListQueuesResult><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl></ListQueuesResult>"
        ));
        let empty = success_xml("DeleteQueue", &serde_json::json!({}), "r");
        assert!(!empty.contains("DeleteQueueResult"));
        let nothing = success_xml("ReceiveMessage", &serde_json::json!({}), "r");
        assert!(nothing.contains("<ReceiveMessageResult/>"));
    }

    #[test]
    fn errors_are_error_responses_with_the_query_code() {
        let error = SqsError::new(
            ErrorKind::QueueDoesNotExist,
            "The specified queue does not exist.",
        );
        let wire = error_response(&error, "req-9");
        let body = String::from_utf8(wire.body).unwrap();
        assert_eq!(wire.status, 400);
        assert!(
            body.contains("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"),
            "{body}"
        );
        assert!(body.contains("<Type>Sender</Type>"));
        assert!(body.contains("<RequestId>req-9</RequestId>"));
    }

    #[test]
    fn form_parameters_decode_and_bad_encoding_is_an_error() {
        let parsed = parse_params(b"Action=SendMessage&MessageBody=a+b%26c").unwrap();
        assert!(is_query(&parsed));
        assert_eq!(parsed[1], ("MessageBody".into(), "a b&c".into()));
        assert!(!is_query(&parse_params(b"").unwrap()));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_forms_never_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            keys in proptest::collection::vec("[A-Za-z0-9.]{0,24}", 0..12),
            values in proptest::collection::vec(".{0,12}", 0..12),
        ) {
            let _ = parse_params(&bytes);
            let form: Vec<(String, String)> = keys.into_iter().zip(values).collect();
            let request = to_json_request("SendMessageBatch", &form);
            let xml = success_xml("SendMessageBatch", &Value::Object(request), "r");
            proptest::prop_assert!(xml.ends_with("</SendMessageBatchResponse>"));
        }
    }
}
