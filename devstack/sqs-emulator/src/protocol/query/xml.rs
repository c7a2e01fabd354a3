//! The JSON protocol's response → SQS's XML (`QueueUrls` → repeated `<QueueUrl>`,
//! `Attributes` → `<Attribute><Name/><Value/></Attribute>`, `Successful` →
//! `<…ResultEntry>`…), and errors as `<ErrorResponse>`.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::NO_RESULT;

/// The XML namespace of SQS responses.
pub const NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";
/// The content type of XML responses.
pub const CONTENT_TYPE: &str = "text/xml";

/// The XML of an error.
pub(super) fn error(fault: &str, code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{fault}</Type><Code>{}</Code><Message>{}</Message><Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        escape(code),
        escape(message)
    )
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

/// The XML of a successful `action`, from the JSON protocol's response.
pub(super) fn success(action: &str, value: &Value, request_id: &str) -> String {
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

    #[test]
    fn json_responses_become_sqs_xml() {
        let receive = serde_json::json!({"Messages": [{
            "MessageId": "m-1", "ReceiptHandle": "r&1", "MD5OfBody": "abc", "Body": "a <b>\r\n",
            "Attributes": {"SentTimestamp": "1"},
            "MessageAttributes": {"colour": {"DataType": "String", "StringValue": "blue"}}
        }]});
        let xml = success("ReceiveMessage", &receive, "req-1");
        assert!(xml.starts_with("<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><ReceiveMessageResult><Message>"));
        assert!(xml.contains("<ReceiptHandle>r&amp;1</ReceiptHandle>"));
        assert!(xml.contains("<Body>a &lt;b&gt;&#xD;\n</Body>"));
        assert!(xml.contains("<Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>"));
        assert!(xml.contains("<MessageAttribute><Name>colour</Name><Value><DataType>String</DataType><StringValue>blue</StringValue></Value></MessageAttribute>"));
        assert!(xml.ends_with("<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ReceiveMessageResponse>"));

        let batch = serde_json::json!({"Successful": [{"Id": "a", "MessageId": "m"}],
            "Failed": [{"Id": "b", "Code": "InvalidParameterValue", "Message": "no", "SenderFault": true}]});
        let xml = success("SendMessageBatch", &batch, "r");
        assert!(xml.contains("<SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId></SendMessageBatchResultEntry>"));
        assert!(xml.contains("<BatchResultErrorEntry><Code>InvalidParameterValue</Code><Id>b</Id><Message>no</Message><SenderFault>true</SenderFault></BatchResultErrorEntry>"));

        let list = success(
            "ListQueues",
            &serde_json::json!({"QueueUrls": ["u1", "u2"]}),
            "r",
        );
        assert!(list.contains(
            "<ListQueuesResult><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl></ListQueuesResult>"
        ));
        let empty = success("DeleteQueue", &serde_json::json!({}), "r");
        assert!(!empty.contains("DeleteQueueResult"));
        let nothing = success("ReceiveMessage", &serde_json::json!({}), "r");
        assert!(nothing.contains("<ReceiveMessageResult/>"));
    }
}
