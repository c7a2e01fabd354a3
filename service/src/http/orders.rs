//! The orders resource: thin handlers that parse, call the domain and serialize.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use slipway_contracts::metrics as names;

use super::AppState;
use super::error::ApiError;
use super::extract::{IdempotencyKey, JsonBody};
use crate::domain::order::{CustomerId, FieldError, LineItem, Order, OrderId};
use crate::domain::service::CacheOutcome;
use crate::ports::Cursor;

/// Most orders per page.
pub const MAX_PAGE: u32 = 100;
/// Orders per page when `limit` is not given.
pub const DEFAULT_PAGE: u32 = 20;

/// An order as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderResponse {
    /// The order's id.
    #[schema(value_type = String, format = Uuid)]
    pub id: String,
    /// Who ordered.
    pub customer_id: String,
    /// `pending` → `processing` → `completed` | `failed`.
    #[schema(example = "pending")]
    pub status: String,
    /// The lines.
    pub items: Vec<LineItemBody>,
    /// Sum of quantity × unit price, in cents.
    pub total_cents: i64,
    /// Why processing failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// When it was accepted (RFC 3339).
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One line of an order. Unknown fields are refused (422).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemBody {
    /// Stock keeping unit, 1–32 printable ASCII characters (no spaces).
    #[schema(example = "A-1", min_length = 1, max_length = 32, pattern = "^[!-~]+$")]
    pub sku: String,
    /// 1–10,000.
    #[schema(example = 2, minimum = 1, maximum = 10000)]
    pub quantity: u32,
    /// 0–100,000,000.
    #[schema(example = 1250, minimum = 0, maximum = 100000000)]
    pub unit_price_cents: i64,
}

/// The body of `POST /v1/orders`. Unknown fields are refused (422).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// 1–64 letters, digits, `-` or `_`.
    #[schema(
        example = "c-42",
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_-]+$"
    )]
    pub customer_id: String,
    /// 1–100 lines.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<LineItemBody>,
}

/// A page of orders.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderList {
    /// Newest first.
    pub items: Vec<OrderResponse>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<Order> for OrderResponse {
    fn from(order: Order) -> Self {
        Self {
            id: order.id.to_string(),
            customer_id: order.customer_id.as_str().to_string(),
            status: order.status.as_str().to_string(),
            items: order.items.into_iter().map(LineItemBody::from).collect(),
            total_cents: order.total_cents,
            failure_reason: order.failure_reason,
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}

impl From<LineItem> for LineItemBody {
    fn from(item: LineItem) -> Self {
        Self {
            sku: item.sku,
            quantity: item.quantity,
            unit_price_cents: item.unit_price_cents,
        }
    }
}

/// Create an order. The same `Idempotency-Key` with the same body returns the same order;
/// with another body, 409.
#[utoipa::path(
    post, path = "/v1/orders", tag = "orders",
    request_body(content = CreateOrderRequest, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1-255 printable ASCII characters (no spaces)", min_length = 1, max_length = 255, pattern = "^[!-~]+$")),
    responses(
        (status = 202, description = "Accepted; processing follows", body = OrderResponse,
         headers(("Location" = String, description = "/v1/orders/{id}"))),
        (status = 400, description = "Malformed JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Idempotency-Key reused with another body", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited; see Retry-After", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A dependency is down", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(draft): JsonBody,
) -> Result<Response, ApiError> {
    let (order, created) = state.service.create(&draft, key.as_deref()).await?;
    let location = format!("/v1/orders/{}", order.id);
    let mut response = (StatusCode::ACCEPTED, Json(OrderResponse::from(order))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if !created {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Parses an order id from the path.
pub fn parse_id(raw: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(raw).ok_or_else(|| ApiError::BadRequest {
        code: "invalid_id",
        detail: format!("`{raw}` is not a UUID"),
    })
}

/// Read an order (through the Redis cache; `X-Cache: hit|miss`).
#[utoipa::path(
    get, path = "/v1/orders/{id}", tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "The order's UUID")),
    responses(
        (status = 200, description = "The order", body = OrderResponse, headers(("X-Cache" = String, description = "hit or miss"))),
        (status = 400, description = "Not a UUID", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown order", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A dependency is down", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (order, cache) = state.service.get(id).await?;
    let result = match cache {
        CacheOutcome::Hit => "hit",
        CacheOutcome::Miss => "miss",
    };
    metrics::counter!(names::ORDER_CACHE_TOTAL, "result" => result).increment(1);
    let mut response = Json(OrderResponse::from(order)).into_response();
    response
        .headers_mut()
        .insert("x-cache", HeaderValue::from_static(result));
    Ok(response)
}

/// List a customer's orders, newest first, with keyset pagination.
#[utoipa::path(
    get, path = "/v1/orders", tag = "orders",
    params(
        ("customer_id" = String, Query, description = "Whose orders", min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]+$"),
        ("limit" = Option<u32>, Query, description = "1-100, default 20", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (opaque; anything else, the empty string included, is a 422)", pattern = "^[A-Za-z0-9_-]+$"),
    ),
    responses(
        (status = 200, description = "A page of orders", body = OrderList),
        (status = 422, description = "Bad parameters, all listed", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A dependency is down", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<OrderList>, ApiError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    let customer = match query.get("customer_id") {
        None => {
            bad("customer_id", "is required");
            None
        }
        Some(raw) => {
            let parsed = CustomerId::parse(raw);
            if parsed.is_none() {
                bad("customer_id", "must be 1-64 letters, digits, '-' or '_'");
            }
            parsed
        }
    };
    let limit = match query.get("limit").map(|l| l.parse::<u32>()) {
        None => DEFAULT_PAGE,
        Some(Ok(limit)) if (1..=MAX_PAGE).contains(&limit) => limit,
        Some(_) => {
            bad("limit", "must be an integer from 1 to 100");
            DEFAULT_PAGE
        }
    };
    // An empty `cursor=` is refused like any other string this API never handed out: the
    // document's pattern says so, and a client that sends one has lost its place.
    let cursor = match query.get("cursor") {
        None => None,
        Some(raw) => {
            let decoded = decode_cursor(raw);
            if decoded.is_none() {
                bad("cursor", "is not a cursor returned by this API");
            }
            decoded
        }
    };
    for key in query.keys() {
        if !matches!(key.as_str(), "customer_id" | "limit" | "cursor") {
            errors.push(FieldError {
                field: key.clone(),
                message: "is not a known parameter".into(),
            });
        }
    }
    let Some(customer) = customer.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let page = state.service.list(&customer, cursor, limit).await?;
    Ok(Json(OrderList {
        items: page.orders.into_iter().map(OrderResponse::from).collect(),
        next_cursor: page.next.map(|c| encode_cursor(&c)),
    }))
}

/// `base64url("{micros}:{uuid}")`.
pub fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}:{}",
        cursor.created_at.timestamp_micros(),
        cursor.id
    ))
}

/// The inverse of [`encode_cursor`].
pub fn decode_cursor(raw: &str) -> Option<Cursor> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (micros, id) = text.split_once(':')?;
    Some(Cursor {
        created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id: OrderId::parse(id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: OrderId::new(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&cursor)), Some(cursor));
        assert_eq!(decode_cursor("nope"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("1:not-a-uuid")), None);
    }
}
