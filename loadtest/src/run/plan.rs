//! The stages of a run before the load: which scenarios run and with what settings (the
//! plan), the guard that refuses what the targets do not allow, the SQS client the queue
//! scenarios need, and goose's configuration.

use std::path::Path;

use goose::config::{GooseConfiguration, Scenarios};

use crate::cli::RunArgs;
use crate::scenarios::{self, ScenarioSettings};
use crate::targets::{TargetError, Targets, is_loopback};

/// What will run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scenario names asked for (goose's `--scenarios`, or the default ones).
    pub active: Vec<String>,
    /// The scenarios that run.
    pub selected: Vec<&'static str>,
    /// Their settings.
    pub settings: ScenarioSettings,
}

impl Plan {
    /// Whether `name` runs.
    pub fn runs(&self, name: &str) -> bool {
        scenarios::is_active(name, &self.active)
    }
}

/// The plan of `args`; an error when it selects no scenario.
pub fn plan(args: &RunArgs) -> anyhow::Result<Plan> {
    let active: Vec<String> = match &args.goose.scenarios {
        Some(scenarios) => scenarios.active.clone(),
        None => scenarios::DEFAULT.iter().map(|s| (*s).to_owned()).collect(),
    };
    let runs = |name: &str| scenarios::is_active(name, &active);
    let settings = ScenarioSettings {
        seed: runs("browse") || runs("mixed"),
        seed_orders: args.seed_orders,
        browse_customer: args.browse_customer.clone(),
        queue_batch: args.queue_batch,
        queue_rate: args.queue_rate,
        poison_rate: args.poison_rate,
        ping_path: args.ping_path.clone(),
        run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
    };
    let selected: Vec<&'static str> = scenarios::ALL.into_iter().filter(|s| runs(s)).collect();
    if selected.is_empty() {
        anyhow::bail!(
            "--scenarios {} selects no scenario; the scenarios are {}",
            active.join(","),
            scenarios::ALL.join(", ")
        );
    }
    Ok(Plan {
        active,
        selected,
        settings,
    })
}

/// Refuses writes the targets do not allow (the loopback guard).
pub fn guard(plan: &Plan, targets: &Targets, allow_remote_writes: bool) -> anyhow::Result<()> {
    targets.check_writes(
        &scenarios::writing(&plan.active, &plan.settings),
        allow_remote_writes,
    )?;
    Ok(())
}

/// The SQS client and queue URL the queue scenarios use; an error when they run without a
/// queue.
pub async fn queue(
    plan: &Plan,
    targets: &Targets,
) -> anyhow::Result<Option<(aws_sdk_sqs::Client, String)>> {
    let scenario = ["queue", "poison"].into_iter().find(|s| plan.runs(s));
    match (&targets.queue_url, scenario) {
        (Some(url), _) => Ok(Some((
            sqs_client(targets.sqs_endpoint.as_deref()).await,
            url.clone(),
        ))),
        (None, Some(scenario)) => Err(TargetError::NoQueue {
            scenario: scenario.to_owned(),
        }
        .into()),
        (None, None) => Ok(None),
    }
}

/// Goose's settings: the target, the scenarios, and defaults fit for this suite.
pub fn configure_goose(
    goose: &mut GooseConfiguration,
    plan: &Plan,
    targets: &Targets,
    summary_file: Option<&Path>,
) {
    goose.host = Some(targets.service.clone());
    goose.scenarios = Some(Scenarios {
        active: plan.active.clone(),
    });
    let users = goose
        .users
        .unwrap_or(2 * plan.selected.len())
        .max(plan.selected.len());
    goose.users.get_or_insert(users);
    goose.increase_rate.get_or_insert_with(|| users.to_string());
    // `test_plan` is private in goose's configuration; its serialized form tells.
    let has_test_plan = serde_json::to_value(&*goose)
        .ok()
        .and_then(|config| config.get("test_plan").cloned())
        .is_some_and(|plan| !plan.is_null());
    if goose.run_time.is_none() && goose.iterations.is_none() && !has_test_plan {
        goose.run_time = Some("30s".into());
    }
    if summary_file == Some(Path::new("-")) {
        goose.no_print_metrics = true;
    }
}

/// An SQS client for `endpoint` (or AWS's default). Against a loopback endpoint without
/// credentials in the environment, placeholder ones are used, as the emulator ignores them.
async fn sqs_client(endpoint: Option<&str>) -> aws_sdk_sqs::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    let has_credentials = std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
        || std::env::var_os("AWS_PROFILE").is_some();
    if endpoint.is_some_and(is_loopback) && !has_credentials {
        loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "slipway", "slipway", None, None, "loadtest",
        ));
    }
    aws_sdk_sqs::Client::new(&loader.load().await)
}
