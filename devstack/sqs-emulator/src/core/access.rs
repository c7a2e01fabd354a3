//! Tags and permissions of a queue: TagQueue, UntagQueue, ListQueueTags, AddPermission and
//! RemovePermission, the permissions rendered into the queue's `Policy` attribute as AWS
//! writes it.

use std::collections::BTreeMap;

use super::error::{ErrorKind, Result, SqsError};
use super::{Permission, Queue, QueueInner, Sqs, limits};

impl Sqs {
    /// Adds or replaces tags.
    pub fn tag_queue(&self, queue: &Queue, tags: &BTreeMap<String, String>) -> Result<()> {
        let mut inner = queue.inner.lock();
        let mut next = inner.tags.clone();
        next.extend(tags.clone());
        if next.len() > limits::MAX_TAGS {
            return Err(SqsError::new(
                ErrorKind::OverLimit,
                format!("Too many tags added for queue {}.", queue.name),
            ));
        }
        inner.tags = next;
        self.record_queue(queue, &inner);
        Ok(())
    }

    /// Removes tags by key.
    pub fn untag_queue(&self, queue: &Queue, keys: &[String]) {
        let mut inner = queue.inner.lock();
        for key in keys {
            inner.tags.remove(key);
        }
        self.record_queue(queue, &inner);
    }

    /// The queue's tags.
    pub fn list_tags(&self, queue: &Queue) -> BTreeMap<String, String> {
        queue.inner.lock().tags.clone()
    }

    /// Grants `actions` to `accounts` under `label`, reflected in the `Policy` attribute.
    pub fn add_permission(
        &self,
        queue: &Queue,
        label: &str,
        accounts: &[String],
        actions: &[String],
    ) -> Result<()> {
        if label.is_empty()
            || label.len() > 80
            || !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SqsError::invalid_parameter(
                "Label",
                label,
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.",
            ));
        }
        if accounts.is_empty() {
            return Err(SqsError::missing_parameter("AWSAccountIds"));
        }
        if actions.is_empty() {
            return Err(SqsError::missing_parameter("Actions"));
        }
        let mut inner = queue.inner.lock();
        if inner.permissions.contains_key(label) {
            return Err(SqsError::invalid_parameter(
                "Label",
                label,
                "Already exists.",
            ));
        }
        inner.permissions.insert(
            label.to_string(),
            Permission {
                accounts: accounts.to_vec(),
                actions: actions.to_vec(),
            },
        );
        render_policy(&queue.arn, &mut inner);
        self.record_queue(queue, &inner);
        Ok(())
    }

    /// Revokes the permission under `label`.
    pub fn remove_permission(&self, queue: &Queue, label: &str) -> Result<()> {
        let mut inner = queue.inner.lock();
        if inner.permissions.remove(label).is_none() {
            return Err(SqsError::invalid_parameter(
                "Label",
                label,
                "can't find label.",
            ));
        }
        render_policy(&queue.arn, &mut inner);
        self.record_queue(queue, &inner);
        Ok(())
    }
}

fn render_policy(arn: &str, inner: &mut QueueInner) {
    if inner.permissions.is_empty() {
        inner.config.passthrough.remove("Policy");
        return;
    }
    // As AWS writes it: one principal or action is a string, several an array.
    let one_or_many = |items: Vec<String>| match <[String; 1]>::try_from(items) {
        Ok([one]) => serde_json::Value::from(one),
        Err(many) => serde_json::Value::from(many),
    };
    let statements: Vec<serde_json::Value> = inner
        .permissions
        .iter()
        .map(|(label, p)| {
            let principals = p.accounts.iter().map(|a| format!("arn:aws:iam::{a}:root"));
            let actions = p.actions.iter().map(|a| format!("SQS:{a}"));
            serde_json::json!({
                "Sid": label,
                "Effect": "Allow",
                "Principal": {"AWS": one_or_many(principals.collect())},
                "Action": one_or_many(actions.collect()),
                "Resource": arn,
            })
        })
        .collect();
    let policy = serde_json::json!({"Version": "2012-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": statements});
    inner
        .config
        .passthrough
        .insert("Policy".into(), policy.to_string());
}
