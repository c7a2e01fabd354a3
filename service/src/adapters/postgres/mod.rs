//! The order repository on Postgres (sqlx). Status changes are single conditional UPDATEs, so
//! that concurrent deliveries of one message complete an order once. Every statement is a
//! client span when traces are on (the health check's `SELECT 1` is not). A receive batch's
//! orders are completed by one statement ([`batch`]).

mod batch;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::domain::order::{CustomerId, LineItem, Order, OrderId, OrderStatus};
use crate::ports::{BatchCompletion, Cursor, Inserted, OrderRepository, PortError};

/// The embedded migrations (`service/migrations`), for `service migrate` and for tests.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Most connections.
    pub max_connections: u32,
    /// How long a query waits for a free connection.
    pub acquire_timeout: Duration,
}

/// A lazily connecting pool: the service starts (and reports not ready) while Postgres is down.
pub fn pool(url: &str, settings: PoolSettings) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy(url)
}

/// Orders in Postgres.
#[derive(Debug, Clone)]
pub struct PgOrders {
    pool: PgPool,
}

impl PgOrders {
    /// A repository over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn unavailable(error: sqlx::Error) -> PortError {
    PortError::unavailable("postgres", error)
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    customer_id: String,
    status: String,
    total_cents: i64,
    items: serde_json::Value,
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl OrderRow {
    fn into_order(self) -> Result<Order, PortError> {
        let corrupt = |what: &str| {
            PortError::unavailable(
                "postgres",
                format!("order {} has a corrupt {what}", self.id),
            )
        };
        Ok(Order {
            id: OrderId(self.id),
            customer_id: CustomerId::parse(&self.customer_id)
                .ok_or_else(|| corrupt("customer_id"))?,
            items: serde_json::from_value::<Vec<LineItem>>(self.items.clone())
                .map_err(|_| corrupt("items"))?,
            status: OrderStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            total_cents: self.total_cents,
            failure_reason: self.failure_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str =
    "id, customer_id, status, total_cents, items, failure_reason, created_at, updated_at";

/// A client span for one statement (OpenTelemetry's database conventions), seen only when
/// traces are on: named `OPERATION orders`, with the statement as sent — placeholders, never
/// values — and the order it is about.
fn statement(operation: &'static str, text: &str, order: Option<OrderId>) -> tracing::Span {
    let span = tracing::debug_span!(
        "statement",
        otel.name = %format_args!("{operation} orders"),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        db.system.name = "postgresql",
        db.operation.name = operation,
        db.collection.name = "orders",
        db.query.text = text,
        db.operation.batch.size = tracing::field::Empty,
        order.id = tracing::field::Empty,
    );
    if let Some(order) = order {
        span.record("order.id", order.to_string());
    }
    span
}

const INSERT: &str =
    "INSERT INTO orders (id, customer_id, status, total_cents, items, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";
const START_PROCESSING: &str = "WITH started AS (
         UPDATE orders SET status = 'processing', updated_at = now()
         WHERE id = $1 AND status = 'pending' RETURNING status)
     SELECT status FROM started
     UNION ALL SELECT status FROM orders WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM started)";
const COMPLETE: &str = "UPDATE orders SET status = 'completed', processed_count = processed_count + 1, updated_at = now()
     WHERE id = $1 AND status IN ('pending', 'processing')";
const FAIL: &str = "UPDATE orders SET status = 'failed', failure_reason = $2, updated_at = now()
     WHERE id = $1 AND status IN ('pending', 'processing')";
const DELETE: &str = "DELETE FROM orders WHERE id = $1";

#[async_trait]
impl OrderRepository for PgOrders {
    async fn insert(&self, order: &Order) -> Result<Inserted, PortError> {
        let items = serde_json::to_value(&order.items)
            .map_err(|e| PortError::unavailable("postgres", e))?;
        let result = sqlx::query(INSERT)
            .bind(order.id.0)
            .bind(order.customer_id.as_str())
            .bind(order.status.as_str())
            .bind(order.total_cents)
            .bind(items)
            .bind(order.created_at)
            .bind(order.updated_at)
            .execute(&self.pool)
            .instrument(statement("INSERT", INSERT, Some(order.id)))
            .await
            .map_err(unavailable)?;
        Ok(if result.rows_affected() == 1 {
            Inserted::Created
        } else {
            Inserted::AlreadyExisted
        })
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, PortError> {
        let text = format!("SELECT {COLUMNS} FROM orders WHERE id = $1");
        let span = statement("SELECT", &text, Some(id));
        sqlx::query_as::<_, OrderRow>(&text)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .instrument(span)
            .await
            .map_err(unavailable)?
            .map(OrderRow::into_order)
            .transpose()
    }

    async fn list(
        &self,
        customer: &CustomerId,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<Order>, PortError> {
        let text = format!(
            "SELECT {COLUMNS} FROM orders
             WHERE customer_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let span = statement("SELECT", &text, None);
        let rows = sqlx::query_as::<_, OrderRow>(&text)
            .bind(customer.as_str())
            .bind(after.map(|c| c.created_at))
            .bind(after.map_or(Uuid::nil(), |c| c.id.0))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .instrument(span)
            .await
            .map_err(unavailable)?;
        rows.into_iter().map(OrderRow::into_order).collect()
    }

    async fn delete(&self, id: OrderId) -> Result<(), PortError> {
        sqlx::query(DELETE)
            .bind(id.0)
            .execute(&self.pool)
            .instrument(statement("DELETE", DELETE, Some(id)))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn start_processing(&self, id: OrderId) -> Result<Option<OrderStatus>, PortError> {
        let status: Option<String> = sqlx::query_scalar(START_PROCESSING)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .instrument(statement("UPDATE", START_PROCESSING, Some(id)))
            .await
            .map_err(unavailable)?;
        Ok(status.as_deref().and_then(OrderStatus::parse))
    }

    async fn complete(&self, id: OrderId) -> Result<bool, PortError> {
        let result = sqlx::query(COMPLETE)
            .bind(id.0)
            .execute(&self.pool)
            .instrument(statement("UPDATE", COMPLETE, Some(id)))
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn complete_batch(
        &self,
        created: &[OrderId],
        submitted: &[Order],
    ) -> Result<BatchCompletion, PortError> {
        batch::complete_batch(&self.pool, created, submitted).await
    }

    async fn fail(&self, id: OrderId, reason: &str) -> Result<bool, PortError> {
        let result = sqlx::query(FAIL)
            .bind(id.0)
            .bind(reason)
            .execute(&self.pool)
            .instrument(statement("UPDATE", FAIL, Some(id)))
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn ping(&self) -> Result<(), PortError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
