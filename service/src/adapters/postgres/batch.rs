//! Completing a receive batch's orders in one statement ([`OrderRepository::complete_batch`]
//! on Postgres): the submitted orders are inserted already completed, or completed if they
//! are stored and not yet terminal (`INSERT … ON CONFLICT DO UPDATE … WHERE`); the created
//! ones are completed by one conditional `UPDATE … WHERE id = ANY($6)`; the ids asked for
//! that were not stored before the statement come back as unknown. One statement is one
//! transaction: the batch applies whole or not at all, and a redelivery (already terminal)
//! matches no row, so it never counts twice.
//!
//! [`OrderRepository::complete_batch`]: crate::ports::OrderRepository::complete_batch

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use tracing::Instrument as _;
use uuid::Uuid;

use super::{statement, unavailable};
use crate::domain::order::{Order, OrderId};
use crate::ports::{BatchCompletion, PortError};

pub(super) const COMPLETE_BATCH: &str = "WITH submitted AS (
         INSERT INTO orders AS o (id, customer_id, status, total_cents, items, processed_count, created_at, updated_at)
         SELECT id, customer_id, 'completed', total_cents, items, 1, created_at, now()
         FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::jsonb[], $5::timestamptz[])
              AS s(id, customer_id, total_cents, items, created_at)
         ON CONFLICT (id) DO UPDATE
             SET status = 'completed', processed_count = o.processed_count + 1, updated_at = now()
             WHERE o.status IN ('pending', 'processing')
         RETURNING o.id),
     created AS (
         UPDATE orders SET status = 'completed', processed_count = processed_count + 1, updated_at = now()
         WHERE id = ANY($6::uuid[]) AND status IN ('pending', 'processing')
         RETURNING id)
     SELECT id, true AS completed FROM submitted
     UNION ALL SELECT id, true FROM created
     UNION ALL SELECT u.id, false FROM unnest($6::uuid[]) AS u(id)
         WHERE NOT EXISTS (SELECT 1 FROM orders WHERE orders.id = u.id)";

/// The submitted orders as one array per column, in id order (the order rows are locked in).
struct Columns {
    ids: Vec<Uuid>,
    customers: Vec<String>,
    totals: Vec<i64>,
    items: Vec<serde_json::Value>,
    created_at: Vec<DateTime<Utc>>,
}

fn columns(submitted: &[Order]) -> Result<Columns, PortError> {
    let mut sorted: Vec<&Order> = submitted.iter().collect();
    sorted.sort_by_key(|o| o.id.0);
    let mut columns = Columns {
        ids: Vec::with_capacity(sorted.len()),
        customers: Vec::with_capacity(sorted.len()),
        totals: Vec::with_capacity(sorted.len()),
        items: Vec::with_capacity(sorted.len()),
        created_at: Vec::with_capacity(sorted.len()),
    };
    for order in sorted {
        columns.ids.push(order.id.0);
        columns
            .customers
            .push(order.customer_id.as_str().to_string());
        columns.totals.push(order.total_cents);
        columns.items.push(
            serde_json::to_value(&order.items)
                .map_err(|e| PortError::unavailable("postgres", e))?,
        );
        columns.created_at.push(order.created_at);
    }
    Ok(columns)
}

/// Runs [`COMPLETE_BATCH`].
pub(super) async fn complete_batch(
    pool: &PgPool,
    created: &[OrderId],
    submitted: &[Order],
) -> Result<BatchCompletion, PortError> {
    if created.is_empty() && submitted.is_empty() {
        return Ok(BatchCompletion::default());
    }
    let columns = columns(submitted)?;
    let mut created_ids: Vec<Uuid> = created.iter().map(|id| id.0).collect();
    created_ids.sort_unstable();
    let only = match (created, submitted) {
        ([id], []) => Some(*id),
        ([], [order]) => Some(order.id),
        _ => None,
    };
    let span = statement("UPDATE", COMPLETE_BATCH, only);
    span.record(
        "db.operation.batch.size",
        i64::try_from(created.len() + submitted.len()).unwrap_or(i64::MAX),
    );
    let rows: Vec<(Uuid, bool)> = sqlx::query_as(COMPLETE_BATCH)
        .bind(columns.ids)
        .bind(columns.customers)
        .bind(columns.totals)
        .bind(columns.items)
        .bind(columns.created_at)
        .bind(created_ids)
        .fetch_all(pool)
        .instrument(span)
        .await
        .map_err(unavailable)?;
    let mut outcome = BatchCompletion::default();
    for (id, completed) in rows {
        if completed {
            outcome.completed.insert(OrderId(id));
        } else {
            outcome.unknown.insert(OrderId(id));
        }
    }
    Ok(outcome)
}
