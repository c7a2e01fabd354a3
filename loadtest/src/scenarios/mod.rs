//! The goose scenarios and the state they share.
//!
//! - [`http`]: `browse`, `checkout`, `mixed` and `ping`, through the service's HTTP API.
//! - [`queue`]: `queue` and `poison`, straight to SQS with aws-sdk-sqs, recorded with
//!   goose's `record_custom_request`.
//!
//! Transactions are closures over one [`Shared`] (no globals), so the ids that `browse`
//! seeds at the start, the orders that `queue` sends and the markers of `poison` reach the
//! checks that run after the load.

pub mod http;
pub mod queue;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use goose::prelude::*;
use parking_lot::Mutex;
use uuid::Uuid;

/// Every scenario, in the order they are registered.
pub const ALL: [&str; 6] = ["browse", "checkout", "mixed", "queue", "poison", "ping"];
/// The scenarios a run without `--scenarios` runs (`ping` is a baseline, asked for by name).
pub const DEFAULT: [&str; 5] = ["browse", "checkout", "mixed", "queue", "poison"];

/// The request names the scenarios record, as goose reports them.
pub mod names {
    /// Reading one order.
    pub const GET_ORDER: &str = "/v1/orders/{id}";
    /// Creating one order.
    pub const POST_ORDER: &str = "/v1/orders";
    /// Listing a customer's orders.
    pub const LIST_ORDERS: &str = "/v1/orders?customer_id";
    /// The method label of SQS calls.
    pub const SQS: &str = "SQS";
    /// A batch of order messages.
    pub const SEND_BATCH: &str = "SendMessageBatch";
    /// One malformed message.
    pub const SEND_POISON: &str = "SendMessage (poison)";
}

/// Settings the scenarios read.
#[derive(Debug, Clone)]
pub struct ScenarioSettings {
    /// Whether `test_start` fills the browse pool (a reading scenario runs).
    pub seed: bool,
    /// Orders `browse` creates at the start.
    pub seed_orders: u32,
    /// Browse this customer's orders instead of creating any.
    pub browse_customer: Option<String>,
    /// Messages per batch in `queue`.
    pub queue_batch: u8,
    /// Queue messages per second per queue user; 0 for no limit.
    pub queue_rate: f64,
    /// Poison messages per second per poison user.
    pub poison_rate: f64,
    /// The path `ping` requests.
    pub ping_path: String,
    /// A short id of this run, in customer ids and poison markers.
    pub run_id: String,
}

/// The state every transaction shares.
pub struct Shared {
    /// Settings.
    pub settings: ScenarioSettings,
    /// The SQS client and queue, when a queue is known.
    pub sqs: Option<(aws_sdk_sqs::Client, String)>,
    /// Orders `browse` reads: seeded at the start, then added to by `checkout`.
    pub orders: parking_lot::RwLock<Vec<Uuid>>,
    /// Orders the queue scenario sent.
    pub queued: Mutex<Vec<Uuid>>,
    /// Markers of the poison messages sent.
    pub poisoned: Mutex<Vec<String>>,
}

/// The most order ids kept for browsing.
const MAX_BROWSE_POOL: usize = 100_000;

impl Shared {
    /// New shared state.
    pub fn new(settings: ScenarioSettings, sqs: Option<(aws_sdk_sqs::Client, String)>) -> Self {
        Self {
            settings,
            sqs,
            orders: parking_lot::RwLock::new(Vec::new()),
            queued: Mutex::new(Vec::new()),
            poisoned: Mutex::new(Vec::new()),
        }
    }

    /// Adds an order to the browse pool (bounded).
    pub fn remember_order(&self, id: Uuid) {
        let mut orders = self.orders.write();
        if orders.len() < MAX_BROWSE_POOL {
            orders.push(id);
        }
    }

    /// A random order from the browse pool.
    pub fn random_order(&self) -> Option<Uuid> {
        let orders = self.orders.read();
        (!orders.is_empty()).then(|| orders[fastrand::usize(..orders.len())])
    }
}

/// The future a transaction returns.
pub type TransactionFuture<'r> = Pin<Box<dyn Future<Output = TransactionResult> + Send + 'r>>;
/// A transaction body over the shared state.
pub type TransactionBody = for<'r> fn(Arc<Shared>, &'r mut GooseUser) -> TransactionFuture<'r>;

/// A named goose transaction that runs `body` with the shared state.
pub fn transaction(shared: &Arc<Shared>, name: &str, body: TransactionBody) -> Transaction {
    let shared = Arc::clone(shared);
    Transaction::new(Arc::new(move |user| body(Arc::clone(&shared), user))).set_name(name)
}

/// Whether scenario `name` is among `active` (goose's `--scenarios` list, which may hold
/// `*` wildcards).
pub fn is_active(name: &str, active: &[String]) -> bool {
    active.iter().any(|pattern| glob_match(pattern, name))
}

fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, rest)) => {
            let Some(tail) = name.strip_prefix(prefix) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob_match(rest, &tail[i..]))
        }
    }
}

/// The scenarios that write, among `active`.
pub fn writing(active: &[String], settings: &ScenarioSettings) -> Vec<&'static str> {
    ALL.into_iter()
        .filter(|name| is_active(name, active))
        .filter(|name| match *name {
            "ping" => false,
            "browse" => settings.browse_customer.is_none(),
            _ => true,
        })
        .collect()
}

/// Registers every scenario on `attack` with its weight (1 unless `weights` says).
pub fn register(
    attack: GooseAttack,
    shared: &Arc<Shared>,
    weights: &[(String, usize)],
) -> Result<GooseAttack, GooseError> {
    let weight = |name: &str| {
        weights
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or(1, |(_, w)| *w)
    };
    let poison_pause = Duration::from_secs_f64(1.0 / shared.settings.poison_rate);
    Ok(attack
        .test_start(transaction(shared, "seed orders", http::seed))
        .register_scenario(
            scenario!("browse")
                .set_weight(weight("browse"))?
                .register_transaction(transaction(shared, "read an order", http::read_order)),
        )
        .register_scenario(
            scenario!("checkout")
                .set_weight(weight("checkout"))?
                .register_transaction(transaction(shared, "create an order", http::create_order)),
        )
        .register_scenario(
            scenario!("mixed")
                .set_weight(weight("mixed"))?
                .register_transaction(
                    transaction(shared, "read an order", http::read_order).set_weight(8)?,
                )
                .register_transaction(
                    transaction(shared, "create an order", http::create_order).set_weight(2)?,
                ),
        )
        .register_scenario({
            let queue = scenario!("queue").set_weight(weight("queue"))?;
            let settings = &shared.settings;
            let queue = if settings.queue_rate > 0.0 {
                let pause =
                    Duration::from_secs_f64(f64::from(settings.queue_batch) / settings.queue_rate);
                queue.set_wait_time(pause, pause)?
            } else {
                queue
            };
            queue.register_transaction(transaction(shared, "send orders", queue::send_orders))
        })
        .register_scenario(
            scenario!("poison")
                .set_weight(weight("poison"))?
                .set_wait_time(poison_pause, poison_pause)?
                .register_transaction(transaction(shared, "send poison", queue::send_poison)),
        )
        .register_scenario(
            scenario!("ping")
                .set_weight(weight("ping"))?
                .register_transaction(transaction(shared, "ping", http::ping)),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(browse_customer: Option<&str>) -> ScenarioSettings {
        ScenarioSettings {
            seed: true,
            seed_orders: 1,
            browse_customer: browse_customer.map(str::to_owned),
            queue_batch: 10,
            queue_rate: 0.0,
            poison_rate: 1.0,
            ping_path: "/livez".into(),
            run_id: "r".into(),
        }
    }

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn wildcards_select_scenarios_as_goose_does() {
        assert!(is_active("browse", &list(&["browse"])));
        assert!(is_active("browse", &list(&["b*"])));
        assert!(is_active("poison", &list(&["*son"])));
        assert!(is_active("checkout", &list(&["*"])));
        assert!(!is_active("queue", &list(&["browse", "q"])));
        assert!(is_active("queue", &list(&["q*e"])));
    }

    #[test]
    fn browse_writes_only_when_it_seeds() {
        let active = list(&["browse", "ping"]);
        assert_eq!(writing(&active, &settings(None)), ["browse"]);
        assert!(writing(&active, &settings(Some("c-42"))).is_empty());
        assert_eq!(
            writing(&list(&DEFAULT), &settings(Some("c-42"))),
            ["checkout", "mixed", "queue", "poison"]
        );
    }

    #[test]
    fn the_browse_pool_is_shared_and_bounded() {
        let shared = Shared::new(settings(None), None);
        assert_eq!(shared.random_order(), None);
        let id = Uuid::new_v4();
        shared.remember_order(id);
        assert_eq!(shared.random_order(), Some(id));
    }
}
