//! Processing queue messages (the worker's use case): exactly one completion per order,
//! however often its message is delivered.
//!
//! A receive batch is processed as a batch ([`OrderService::process_batch`]): the bodies are
//! decoded and planned (a bad one is a permanent failure of its own; an order named twice is
//! completed once), one repository call completes every order of the batch atomically, then
//! one cache invalidation and one publish announce the changes. With simulated work each
//! order takes its own path through `processing` (the work, not the statements, is what
//! such a batch waits for).

use std::collections::HashSet;

use futures::future::join_all;

use super::messages::{Envelope, SubmittedOrder};
use super::order::{NewOrder, Order, OrderId, OrderStatus};
use super::service::{OrderService, now};
use crate::ports::{BatchCompletion, Inserted, PortError, StatusChange};

/// How a message's processing ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// The order was completed now.
    Completed(OrderId),
    /// The order was already terminal: a redelivery, nothing applied.
    AlreadyDone(OrderId),
}

impl Processed {
    /// The order the message was about.
    pub fn order_id(&self) -> OrderId {
        match self {
            Self::Completed(id) | Self::AlreadyDone(id) => *id,
        }
    }
}

/// Why a message could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// Retrying cannot help (bad message, unknown order): dead-letter it now.
    #[error("{0}")]
    Permanent(String),
    /// A dependency failed: retry later.
    #[error(transparent)]
    Transient(#[from] PortError),
}

/// One message's outcome.
pub type Outcome = Result<Processed, ProcessError>;

/// A submitted order's draft, checked: the order to store, or why it is poison.
fn accept(submitted: SubmittedOrder) -> Result<Order, ProcessError> {
    let draft = serde_json::Value::Object(submitted.draft);
    let new = NewOrder::parse(&draft).map_err(|errors| {
        let fields: Vec<String> = errors
            .0
            .iter()
            .map(|e| format!("{} {}", e.field, e.message))
            .collect();
        ProcessError::Permanent(format!("invalid submitted order: {}", fields.join("; ")))
    })?;
    Ok(new.into_order(OrderId(submitted.id), now()))
}

/// A batch, decoded: what each message is about, and the distinct orders to complete.
#[derive(Default)]
struct Plan {
    steps: Vec<Result<OrderId, ProcessError>>,
    created: Vec<OrderId>,
    submitted: Vec<Order>,
}

impl Plan {
    fn new(bodies: &[&str]) -> Self {
        let mut plan = Self::default();
        let mut seen = HashSet::new();
        for body in bodies {
            let step = match Envelope::decode(body).map_err(ProcessError::Permanent) {
                Err(poison) => Err(poison),
                Ok(Envelope::OrderCreated { order_id }) => {
                    if seen.insert(order_id) {
                        plan.created.push(order_id);
                    }
                    Ok(order_id)
                }
                Ok(Envelope::OrderSubmitted { order }) => accept(order).map(|order| {
                    let id = order.id;
                    if seen.insert(id) {
                        plan.submitted.push(order);
                    } else if let Some(at) = plan.created.iter().position(|c| *c == id) {
                        // Named by an order.created first: the submitted form can store it.
                        plan.created.swap_remove(at);
                        plan.submitted.push(order);
                    }
                    id
                }),
            };
            plan.steps.push(step);
        }
        plan
    }

    /// Each message's outcome: an order completed now is `Completed` for its first message
    /// only, so that a duplicate in the batch counts as the redelivery it is.
    fn outcomes(self, done: &BatchCompletion) -> Vec<Outcome> {
        let mut reported = HashSet::new();
        self.steps
            .into_iter()
            .map(|step| {
                let id = step?;
                if done.unknown.contains(&id) {
                    Err(ProcessError::Permanent(format!("unknown order {id}")))
                } else if done.completed.contains(&id) && reported.insert(id) {
                    Ok(Processed::Completed(id))
                } else {
                    Ok(Processed::AlreadyDone(id))
                }
            })
            .collect()
    }
}

impl OrderService {
    /// Processes a receive batch: one outcome per body, in order. `Err` means the batch's
    /// one statement failed and nothing of it was applied: the caller may process the
    /// messages one by one ([`process`](Self::process)), so that a fault of one order stays
    /// with its message.
    pub async fn process_batch(&self, bodies: &[&str]) -> Result<Vec<Outcome>, PortError> {
        if !self.work.is_zero() {
            return Ok(join_all(bodies.iter().map(|body| self.process(body))).await);
        }
        let plan = Plan::new(bodies);
        let done = self
            .repo
            .complete_batch(&plan.created, &plan.submitted)
            .await?;
        let mut changes: Vec<StatusChange> = done
            .completed
            .iter()
            .map(|id| StatusChange {
                id: *id,
                status: OrderStatus::Completed,
            })
            .collect();
        changes.sort_by_key(|c| c.id.0);
        self.announce(&changes).await;
        Ok(plan.outcomes(&done))
    }

    /// Processes one queue message.
    pub async fn process(&self, body: &str) -> Outcome {
        match Envelope::decode(body).map_err(ProcessError::Permanent)? {
            Envelope::OrderCreated { order_id } => self.process_order(order_id).await,
            Envelope::OrderSubmitted { order } => {
                let order = accept(order)?;
                let id = order.id;
                if self.repo.insert(&order).await? == Inserted::Created {
                    tracing::debug!(%id, "order submitted through the queue");
                }
                self.process_order(id).await
            }
        }
    }

    async fn process_order(&self, id: OrderId) -> Outcome {
        if self.work.is_zero() {
            // No work to wait for: `processing` would last no time at all, so one conditional
            // UPDATE takes the order straight to `completed` (one statement, not two).
            if self.repo.complete(id).await? {
                self.announce_one(id, OrderStatus::Completed).await;
                return Ok(Processed::Completed(id));
            }
            return match self.repo.get(id).await? {
                None => Err(ProcessError::Permanent(format!("unknown order {id}"))),
                Some(_) => Ok(Processed::AlreadyDone(id)),
            };
        }
        let status = match self.repo.start_processing(id).await? {
            None => return Err(ProcessError::Permanent(format!("unknown order {id}"))),
            Some(status) if status.is_terminal() => return Ok(Processed::AlreadyDone(id)),
            Some(status) => status,
        };
        if status == OrderStatus::Processing {
            self.announce_one(id, OrderStatus::Processing).await;
        }
        tokio::time::sleep(self.work).await;
        if self.repo.complete(id).await? {
            self.announce_one(id, OrderStatus::Completed).await;
            Ok(Processed::Completed(id))
        } else {
            Ok(Processed::AlreadyDone(id))
        }
    }

    /// Marks an order failed (its message is being dead-lettered); unknown ids are ignored.
    pub async fn fail(&self, id: OrderId, reason: &str) -> Result<(), PortError> {
        if self.repo.fail(id, reason).await? {
            self.announce_one(id, OrderStatus::Failed).await;
        }
        Ok(())
    }

    async fn announce_one(&self, id: OrderId, status: OrderStatus) {
        self.announce(&[StatusChange { id, status }]).await;
    }

    /// Invalidates the cache, then tells every replica: in that order, so that a replica
    /// that has heard of a change never reads the old entry after. Both are best effort: the
    /// status is already in the store of record.
    async fn announce(&self, changes: &[StatusChange]) {
        if changes.is_empty() {
            return;
        }
        let ids: Vec<OrderId> = changes.iter().map(|c| c.id).collect();
        if let Err(error) = self.cache.invalidate(&ids).await {
            tracing::warn!(%error, count = ids.len(), "cache invalidation failed");
        }
        if let Err(error) = self.feed.publish(changes).await {
            tracing::warn!(%error, count = ids.len(), "status publish failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::adapters::memory::Memory;

    fn draft() -> serde_json::Value {
        json!({"customer_id": "c-42", "items": [{"sku": "A-1", "quantity": 2, "unit_price_cents": 1250}]})
    }

    fn submitted(id: uuid::Uuid) -> String {
        json!({"type": "order.submitted", "order": {"id": id, "customer_id": "c", "items": [{"sku": "A", "quantity": 1, "unit_price_cents": 5}]}}).to_string()
    }

    #[tokio::test]
    async fn processing_completes_once_however_often_the_message_comes() {
        let memory = Memory::default();
        let service = memory.service();
        let (order, _) = service.create(&draft(), None).await.unwrap();
        let body = Envelope::OrderCreated { order_id: order.id }.encode();
        let mut feed = service.feed().subscribe();
        assert_eq!(
            service.process(&body).await.unwrap(),
            Processed::Completed(order.id)
        );
        assert_eq!(
            service.process(&body).await.unwrap(),
            Processed::AlreadyDone(order.id)
        );
        assert_eq!(memory.processed_count(order.id), 1);
        assert_eq!(
            service.get(order.id).await.unwrap().0.status,
            OrderStatus::Completed,
            "cache invalidated"
        );
        assert_eq!(
            feed.recv().await.unwrap().status,
            OrderStatus::Completed,
            "no work: straight to completed"
        );
    }

    #[tokio::test]
    async fn with_work_the_order_is_processing_meanwhile() {
        let memory = Memory::default();
        let service = memory.service_with_work(Duration::from_millis(5));
        let (order, _) = service.create(&draft(), None).await.unwrap();
        let mut feed = service.feed().subscribe();
        let body = Envelope::OrderCreated { order_id: order.id }.encode();
        assert_eq!(
            service.process(&body).await.unwrap(),
            Processed::Completed(order.id)
        );
        assert_eq!(feed.recv().await.unwrap().status, OrderStatus::Processing);
        assert_eq!(feed.recv().await.unwrap().status, OrderStatus::Completed);
        assert_eq!(
            service.process(&body).await.unwrap(),
            Processed::AlreadyDone(order.id)
        );
        assert_eq!(memory.processed_count(order.id), 1);
    }

    #[tokio::test]
    async fn bad_messages_are_permanent_failures_and_outages_transient() {
        let memory = Memory::default();
        let service = memory.service();
        assert!(
            matches!(service.process("garbage").await, Err(ProcessError::Permanent(m)) if m.contains("undecodable"))
        );
        let unknown = Envelope::OrderCreated {
            order_id: OrderId::new(),
        }
        .encode();
        assert!(
            matches!(service.process(&unknown).await, Err(ProcessError::Permanent(m)) if m.contains("unknown order"))
        );
        memory.set_repo_down(true);
        assert!(matches!(
            service.process(&unknown).await,
            Err(ProcessError::Transient(_))
        ));
    }

    #[tokio::test]
    async fn submitted_orders_are_created_and_processed_once() {
        let memory = Memory::default();
        let service = memory.service();
        let id = uuid::Uuid::new_v4();
        let body = json!({"type": "order.submitted", "order": {"id": id, "customer_id": "c", "items": [{"sku": "A", "quantity": 1, "unit_price_cents": 5}]}}).to_string();
        assert_eq!(
            service.process(&body).await.unwrap(),
            Processed::Completed(OrderId(id))
        );
        assert_eq!(
            service.process(&body).await.unwrap(),
            Processed::AlreadyDone(OrderId(id))
        );
        assert_eq!(memory.processed_count(OrderId(id)), 1);
        let invalid =
            json!({"type": "order.submitted", "order": {"id": id, "customer_id": "", "items": []}})
                .to_string();
        assert!(matches!(
            service.process(&invalid).await,
            Err(ProcessError::Permanent(_))
        ));
    }

    #[tokio::test]
    async fn a_batch_completes_each_order_once_and_settles_each_message() {
        let memory = Memory::default();
        let service = memory.service();
        let (a, _) = service.create(&draft(), None).await.unwrap();
        let created_a = Envelope::OrderCreated { order_id: a.id }.encode();
        let unknown = Envelope::OrderCreated {
            order_id: OrderId::new(),
        }
        .encode();
        let s = uuid::Uuid::new_v4();
        let submitted_s = submitted(s);
        let bodies = [
            created_a.as_str(),
            submitted_s.as_str(),
            "garbage",
            unknown.as_str(),
            created_a.as_str(),
            submitted_s.as_str(),
        ];
        let mut feed = service.feed().subscribe();
        let outcomes = service.process_batch(&bodies).await.unwrap();
        assert_eq!(outcomes[0], Ok(Processed::Completed(a.id)));
        assert_eq!(outcomes[1], Ok(Processed::Completed(OrderId(s))));
        assert!(
            matches!(&outcomes[2], Err(ProcessError::Permanent(m)) if m.contains("undecodable"))
        );
        assert!(
            matches!(&outcomes[3], Err(ProcessError::Permanent(m)) if m.contains("unknown order"))
        );
        assert_eq!(
            outcomes[4],
            Ok(Processed::AlreadyDone(a.id)),
            "a duplicate in the batch"
        );
        assert_eq!(outcomes[5], Ok(Processed::AlreadyDone(OrderId(s))));
        let heard = [feed.recv().await.unwrap(), feed.recv().await.unwrap()];
        assert!(heard.iter().all(|c| c.status == OrderStatus::Completed));

        let again = service.process_batch(&bodies).await.unwrap();
        assert_eq!(
            again[0],
            Ok(Processed::AlreadyDone(a.id)),
            "a redelivered batch"
        );
        assert_eq!(again[1], Ok(Processed::AlreadyDone(OrderId(s))));
        assert_eq!(
            (
                memory.processed_count(a.id),
                memory.processed_count(OrderId(s))
            ),
            (1, 1)
        );
        assert_eq!(
            service.get(a.id).await.unwrap().0.status,
            OrderStatus::Completed
        );
    }

    #[tokio::test]
    async fn an_order_named_created_then_submitted_in_one_batch_is_stored_and_completed() {
        let memory = Memory::default();
        let service = memory.service();
        let s = uuid::Uuid::new_v4();
        let created = Envelope::OrderCreated {
            order_id: OrderId(s),
        }
        .encode();
        let outcomes = service
            .process_batch(&[&created, &submitted(s)])
            .await
            .unwrap();
        assert_eq!(
            outcomes,
            vec![
                Ok(Processed::Completed(OrderId(s))),
                Ok(Processed::AlreadyDone(OrderId(s)))
            ]
        );
        assert_eq!(memory.processed_count(OrderId(s)), 1);
    }

    #[tokio::test]
    async fn a_batch_that_fails_applies_nothing_and_its_messages_go_one_by_one() {
        let memory = Memory::default();
        let service = memory.service();
        let (a, _) = service.create(&draft(), None).await.unwrap();
        let (b, _) = service.create(&draft(), None).await.unwrap();
        memory.set_order_stuck(a.id, true);
        let bodies = [
            Envelope::OrderCreated { order_id: a.id }.encode(),
            Envelope::OrderCreated { order_id: b.id }.encode(),
        ];
        assert!(
            service
                .process_batch(&[&bodies[0], &bodies[1]])
                .await
                .is_err()
        );
        assert_eq!(memory.processed_count(b.id), 0, "all or nothing");
        assert!(matches!(
            service.process(&bodies[0]).await,
            Err(ProcessError::Transient(_))
        ));
        assert_eq!(
            service.process(&bodies[1]).await,
            Ok(Processed::Completed(b.id))
        );
        memory.set_order_stuck(a.id, false);
        assert_eq!(
            service
                .process_batch(&[&bodies[0], &bodies[1]])
                .await
                .unwrap(),
            vec![
                Ok(Processed::Completed(a.id)),
                Ok(Processed::AlreadyDone(b.id))
            ]
        );
    }

    #[tokio::test]
    async fn with_work_a_batch_goes_through_processing_order_by_order() {
        let memory = Memory::default();
        let service = memory.service_with_work(Duration::from_millis(5));
        let (a, _) = service.create(&draft(), None).await.unwrap();
        let body = Envelope::OrderCreated { order_id: a.id }.encode();
        let mut feed = service.feed().subscribe();
        let outcomes = service.process_batch(&[&body, "garbage"]).await.unwrap();
        assert_eq!(outcomes[0], Ok(Processed::Completed(a.id)));
        assert!(matches!(outcomes[1], Err(ProcessError::Permanent(_))));
        assert_eq!(feed.recv().await.unwrap().status, OrderStatus::Processing);
        assert_eq!(feed.recv().await.unwrap().status, OrderStatus::Completed);
    }
}
