//! The Query API's JSON form, for a Query request whose `Accept` asks for
//! `application/json`: the XML document's structure written as JSON.
//!
//! A success is `{"<Action>Response": {"<Action>Result": {…}, "ResponseMetadata":
//! {"RequestId": …}}}`; the result's members keep the JSON protocol's names, and its maps are
//! written as the XML writes them, lists of entries (`"Attributes": [{"Name": …, "Value": …}]`,
//! `"Tags": [{"Key": …, "Value": …}]`). An error is `{"Error": {"Type", "Code", "Message"},
//! "RequestId"}`.

use serde_json::{Map, Value, json};

use super::NO_RESULT;

/// The content type of JSON responses.
pub const CONTENT_TYPE: &str = "application/json";

/// The JSON of a successful `action`, from the JSON protocol's response.
pub(super) fn success(action: &str, value: Value, request_id: &str) -> Vec<u8> {
    let mut response = Map::new();
    if !NO_RESULT.contains(&action) {
        let result = match value {
            Value::Object(fields) => Value::Object(entries(fields)),
            _ => Value::Object(Map::new()),
        };
        response.insert(format!("{action}Result"), result);
    }
    response.insert(
        "ResponseMetadata".into(),
        json!({ "RequestId": request_id }),
    );
    let document = json!({ format!("{action}Response"): Value::Object(response) });
    document.to_string().into_bytes()
}

/// The JSON of an error.
pub(super) fn error(fault: &str, code: &str, message: &str, request_id: &str) -> Vec<u8> {
    json!({
        "Error": { "Type": fault, "Code": code, "Message": message },
        "RequestId": request_id,
    })
    .to_string()
    .into_bytes()
}

/// `fields` with its maps (and those of the objects and lists under it) as lists of entries.
fn entries(fields: Map<String, Value>) -> Map<String, Value> {
    fields
        .into_iter()
        .map(|(key, value)| {
            let value = match (key.as_str(), value) {
                ("Attributes" | "MessageAttributes", Value::Object(map)) => as_entries(map, "Name"),
                ("Tags", Value::Object(map)) => as_entries(map, "Key"),
                (_, Value::Object(inner)) => Value::Object(entries(inner)),
                (_, Value::Array(items)) => Value::Array(
                    items
                        .into_iter()
                        .map(|item| match item {
                            Value::Object(inner) => Value::Object(entries(inner)),
                            other => other,
                        })
                        .collect(),
                ),
                (_, other) => other,
            };
            (key, value)
        })
        .collect()
}

fn as_entries(map: Map<String, Value>, key_name: &str) -> Value {
    Value::Array(
        map.into_iter()
            .map(|(key, value)| json!({ key_name: key, "Value": value }))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn results_keep_their_members_and_write_maps_as_entries() {
        let attributes = json!({"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:0:q"}});
        assert_eq!(
            parse(&success("GetQueueAttributes", attributes, "r-1")),
            json!({"GetQueueAttributesResponse": {
                "GetQueueAttributesResult": {
                    "Attributes": [{"Name": "QueueArn", "Value": "arn:aws:sqs:us-east-1:0:q"}]
                },
                "ResponseMetadata": {"RequestId": "r-1"}
            }})
        );
        let receive = json!({"Messages": [{
            "Body": "b",
            "MessageAttributes": {"colour": {"DataType": "String", "StringValue": "blue"}}
        }]});
        let document = parse(&success("ReceiveMessage", receive, "r"));
        assert_eq!(
            document["ReceiveMessageResponse"]["ReceiveMessageResult"]["Messages"][0]["MessageAttributes"],
            json!([{"Name": "colour", "Value": {"DataType": "String", "StringValue": "blue"}}])
        );
        let tags = parse(&success(
            "ListQueueTags",
            json!({"Tags": {"team": "a"}}),
            "r",
        ));
        assert_eq!(
            tags["ListQueueTagsResponse"]["ListQueueTagsResult"]["Tags"],
            json!([{"Key": "team", "Value": "a"}])
        );
    }

    #[test]
    fn actions_without_a_result_have_only_metadata() {
        assert_eq!(
            parse(&success("DeleteQueue", json!({}), "r")),
            json!({"DeleteQueueResponse": {"ResponseMetadata": {"RequestId": "r"}}})
        );
        let empty = parse(&success("ReceiveMessage", json!({}), "r"));
        assert_eq!(
            empty["ReceiveMessageResponse"]["ReceiveMessageResult"],
            json!({})
        );
    }

    #[test]
    fn errors_name_code_type_and_message() {
        assert_eq!(
            parse(&error("Sender", "InvalidAction", "no", "r")),
            json!({"Error": {"Type": "Sender", "Code": "InvalidAction", "Message": "no"},
                   "RequestId": "r"})
        );
    }
}
