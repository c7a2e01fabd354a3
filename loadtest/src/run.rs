//! `loadtest run` and `loadtest merge`: resolve targets, run goose, check the queue and the
//! DLQ, scrape the service, judge the SLOs, report.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use goose::config::Scenarios;
use goose::metrics::GooseMetrics;
use goose::{GooseAttack, GooseError};

use crate::checks;
use crate::cli::{MergeArgs, RunArgs};
use crate::report;
use crate::scenarios::{self, ScenarioSettings, Shared};
use crate::service_metrics::Snapshot;
use crate::slo::{self, Slo, Verdict};
use crate::summary::{RequestStats, Summary};
use crate::targets::{Environment, TargetError, Targets, is_loopback};

/// The exit status of a run whose SLOs or checks failed (k6's choice).
pub const SLO_FAILED_EXIT: u8 = 99;

/// Where the human report goes: stdout, or stderr when the JSON summary takes stdout.
fn report_stream(args_summary: Option<&Path>) -> Box<dyn Write> {
    if args_summary.is_some_and(|p| p == Path::new("-")) {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    }
}

fn parse_slos(rules: &[String]) -> anyhow::Result<Vec<Slo>> {
    slo::parse_all(rules).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("{}", lines.join("\n"))
    })
}

/// Runs the load test; `Ok(true)` when every SLO and check passed.
pub async fn run(mut args: RunArgs) -> anyhow::Result<bool> {
    if args.goose.version {
        // Goose's `--version` flag, flattened into this command line, answers for us.
        println!("loadtest {}", env!("CARGO_PKG_VERSION"));
        return Ok(true);
    }
    let slos = parse_slos(&args.slos)?;
    let targets = Targets::resolve(&args, &Environment::from_process())?;
    let mut out = report_stream(args.summary_file.as_deref());

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
    let selected: Vec<&str> = scenarios::ALL.into_iter().filter(|s| runs(s)).collect();
    if selected.is_empty() {
        anyhow::bail!(
            "--scenarios {} selects no scenario; the scenarios are {}",
            active.join(","),
            scenarios::ALL.join(", ")
        );
    }
    write!(out, "{targets}")?;
    writeln!(out, "  scenarios     {}", selected.join(", "))?;
    targets.check_writes(
        &scenarios::writing(&active, &settings),
        args.allow_remote_writes,
    )?;

    let queue_scenarios: Vec<&str> = ["queue", "poison"]
        .into_iter()
        .filter(|s| runs(s))
        .collect();
    let sqs = match (&targets.queue_url, queue_scenarios.first()) {
        (Some(url), _) => Some((
            sqs_client(targets.sqs_endpoint.as_deref()).await,
            url.clone(),
        )),
        (None, Some(scenario)) => {
            return Err(TargetError::NoQueue {
                scenario: (*scenario).to_owned(),
            }
            .into());
        }
        (None, None) => None,
    };

    // Goose's settings: the target, the scenarios, and defaults fit for this suite.
    let goose = &mut args.goose;
    goose.host = Some(targets.service.clone());
    goose.scenarios = Some(Scenarios {
        active: active.clone(),
    });
    let users = goose
        .users
        .unwrap_or(2 * selected.len())
        .max(selected.len());
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
    if args.summary_file.as_deref() == Some(Path::new("-")) {
        goose.no_print_metrics = true;
    }

    let shared = Arc::new(Shared::new(settings, sqs));
    let attack = GooseAttack::initialize_with_config(args.goose.clone())?;
    let attack = scenarios::register(attack, &shared, &args.weights)?;

    let http = reqwest::Client::new();
    let before = Snapshot::scrape(&http, &targets.metrics).await;
    if let Err(error) = &before {
        writeln!(out, "note: {error}; service-side figures will be missing")?;
    }
    let load_started = Instant::now();
    let (metrics, goose_failed) = match attack.execute().await {
        Ok(metrics) => (metrics, None),
        Err(GooseError::ThresholdsFailed { failed, metrics }) => {
            let failed: Vec<Verdict> = failed
                .into_iter()
                .map(|result| Verdict {
                    rule: format!("goose threshold {}", result.rule),
                    observed: result.observed.to_string(),
                    passed: false,
                })
                .collect();
            (*metrics.0, Some(failed))
        }
        Err(error) => return Err(error).context("the load test could not run"),
    };
    let load_ended = Instant::now();

    let mut summary = summarize(&metrics);
    let drain_timeout = Duration::from_secs(args.drain_timeout);
    let queued = std::mem::take(&mut *shared.queued.lock());
    if runs("queue") {
        summary.queue = Some(
            checks::wait_for_orders(
                &http,
                &targets.service,
                queued,
                load_started,
                load_ended,
                drain_timeout,
            )
            .await,
        );
    }
    if runs("poison") {
        let markers = std::mem::take(&mut *shared.poisoned.lock());
        summary.poison = Some(match &shared.sqs {
            Some((client, queue_url)) => {
                let dlq = match &targets.dlq_url {
                    Some(url) => Some(url.clone()),
                    None => checks::dead_letter_queue_of(client, queue_url).await,
                };
                match dlq {
                    Some(dlq) => {
                        checks::find_poison(
                            client,
                            &dlq,
                            markers,
                            drain_timeout,
                            args.keep_dead_letters,
                        )
                        .await
                    }
                    None => unchecked_poison(markers.len()),
                }
            }
            None => unchecked_poison(markers.len()),
        });
    }
    if let Ok(before) = &before {
        match Snapshot::scrape(&http, &targets.metrics).await {
            Ok(after) => summary.service = Some(after.since(before)),
            Err(error) => writeln!(out, "note: {error}")?,
        }
    }

    judge(&mut summary, &slos, goose_failed.unwrap_or_default());
    write!(out, "{}", report::render(&summary))?;
    if let Some(path) = &args.summary_file {
        write_summary(&summary, path)?;
    }
    Ok(summary.passed)
}

fn unchecked_poison(sent: usize) -> crate::summary::PoisonFigures {
    crate::summary::PoisonFigures {
        sent: sent as u64,
        dead_lettered: 0,
        checked: false,
    }
}

/// Judges the SLOs and the end-of-run checks into `summary.verdicts` and `.passed`.
pub fn judge(summary: &mut Summary, slos: &[Slo], mut extra: Vec<Verdict>) {
    let mut verdicts: Vec<Verdict> = slos.iter().map(|slo| slo.judge(summary)).collect();
    if let Some(queue) = &summary.queue {
        verdicts.push(Verdict {
            rule: "check: every queued order finished".into(),
            observed: format!("{}/{}", queue.completed + queue.failed, queue.sent),
            passed: queue.all_finished(),
        });
    }
    if let Some(poison) = &summary.poison {
        verdicts.push(Verdict {
            rule: "check: every poison message dead-lettered".into(),
            observed: if poison.checked {
                format!("{}/{}", poison.dead_lettered, poison.sent)
            } else {
                "no DLQ".into()
            },
            passed: poison.all_dead_lettered(),
        });
    }
    verdicts.append(&mut extra);
    summary.passed = verdicts.iter().all(|v| v.passed);
    summary.verdicts = verdicts;
}

/// Goose's metrics as a summary: per request name, its buckets and counts.
pub fn summarize(metrics: &GooseMetrics) -> Summary {
    let mut summary = Summary::new();
    summary.duration_secs = metrics.duration as f64;
    summary.users = metrics.maximum_users;
    for aggregate in metrics.requests.values() {
        let name = format!("{} {}", aggregate.method_label(), aggregate.path);
        let raw = &aggregate.raw_data;
        let mut stats = RequestStats {
            count: (aggregate.success_count + aggregate.fail_count) as u64,
            failures: aggregate.fail_count as u64,
            min_us: raw.minimum_time_us,
            max_us: raw.maximum_time_us,
            total_us: raw.total_time_us,
            ..RequestStats::default()
        };
        for (&time, &count) in raw.times_us.iter() {
            stats.record_bucket(time, count as u64);
        }
        summary.requests.entry(name).or_default().absorb(&stats);
    }
    summary
}

fn write_summary(summary: &Summary, path: &Path) -> anyhow::Result<()> {
    if path == Path::new("-") {
        // One line, so that a pod log holding report lines as well still yields it.
        println!("{}", serde_json::to_string(summary)?);
        return Ok(());
    }
    let text = serde_json::to_string_pretty(summary)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write the summary to {}", path.display()))
}

/// `loadtest merge`: merges summaries, judges SLOs on the whole, reports. `Ok(true)` when
/// every SLO passed.
pub fn merge(args: &MergeArgs) -> anyhow::Result<bool> {
    let slos = parse_slos(&args.slos)?;
    let summaries = args
        .summaries
        .iter()
        .map(|path| Summary::read(path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut merged = Summary::merge(&summaries)?;
    judge(&mut merged, &slos, Vec::new());
    match &args.output {
        Some(path) => {
            write_summary(&merged, path)?;
            print!("{}", report::render(&merged));
        }
        None => {
            eprint!("{}", report::render(&merged));
            write_summary(&merged, Path::new("-"))?;
        }
    }
    Ok(merged.passed)
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
