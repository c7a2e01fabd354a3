//! Orders in plain Rust types. Input is parsed once, at the boundary, into types that cannot
//! hold bad values (parse, don't validate): [`NewOrder::parse`] checks every field of a raw
//! JSON draft and reports all the bad ones at once.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most line items in an order.
pub const MAX_ITEMS: usize = 100;
/// Largest quantity of one line.
pub const MAX_QUANTITY: u32 = 10_000;
/// Largest unit price, in cents.
pub const MAX_UNIT_PRICE_CENTS: i64 = 100_000_000;

/// An order's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub Uuid);

impl OrderId {
    /// A new random id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses a UUID.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }
}

impl Default for OrderId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A customer's id: 1–64 ASCII letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerId(String);

impl CustomerId {
    /// Parses a customer id.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = (1..=64).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        ok.then(|| Self(text.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Accepted, waiting for a worker.
    Pending,
    /// A worker is on it.
    Processing,
    /// Done.
    Completed,
    /// Could not be processed.
    Failed,
}

impl OrderStatus {
    /// The lowercase name, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "processing" => Some(Self::Processing),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// Whether no further change will happen.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// Stock keeping unit: 1–32 printable ASCII characters.
    pub sku: String,
    /// 1 to [`MAX_QUANTITY`].
    pub quantity: u32,
    /// 0 to [`MAX_UNIT_PRICE_CENTS`].
    pub unit_price_cents: i64,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Id.
    pub id: OrderId,
    /// Who ordered.
    pub customer_id: CustomerId,
    /// What.
    pub items: Vec<LineItem>,
    /// Where it is.
    pub status: OrderStatus,
    /// Sum of quantity × unit price.
    pub total_cents: i64,
    /// Why it failed, when it did.
    pub failure_reason: Option<String>,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// A JSON path such as `items[0].quantity`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Every bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// A validated order to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewOrder {
    /// Who.
    pub customer_id: CustomerId,
    /// What (1 to [`MAX_ITEMS`] lines).
    pub items: Vec<LineItem>,
}

impl NewOrder {
    /// Parses a JSON draft, listing every bad field.
    pub fn parse(draft: &serde_json::Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let Some(object) = draft.as_object() else {
            errors.push("", "must be a JSON object");
            return Err(errors);
        };
        let customer_id = match object.get("customer_id") {
            None | Some(serde_json::Value::Null) => {
                errors.push("customer_id", "is required");
                None
            }
            Some(serde_json::Value::String(s)) => {
                let parsed = CustomerId::parse(s);
                if parsed.is_none() {
                    errors.push("customer_id", "must be 1-64 letters, digits, '-' or '_'");
                }
                parsed
            }
            Some(_) => {
                errors.push("customer_id", "must be a string");
                None
            }
        };
        let mut items = Vec::new();
        match object.get("items") {
            None | Some(serde_json::Value::Null) => errors.push("items", "is required"),
            Some(serde_json::Value::Array(lines)) if lines.is_empty() => {
                errors.push("items", "must have at least one item")
            }
            Some(serde_json::Value::Array(lines)) if lines.len() > MAX_ITEMS => {
                errors.push("items", format!("must have at most {MAX_ITEMS} items"));
            }
            Some(serde_json::Value::Array(lines)) => {
                for (index, line) in lines.iter().enumerate() {
                    if let Some(item) = parse_line(index, line, &mut errors) {
                        items.push(item);
                    }
                }
            }
            Some(_) => errors.push("items", "must be an array"),
        }
        for key in object.keys() {
            if key != "customer_id" && key != "items" {
                errors.push(key.clone(), "is not a known field");
            }
        }
        if errors.0.is_empty() && total_cents(&items).is_none() {
            errors.push("items", "total is too large");
        }
        match (customer_id, errors.0.is_empty()) {
            (Some(customer_id), true) => Ok(Self { customer_id, items }),
            _ => Err(errors),
        }
    }

    /// The sum of quantity × unit price (checked on parse, so it fits).
    pub fn total_cents(&self) -> i64 {
        total_cents(&self.items).unwrap_or(i64::MAX)
    }

    /// A stable digest of the order's content, to tell a replay from a different request
    /// under the same idempotency key.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical))
    }

    /// The pending order this becomes, with `id`, at `now`.
    pub fn into_order(self, id: OrderId, now: DateTime<Utc>) -> Order {
        let total_cents = self.total_cents();
        Order {
            id,
            customer_id: self.customer_id,
            items: self.items,
            status: OrderStatus::Pending,
            total_cents,
            failure_reason: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// An integer as JSON Schema counts them: `2` or `2.0` (a number without a fraction).
fn json_integer(value: &serde_json::Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= 9.0e15)
            .map(|f| f as i64)
    })
}

fn parse_line(
    index: usize,
    line: &serde_json::Value,
    errors: &mut ValidationErrors,
) -> Option<LineItem> {
    let prefix = format!("items[{index}]");
    let Some(object) = line.as_object() else {
        errors.push(prefix, "must be an object");
        return None;
    };
    let before = errors.0.len();
    let sku = match object.get("sku").and_then(serde_json::Value::as_str) {
        Some(s) if (1..=32).contains(&s.len()) && s.chars().all(|c| c.is_ascii_graphic()) => {
            Some(s.to_string())
        }
        Some(_) => {
            errors.push(
                format!("{prefix}.sku"),
                "must be 1-32 printable ASCII characters",
            );
            None
        }
        None => {
            errors.push(format!("{prefix}.sku"), "is required and must be a string");
            None
        }
    };
    let quantity = match object.get("quantity").and_then(json_integer) {
        Some(q) if (1..=i64::from(MAX_QUANTITY)).contains(&q) => u32::try_from(q).ok(),
        Some(_) => {
            errors.push(
                format!("{prefix}.quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            );
            None
        }
        None => {
            errors.push(
                format!("{prefix}.quantity"),
                "is required and must be an integer",
            );
            None
        }
    };
    let unit_price_cents = match object.get("unit_price_cents").and_then(json_integer) {
        Some(p) if (0..=MAX_UNIT_PRICE_CENTS).contains(&p) => Some(p),
        Some(_) => {
            errors.push(
                format!("{prefix}.unit_price_cents"),
                format!("must be between 0 and {MAX_UNIT_PRICE_CENTS}"),
            );
            None
        }
        None => {
            errors.push(
                format!("{prefix}.unit_price_cents"),
                "is required and must be an integer",
            );
            None
        }
    };
    for key in object.keys() {
        if !matches!(key.as_str(), "sku" | "quantity" | "unit_price_cents") {
            errors.push(format!("{prefix}.{key}"), "is not a known field");
        }
    }
    if errors.0.len() > before {
        return None;
    }
    Some(LineItem {
        sku: sku?,
        quantity: quantity?,
        unit_price_cents: unit_price_cents?,
    })
}

fn total_cents(items: &[LineItem]) -> Option<i64> {
    items.iter().try_fold(0i64, |sum, item| {
        sum.checked_add(i64::from(item.quantity).checked_mul(item.unit_price_cents)?)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_valid_draft_parses_with_its_total() {
        let order = NewOrder::parse(&json!({"customer_id": "c-42", "items": [{"sku": "A-1", "quantity": 2, "unit_price_cents": 1250}, {"sku": "B", "quantity": 1, "unit_price_cents": 99}]})).unwrap();
        assert_eq!(order.total_cents(), 2599);
        assert_eq!(order.customer_id.as_str(), "c-42");
    }

    #[test]
    fn integers_may_be_written_as_whole_floats_as_json_schema_allows() {
        let order = NewOrder::parse(&json!({"customer_id": "c", "items": [{"sku": "A", "quantity": 2.0, "unit_price_cents": 1250.0}]})).unwrap();
        assert_eq!(order.total_cents(), 2500);
        let errors = NewOrder::parse(&json!({"customer_id": "c", "items": [{"sku": "A", "quantity": 1.5, "unit_price_cents": 1e300}]})).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["items[0].quantity", "items[0].unit_price_cents"]);
    }

    #[test]
    fn every_bad_field_is_listed() {
        let errors = NewOrder::parse(&json!({
            "customer_id": "",
            "items": [{"sku": "", "quantity": 0, "unit_price_cents": -1}, {"quantity": "two"}],
            "coupon": "x"
        }))
        .unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "customer_id",
                "items[0].sku",
                "items[0].quantity",
                "items[0].unit_price_cents",
                "items[1].sku",
                "items[1].quantity",
                "items[1].unit_price_cents",
                "coupon"
            ]
        );
    }

    #[test]
    fn shapes_and_limits() {
        assert!(NewOrder::parse(&json!([])).is_err());
        assert_eq!(
            NewOrder::parse(&json!({"customer_id": "c"})).unwrap_err().0[0].field,
            "items"
        );
        assert!(NewOrder::parse(&json!({"customer_id": "c", "items": []})).is_err());
        let many: Vec<_> = (0..=MAX_ITEMS)
            .map(|_| json!({"sku": "A", "quantity": 1, "unit_price_cents": 1}))
            .collect();
        assert!(NewOrder::parse(&json!({"customer_id": "c", "items": many})).is_err());
        assert!(NewOrder::parse(&json!({"customer_id": 42, "items": [{"sku": "A", "quantity": 1, "unit_price_cents": 1}]})).is_err());
    }

    #[test]
    fn fingerprints_tell_bodies_apart() {
        let a = NewOrder::parse(&json!({"customer_id": "c", "items": [{"sku": "A", "quantity": 1, "unit_price_cents": 1}]})).unwrap();
        let b = NewOrder::parse(&json!({"items": [{"unit_price_cents": 1, "quantity": 1, "sku": "A"}], "customer_id": "c"})).unwrap();
        let c = NewOrder::parse(&json!({"customer_id": "c", "items": [{"sku": "A", "quantity": 2, "unit_price_cents": 1}]})).unwrap();
        assert_eq!(
            a.fingerprint(),
            b.fingerprint(),
            "key order does not matter"
        );
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            OrderStatus::Pending,
            OrderStatus::Processing,
            OrderStatus::Completed,
            OrderStatus::Failed,
        ] {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert!(OrderStatus::Completed.is_terminal() && !OrderStatus::Processing.is_terminal());
    }
}
