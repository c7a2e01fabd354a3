//! Query parameters → the JSON protocol's request: the flattened names
//! (`Attribute.1.Name`, `SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType`…)
//! are read into a tree and written out as the JSON members the actions take.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Query parameters that are lists of scalars: the flattened name → the JSON member.
const SCALAR_LISTS: [(&str, &str); 6] = [
    ("AttributeName", "AttributeNames"),
    ("MessageAttributeName", "MessageAttributeNames"),
    ("MessageSystemAttributeName", "MessageSystemAttributeNames"),
    ("TagKey", "TagKeys"),
    ("AWSAccountId", "AWSAccountIds"),
    ("ActionName", "Actions"),
];

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

pub(super) fn to_json_request(action: &str, params: &[(String, String)]) -> Map<String, Value> {
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
}
