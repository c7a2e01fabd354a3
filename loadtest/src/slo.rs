//! SLO thresholds in the manner of k6's: parsed from `--slo` and judged on a [`Summary`].
//!
//! A rule is `<metric><op><value>`, optionally followed by ` for <request name>` (goose's
//! `--threshold` form), for example `p99<50ms`, `error_rate<0.1%`, `rps>500`,
//! `queue_lag_p99<2s` or `p95<20ms for GET /v1/orders/{id}`.
//!
//! - request metrics, over all requests or the named one: `pNN` (`p50`, `p99.9`…), `avg`,
//!   `max` (times: a number with `us`, `ms` or `s`; a bare number is milliseconds),
//!   `error_rate` (a percent; `%` optional), `rps` and `requests` (numbers);
//! - service metrics, from its `/metrics`: `queue_lag_pNN` (a time), `dead_letters` (a
//!   number: messages the service dead-lettered during the run);
//! - queue metrics, from the queue scenario: `drain` (a time: end of load until the last
//!   order finished) and `queue_rate` (orders finished per second).
//!
//! Rules are judged on a summary rather than on goose's metrics so that the same rule
//! judges one generator and the merged summary of many alike.

use std::fmt;
use std::str::FromStr;

use crate::summary::Summary;
use crate::verdict::Verdict;

/// What a rule measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// A response-time percentile (0 < p < 100).
    Percentile(f64),
    /// The mean response time.
    Average,
    /// The slowest response.
    Maximum,
    /// Failed requests, as a percent.
    ErrorRate,
    /// Requests per second.
    RequestsPerSecond,
    /// Requests made.
    Requests,
    /// A percentile of the service's queue lag.
    QueueLag(f64),
    /// Messages the service dead-lettered during the run.
    DeadLetters,
    /// Seconds from the end of load until the queue scenario's last order finished.
    Drain,
    /// Queue-scenario orders finished per second.
    QueueRate,
}

/// How a rule compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

/// One SLO rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// The rule as given, trimmed.
    pub text: String,
    /// What it measures.
    pub measure: Measure,
    /// How it compares.
    pub comparison: Comparison,
    /// The limit, in the measure's base unit: microseconds for times (seconds for
    /// [`Measure::QueueLag`] and [`Measure::Drain`]), a percent for the error rate, a plain
    /// number otherwise.
    pub limit: f64,
    /// The request name it judges; all requests when `None`.
    pub request: Option<String>,
}

/// Why a rule could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SLO `{rule}`: {reason}")]
pub struct SloError {
    /// The rule.
    pub rule: String,
    /// Why.
    pub reason: String,
}

impl Comparison {
    fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Comparison::Less => observed < limit,
            Comparison::LessOrEqual => observed <= limit,
            Comparison::Greater => observed > limit,
            Comparison::GreaterOrEqual => observed >= limit,
        }
    }
}

impl Measure {
    fn unit(self) -> Unit {
        match self {
            Measure::Percentile(_) | Measure::Average | Measure::Maximum => Unit::Micros,
            Measure::QueueLag(_) | Measure::Drain => Unit::Seconds,
            Measure::ErrorRate => Unit::Percent,
            Measure::RequestsPerSecond
            | Measure::Requests
            | Measure::DeadLetters
            | Measure::QueueRate => Unit::Number,
        }
    }

    fn is_per_request(self) -> bool {
        matches!(
            self,
            Measure::Percentile(_)
                | Measure::Average
                | Measure::Maximum
                | Measure::ErrorRate
                | Measure::RequestsPerSecond
                | Measure::Requests
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Micros,
    Seconds,
    Percent,
    Number,
}

fn parse_percentile(text: &str) -> Option<f64> {
    let value: f64 = text.parse().ok()?;
    (value > 0.0 && value < 100.0).then_some(value)
}

fn parse_measure(name: &str) -> Option<Measure> {
    let name = name.to_ascii_lowercase().replace('-', "_");
    Some(match name.as_str() {
        "avg" => Measure::Average,
        "max" => Measure::Maximum,
        "error_rate" => Measure::ErrorRate,
        "rps" => Measure::RequestsPerSecond,
        "requests" => Measure::Requests,
        "dead_letters" => Measure::DeadLetters,
        "drain" => Measure::Drain,
        "queue_rate" => Measure::QueueRate,
        other => {
            if let Some(p) = other.strip_prefix("queue_lag_p") {
                Measure::QueueLag(parse_percentile(p)?)
            } else if let Some(p) = other.strip_prefix('p') {
                Measure::Percentile(parse_percentile(p)?)
            } else {
                return None;
            }
        }
    })
}

/// Splits `12.5ms` into `(12.5, "ms")`.
fn split_number(text: &str) -> Option<(f64, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number: f64 = text[..end].parse().ok()?;
    number.is_finite().then_some((number, text[end..].trim()))
}

fn parse_limit(unit: Unit, text: &str) -> Result<f64, String> {
    let (number, suffix) = split_number(text).ok_or_else(|| format!("`{text}` is not a number"))?;
    let seconds_per = |suffix: &str| match suffix {
        "us" | "µs" => Some(1e-6),
        "" | "ms" => Some(1e-3),
        "s" => Some(1.0),
        "m" => Some(60.0),
        _ => None,
    };
    match unit {
        Unit::Micros | Unit::Seconds => {
            let per = seconds_per(suffix)
                .ok_or_else(|| format!("unknown time unit `{suffix}` (use us, ms or s)"))?;
            let seconds = number * per;
            Ok(if unit == Unit::Micros {
                seconds * 1e6
            } else {
                seconds
            })
        }
        Unit::Percent => match suffix {
            "" | "%" => Ok(number),
            other => Err(format!("an error rate is a percent, not `{other}`")),
        },
        Unit::Number => match suffix {
            "" => Ok(number),
            other => Err(format!("expected a plain number, found unit `{other}`")),
        },
    }
}

impl FromStr for Slo {
    type Err = SloError;

    fn from_str(rule: &str) -> Result<Self, Self::Err> {
        let text = rule.trim().to_owned();
        let fail = |reason: String| SloError {
            rule: text.clone(),
            reason,
        };
        let (expression, request) = match text.split_once(" for ") {
            Some((expression, request)) if !request.trim().is_empty() => {
                (expression.trim(), Some(request.trim().to_owned()))
            }
            Some(_) => return Err(fail("`for` needs a request name".into())),
            None if text.ends_with(" for") => {
                return Err(fail("`for` needs a request name".into()));
            }
            None => (text.as_str(), None),
        };
        let position = expression
            .find(['<', '>'])
            .ok_or_else(|| fail("expected <, <=, > or >=".into()))?;
        let (name, rest) = expression.split_at(position);
        let (comparison, value) = if let Some(v) = rest.strip_prefix("<=") {
            (Comparison::LessOrEqual, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Comparison::GreaterOrEqual, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Comparison::Less, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (Comparison::Greater, v)
        } else {
            return Err(fail("expected <, <=, > or >=".into()));
        };
        let measure = parse_measure(name.trim()).ok_or_else(|| {
            fail(format!(
                "unknown metric `{}` (pNN, avg, max, error_rate, rps, requests, \
                 queue_lag_pNN, dead_letters, drain, queue_rate)",
                name.trim()
            ))
        })?;
        if request.is_some() && !measure.is_per_request() {
            return Err(fail(format!(
                "`{}` is not measured per request, so it takes no `for`",
                name.trim()
            )));
        }
        let limit = parse_limit(measure.unit(), value.trim()).map_err(fail)?;
        let impossible = match (comparison, measure.unit()) {
            (Comparison::Less, _) => limit <= 0.0,
            (Comparison::Greater, Unit::Percent) => limit >= 100.0,
            _ => false,
        };
        if impossible {
            return Err(fail("this rule can never pass".into()));
        }
        Ok(Slo {
            text,
            measure,
            comparison,
            limit,
            request,
        })
    }
}

impl fmt::Display for Slo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Slo {
    /// What the summary shows for this rule's measure, in its base unit; `None` when the
    /// summary holds no data for it.
    pub fn observe(&self, summary: &Summary) -> Option<f64> {
        let stats = match &self.request {
            Some(name) => summary.requests.get(name).cloned(),
            None if self.measure.is_per_request() => Some(summary.all_requests()),
            None => None,
        };
        let requests = || stats.as_ref().filter(|s| s.count > 0);
        match self.measure {
            Measure::Percentile(p) => requests()?.percentile_us(p).map(|us| us as f64),
            Measure::Average => requests()?.mean_us(),
            Measure::Maximum => requests().map(|s| s.max_us as f64),
            Measure::ErrorRate => requests().map(|s| s.error_percent()),
            Measure::RequestsPerSecond => stats.as_ref().map(|s| summary.requests_per_sec(s)),
            Measure::Requests => stats.as_ref().map(|s| s.count as f64),
            Measure::QueueLag(p) => summary.service.as_ref()?.queue_lag.quantile(p / 100.0),
            Measure::DeadLetters => summary
                .service
                .as_ref()
                .map(|s| s.outcomes.get("dead_letter").copied().unwrap_or(0) as f64),
            Measure::Drain => summary.queue.as_ref().map(|q| q.drain_secs),
            Measure::QueueRate => summary.queue.as_ref().map(|q| q.finished_per_sec),
        }
    }

    /// Judges the rule on `summary`. Nothing observed is a failure: a rule that cannot be
    /// checked has not been met.
    pub fn judge(&self, summary: &Summary) -> Verdict {
        let observed = self.observe(summary);
        Verdict {
            rule: self.text.clone(),
            observed: observed.map_or_else(|| "no data".into(), |v| self.format(v)),
            passed: observed.is_some_and(|v| self.comparison.holds(v, self.limit)),
        }
    }

    fn format(&self, value: f64) -> String {
        match self.measure.unit() {
            Unit::Micros => format_micros(value),
            Unit::Seconds => format_micros(value * 1e6),
            Unit::Percent => format!("{value:.3}%"),
            Unit::Number => {
                if value.fract() == 0.0 {
                    format!("{value:.0}")
                } else {
                    format!("{value:.1}")
                }
            }
        }
    }
}

/// A time in microseconds, in the unit that reads best.
pub fn format_micros(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1_000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

/// Parses every rule, reporting all the bad ones at once.
pub fn parse_all(rules: &[String]) -> Result<Vec<Slo>, Vec<SloError>> {
    let (good, bad): (Vec<_>, Vec<_>) = rules
        .iter()
        .map(|r| r.parse::<Slo>())
        .partition(Result::is_ok);
    if bad.is_empty() {
        Ok(good.into_iter().filter_map(Result::ok).collect())
    } else {
        Err(bad.into_iter().filter_map(Result::err).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_metrics::{Histogram, ServiceFigures};
    use crate::summary::{QueueFigures, RequestStats};

    fn slo(text: &str) -> Slo {
        text.parse().unwrap()
    }

    #[test]
    fn parses_the_forms_of_the_issue_and_goose() {
        let p99 = slo("p99<50ms");
        assert_eq!(p99.measure, Measure::Percentile(99.0));
        assert_eq!(p99.comparison, Comparison::Less);
        assert_eq!(p99.limit, 50_000.0);
        assert_eq!(p99.request, None);

        let errors = slo("error_rate<0.1%");
        assert_eq!(errors.measure, Measure::ErrorRate);
        assert_eq!(errors.limit, 0.1);
        assert_eq!(slo("error-rate<=1").limit, 1.0);

        let lag = slo("queue_lag_p99<2s");
        assert_eq!(lag.measure, Measure::QueueLag(99.0));
        assert_eq!(lag.limit, 2.0);

        let rps = slo("rps>500");
        assert_eq!(
            (rps.measure, rps.comparison, rps.limit),
            (Measure::RequestsPerSecond, Comparison::Greater, 500.0)
        );

        let named = slo("p99.9 <= 1.5s for GET /v1/orders/{id}");
        assert_eq!(named.measure, Measure::Percentile(99.9));
        assert_eq!(named.comparison, Comparison::LessOrEqual);
        assert_eq!(named.limit, 1_500_000.0);
        assert_eq!(named.request.as_deref(), Some("GET /v1/orders/{id}"));

        assert_eq!(slo("avg<250us").limit, 250.0);
        assert_eq!(slo("max<=20").limit, 20_000.0);
        assert_eq!(slo("drain<1m").limit, 60.0);
        assert_eq!(slo("dead_letters<=0").measure, Measure::DeadLetters);
        assert_eq!(slo("requests>=10").measure, Measure::Requests);
    }

    #[test]
    fn refuses_what_it_cannot_judge_with_a_reason() {
        for (rule, says) in [
            ("p99", "expected <"),
            ("p100<5ms", "unknown metric"),
            ("p0<5ms", "unknown metric"),
            ("latency<5ms", "unknown metric"),
            ("p99<5 parsecs", "unknown time unit"),
            ("p99<fast", "not a number"),
            ("rps>5ms", "plain number"),
            ("error_rate<1ms", "percent"),
            ("p99<0ms", "never pass"),
            ("error_rate>100%", "never pass"),
            ("queue_lag_p99<1s for GET /x", "not measured per request"),
            ("p99<5ms for ", "needs a request name"),
        ] {
            let error = rule.parse::<Slo>().unwrap_err();
            assert!(error.to_string().contains(says), "{rule}: {error}");
        }
        let all = parse_all(&["p99<1ms".into(), "bad".into(), "worse<".into()]).unwrap_err();
        assert_eq!(all.len(), 2);
    }

    fn summary() -> Summary {
        let mut summary = Summary::new();
        summary.duration_secs = 10.0;
        let mut get = RequestStats::default();
        for (time, count) in [(1_000, 980), (40_000, 20)] {
            get.record_bucket(time, count);
            get.total_us += time * count;
        }
        get.count = 1_000;
        get.failures = 1;
        get.min_us = 1_000;
        get.max_us = 40_000;
        summary.requests.insert("GET /v1/orders/{id}".into(), get);
        let mut post = RequestStats::default();
        post.record_bucket(5_000, 100);
        post.total_us = 500_000;
        post.count = 100;
        post.min_us = 5_000;
        post.max_us = 5_000;
        summary.requests.insert("POST /v1/orders".into(), post);
        summary.service = Some(ServiceFigures {
            queue_lag: Histogram {
                buckets: vec![(Some(0.01), 90), (Some(0.1), 100), (None, 100)],
                count: 100,
                sum: 1.0,
            },
            outcomes: [("dead_letter".to_owned(), 3)].into_iter().collect(),
        });
        summary.queue = Some(QueueFigures {
            sent: 10,
            completed: 10,
            drain_secs: 0.5,
            finished_per_sec: 200.0,
            ..QueueFigures::default()
        });
        summary
    }

    #[test]
    fn judges_over_all_requests_or_one_name() {
        let s = summary();
        // 1,100 requests; p99 is rank 1,089: the 40 ms bucket.
        assert!(slo("p99<50ms").judge(&s).passed);
        assert!(!slo("p99<10ms").judge(&s).passed);
        assert_eq!(slo("p99<10ms").judge(&s).observed, "40.00ms");
        assert!(slo("p99<10ms for POST /v1/orders").judge(&s).passed);
        assert!(slo("p50<=1ms for GET /v1/orders/{id}").judge(&s).passed);
        assert!(slo("rps>100").judge(&s).passed);
        assert!(!slo("rps>111").judge(&s).passed);
        assert!(slo("rps>=10 for POST /v1/orders").judge(&s).passed);
        // 1 failure in 1,100 requests is 0.09%.
        assert!(slo("error_rate<0.1%").judge(&s).passed);
        assert!(!slo("error_rate<0.01%").judge(&s).passed);
        assert!(
            !slo("error_rate<0.1% for GET /v1/orders/{id}")
                .judge(&s)
                .passed
        );
        assert!(slo("max<=40ms").judge(&s).passed);
        assert!(slo("avg<5ms").judge(&s).passed);
        assert!(slo("requests>=1100").judge(&s).passed);
    }

    #[test]
    fn judges_service_and_queue_figures() {
        let s = summary();
        assert!(slo("queue_lag_p99<2s").judge(&s).passed);
        assert!(!slo("queue_lag_p99<50ms").judge(&s).passed);
        assert!(!slo("dead_letters<=0").judge(&s).passed);
        assert!(slo("dead_letters<=3").judge(&s).passed);
        assert!(slo("drain<1s").judge(&s).passed);
        assert!(slo("queue_rate>=200").judge(&s).passed);
    }

    #[test]
    fn no_data_fails_and_says_so() {
        let empty = Summary::new();
        for rule in [
            "p99<50ms",
            "queue_lag_p99<2s",
            "drain<1s",
            "p99<1s for GET /nowhere",
        ] {
            let verdict = slo(rule).judge(&empty);
            assert!(!verdict.passed, "{rule}");
            assert_eq!(verdict.observed, "no data");
        }
    }

    #[test]
    fn times_read_in_a_fitting_unit() {
        assert_eq!(format_micros(250.0), "250us");
        assert_eq!(format_micros(12_345.0), "12.35ms");
        assert_eq!(format_micros(2_500_000.0), "2.50s");
    }
}
