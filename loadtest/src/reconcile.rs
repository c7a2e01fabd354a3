//! The reconciliation after a run (`reconciliation` in the JSON summary): every message the
//! queue and poison scenarios sent, accounted for — its order applied once, applied twice or
//! more, dead-lettered, not completed yet (still queued), or lost (neither applied nor
//! dead-lettered, and the queue holds nothing any more). Lost or doubled work fails the run.
//!
//! How many times an order was applied is not in the service's API, so this reads the orders
//! table (`processed_count`) at `DATABASE_URL`, as `service/tests/faults.rs` does — the one
//! place the load tester looks behind the service's public interface. The rest is the SQS
//! API: the DLQ searched for the orders that did not finish, the queue's depth.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::checks;
use crate::verdict::Verdict;

/// Every message sent, accounted for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Messages sent: orders and poison.
    pub sent: u64,
    /// Orders applied exactly once (completed once, or failed by the rules).
    pub applied_once: u64,
    /// Orders applied twice or more: doubled work.
    pub applied_twice: u64,
    /// Messages not finished while the queue still holds some: late, not lost.
    pub not_completed: u64,
    /// Messages in the dead-letter queue (the poison ones, and orders that ran out of tries).
    pub dead_lettered: u64,
    /// Messages neither applied nor dead-lettered, with the queue empty: lost work.
    pub lost: u64,
}

impl Reconciliation {
    /// Nothing lost, nothing doubled.
    pub fn clean(&self) -> bool {
        self.lost == 0 && self.applied_twice == 0
    }

    /// Adds another generator's (`loadtest merge`).
    pub fn add(&mut self, other: &Self) {
        self.sent += other.sent;
        self.applied_once += other.applied_once;
        self.applied_twice += other.applied_twice;
        self.not_completed += other.not_completed;
        self.dead_lettered += other.dead_lettered;
        self.lost += other.lost;
    }

    /// The verdict it adds to the run's.
    pub fn verdict(&self) -> Verdict {
        Verdict {
            rule: "check: no message lost, none applied twice".into(),
            observed: format!(
                "{} sent: {} applied once, {} twice or more, {} dead-lettered, {} not completed, {} lost",
                self.sent,
                self.applied_once,
                self.applied_twice,
                self.dead_lettered,
                self.not_completed,
                self.lost
            ),
            passed: self.clean(),
        }
    }
}

/// How one order ended, from the orders table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied exactly once.
    Once,
    /// Applied twice or more.
    Twice,
    /// Not applied (no row, or not finished).
    Not,
}

impl Applied {
    /// From a row's `status` and `processed_count`.
    pub fn of(status: &str, processed_count: i32) -> Self {
        match (status, processed_count) {
            (_, n) if n >= 2 => Self::Twice,
            ("completed", 1) | ("failed", 0 | 1) => Self::Once,
            _ => Self::Not,
        }
    }
}

/// What a run's accounting starts from.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The queue scenario's orders.
    pub orders: Vec<Uuid>,
    /// Poison messages sent, and how many of them reached the DLQ.
    pub poison: (u64, u64),
}

/// How each order ended, by id, from the orders table at `database_url`.
pub async fn applied(
    database_url: &str,
    orders: &[Uuid],
) -> Result<BTreeMap<Uuid, Applied>, sqlx::Error> {
    use sqlx::Connection as _;
    let mut connection = sqlx::PgConnection::connect(database_url).await?;
    let mut ended = BTreeMap::new();
    for chunk in orders.chunks(10_000) {
        let rows: Vec<(Uuid, String, i32)> =
            sqlx::query_as("SELECT id, status, processed_count FROM orders WHERE id = ANY($1)")
                .bind(chunk)
                .fetch_all(&mut connection)
                .await?;
        for (id, status, count) in rows {
            ended.insert(id, Applied::of(&status, count));
        }
    }
    let _ = connection.close().await;
    Ok(ended)
}

/// The reconciliation of `sent`, given how the orders ended, the unfinished orders found in
/// the DLQ, and how many messages the queue still holds.
pub fn account(
    sent: &Sent,
    ended: &BTreeMap<Uuid, Applied>,
    orders_dead_lettered: u64,
    queue_left: u64,
) -> Reconciliation {
    let mut once = 0;
    let mut twice = 0;
    for id in &sent.orders {
        match ended.get(id) {
            Some(Applied::Once) => once += 1,
            Some(Applied::Twice) => twice += 1,
            _ => {}
        }
    }
    let (poison_sent, poison_found) = sent.poison;
    let total = sent.orders.len() as u64 + poison_sent;
    let dead_lettered = poison_found + orders_dead_lettered;
    let unfinished = total.saturating_sub(once + twice + dead_lettered);
    let (not_completed, lost) = if queue_left > 0 {
        (unfinished, 0)
    } else {
        (0, unfinished)
    };
    Reconciliation {
        sent: total,
        applied_once: once,
        applied_twice: twice,
        not_completed,
        dead_lettered,
        lost,
    }
}

/// The whole reconciliation against a live system: the orders table, the DLQ (for orders
/// that did not finish; found ones are left there), the queue's depth.
pub async fn reconcile(
    database_url: &str,
    sqs: Option<(&aws_sdk_sqs::Client, &str, Option<&str>)>,
    sent: &Sent,
) -> Result<Reconciliation, sqlx::Error> {
    let ended = applied(database_url, &sent.orders).await?;
    let unfinished: HashSet<String> = sent
        .orders
        .iter()
        .filter(|id| !matches!(ended.get(id), Some(Applied::Once | Applied::Twice)))
        .map(Uuid::to_string)
        .collect();
    let (mut orders_dead_lettered, mut queue_left) = (0, 0);
    if let Some((client, queue_url, dlq)) = sqs {
        if let (Some(dlq), false) = (dlq, unfinished.is_empty()) {
            let looked_for = unfinished.len() as u64;
            let missing = checks::search_dlq(
                client,
                dlq,
                unfinished,
                order_id,
                Duration::from_secs(3),
                true,
            )
            .await;
            orders_dead_lettered = looked_for - missing.len() as u64;
        }
        // Unknown depth counts as "still queued": never call work lost without knowing.
        queue_left = checks::messages_left(client, queue_url).await.unwrap_or(1);
    }
    Ok(account(sent, &ended, orders_dead_lettered, queue_left))
}

/// The order id of an `order.submitted` body.
fn order_id(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value["order"]["id"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(orders: usize, poison: (u64, u64)) -> (Sent, Vec<Uuid>) {
        let ids: Vec<Uuid> = (0..orders).map(|_| Uuid::new_v4()).collect();
        (
            Sent {
                orders: ids.clone(),
                poison,
            },
            ids,
        )
    }

    #[test]
    fn a_clean_run_accounts_for_every_message() {
        let (sent, ids) = sent(3, (2, 2));
        let ended = ids.iter().map(|id| (*id, Applied::Once)).collect();
        let r = account(&sent, &ended, 0, 0);
        assert_eq!(
            r,
            Reconciliation {
                sent: 5,
                applied_once: 3,
                dead_lettered: 2,
                ..Reconciliation::default()
            }
        );
        assert!(r.clean() && r.verdict().passed);
    }

    #[test]
    fn doubled_and_lost_work_fail_the_run() {
        let (sent, ids) = sent(4, (1, 0));
        let ended = BTreeMap::from([(ids[0], Applied::Once), (ids[1], Applied::Twice)]);
        // ids[2] is in the DLQ; ids[3] and the poison message are gone with the queue empty.
        let r = account(&sent, &ended, 1, 0);
        assert_eq!((r.applied_twice, r.dead_lettered, r.lost), (1, 1, 2));
        assert!(!r.clean());
        assert!(r.verdict().observed.contains("2 lost"), "{:?}", r.verdict());
        // With messages still queued, the same is late, not lost; the doubling still fails.
        let r = account(&sent, &ended, 1, 5);
        assert_eq!((r.not_completed, r.lost), (2, 0));
        assert!(!r.clean());
    }

    #[test]
    fn an_order_row_says_how_often_it_was_applied() {
        assert_eq!(Applied::of("completed", 1), Applied::Once);
        assert_eq!(Applied::of("failed", 0), Applied::Once);
        assert_eq!(Applied::of("completed", 2), Applied::Twice);
        assert_eq!(Applied::of("processing", 0), Applied::Not);
        assert_eq!(Applied::of("pending", 0), Applied::Not);
        assert_eq!(
            order_id(r#"{"type":"order.submitted","order":{"id":"abc"}}"#).as_deref(),
            Some("abc")
        );
    }
}
