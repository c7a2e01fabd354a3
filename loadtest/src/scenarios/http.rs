//! The HTTP scenarios: `browse` (read orders seeded at the start), `checkout` (create orders
//! with idempotency keys), `mixed` (8 reads to 2 creates) and `ping` (a baseline path).

use std::sync::Arc;

use goose::prelude::*;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{Shared, TransactionFuture, names};

/// Customers that checkout spreads its orders over, so no one customer meets the
/// service's per-customer rate limit.
const CUSTOMERS: u32 = 1_000;

#[derive(Deserialize)]
struct OrderId {
    id: Uuid,
}

#[derive(Deserialize)]
struct OrderList {
    items: Vec<OrderId>,
}

/// A plausible order body for `customer`.
pub fn order_body(customer: &str) -> serde_json::Value {
    let items: Vec<_> = (0..fastrand::usize(1..=3))
        .map(|i| {
            json!({
                "sku": format!("SKU-{}", fastrand::u32(1..500) + i as u32),
                "quantity": fastrand::u32(1..=5),
                "unit_price_cents": fastrand::i64(100..=10_000),
            })
        })
        .collect();
    json!({ "customer_id": customer, "items": items })
}

/// `test_start`: fills the browse pool, by creating `--seed-orders` orders or by listing
/// `--browse-customer`'s. Only when a reading scenario runs.
pub fn seed(shared: Arc<Shared>, user: &mut GooseUser) -> TransactionFuture<'_> {
    Box::pin(async move {
        let settings = &shared.settings;
        if !settings.seed {
            return Ok(());
        }
        if let Some(customer) = &settings.browse_customer {
            let path = format!("/v1/orders?customer_id={customer}&limit=100");
            let request = GooseRequest::builder()
                .path(path.as_str())
                .name(names::LIST_ORDERS)
                .expect_status_code(200)
                .build();
            let response = user.request(request).await?;
            if let Ok(response) = response.response
                && let Ok(list) = response.json::<OrderList>().await
            {
                for order in list.items {
                    shared.remember_order(order.id);
                }
            }
            return Ok(());
        }
        for i in 0..settings.seed_orders {
            let customer = format!("loadtest-{}-seed-{}", settings.run_id, i % CUSTOMERS);
            if let Some(id) = post_order(user, &customer).await? {
                shared.remember_order(id);
            }
        }
        Ok(())
    })
}

/// `GET /v1/orders/{id}` of a random order from the pool.
pub fn read_order(shared: Arc<Shared>, user: &mut GooseUser) -> TransactionFuture<'_> {
    Box::pin(async move {
        let Some(id) = shared.random_order() else {
            // Nothing to read yet (seeding failed, or a customer without orders): create
            // one, so the scenario still measures something true.
            let customer = format!("loadtest-{}-browse", shared.settings.run_id);
            if let Some(id) = post_order(user, &customer).await? {
                shared.remember_order(id);
            }
            return Ok(());
        };
        let path = format!("/v1/orders/{id}");
        let request = GooseRequest::builder()
            .path(path.as_str())
            .name(names::GET_ORDER)
            .expect_status_code(200)
            .build();
        user.request(request).await?;
        Ok(())
    })
}

/// `POST /v1/orders` with a fresh `Idempotency-Key`; the new order joins the browse pool.
pub fn create_order(shared: Arc<Shared>, user: &mut GooseUser) -> TransactionFuture<'_> {
    Box::pin(async move {
        let customer = format!(
            "loadtest-{}-{}",
            shared.settings.run_id,
            fastrand::u32(..CUSTOMERS)
        );
        if let Some(id) = post_order(user, &customer).await? {
            shared.remember_order(id);
        }
        Ok(())
    })
}

/// `GET <ping path>`: what the generator manages against the cheapest answer.
pub fn ping(shared: Arc<Shared>, user: &mut GooseUser) -> TransactionFuture<'_> {
    Box::pin(async move {
        let request = GooseRequest::builder()
            .path(shared.settings.ping_path.as_str())
            .expect_status_code(200)
            .build();
        user.request(request).await?;
        Ok(())
    })
}

/// Posts one order; its id when the service accepted it (202).
async fn post_order(
    user: &mut GooseUser,
    customer: &str,
) -> Result<Option<Uuid>, Box<TransactionError>> {
    let builder = user
        .get_request_builder(&GooseMethod::Post, names::POST_ORDER)?
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .json(&order_body(customer));
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path(names::POST_ORDER)
        .name(names::POST_ORDER)
        .set_request_builder(builder)
        .expect_status_code(202)
        .build();
    let response = user.request(request).await?;
    match response.response {
        Ok(response) if response.status().as_u16() == 202 => {
            Ok(response.json::<OrderId>().await.ok().map(|order| order.id))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_bodies_are_valid_orders() {
        for _ in 0..50 {
            let body = order_body("c-1");
            assert_eq!(body["customer_id"], "c-1");
            let items = body["items"].as_array().unwrap();
            assert!((1..=3).contains(&items.len()));
            for item in items {
                assert!(item["sku"].as_str().unwrap().starts_with("SKU-"));
                assert!((1..=5).contains(&item["quantity"].as_u64().unwrap()));
                assert!(item["unit_price_cents"].as_i64().unwrap() >= 100);
            }
        }
    }
}
