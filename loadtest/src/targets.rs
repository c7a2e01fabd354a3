//! Where the load goes: the service, its metrics, the SQS endpoint and queues.
//!
//! Each target comes from a flag, else the environment (the names the service itself reads),
//! else `.devstack/state.json`, so that `cargo run -p loadtest` against a running devstack
//! needs no flags. Write scenarios refuse a target that is not loopback unless told.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use slipway_contracts::state::{self, StackState};

use crate::cli::RunArgs;

/// The resolved targets of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// The service's base URL, without a trailing slash.
    pub service: String,
    /// Its Prometheus endpoint.
    pub metrics: String,
    /// The SQS endpoint; `None` means the SDK's default (Amazon SQS in `AWS_REGION`).
    pub sqs_endpoint: Option<String>,
    /// The orders queue.
    pub queue_url: Option<String>,
    /// The dead-letter queue.
    pub dlq_url: Option<String>,
    /// Where defaults came from, when a state file was read.
    pub state_file: Option<String>,
    /// The orders database, for the reconciliation.
    pub database_url: Option<String>,
    /// The running stack's control socket (beside its state file), for chaos plans.
    pub control_socket: Option<std::path::PathBuf>,
}

/// Why targets could not be resolved or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No service URL anywhere.
    #[error(
        "no service to load: pass --host URL, set SERVICE_URL, or start a stack with `cargo run -p devstack`"
    )]
    NoService,
    /// A URL that does not parse.
    #[error("{what} `{url}` is not an http(s) URL")]
    BadUrl {
        /// Which target.
        what: &'static str,
        /// The value.
        url: String,
    },
    /// A queue scenario without a queue.
    #[error(
        "the {scenario} scenario needs the orders queue: pass --queue-url, set SQS_QUEUE_URL, or start a devstack"
    )]
    NoQueue {
        /// The scenario.
        scenario: String,
    },
    /// Writes against a remote target.
    #[error(
        "refusing to run write scenarios ({scenarios}) against {target}, which is not loopback; pass --allow-remote-writes if you mean it"
    )]
    RemoteWrites {
        /// The scenarios that write.
        scenarios: String,
        /// The remote target.
        target: String,
    },
    /// The state file exists but cannot be read.
    #[error("{0}")]
    State(String),
}

/// The environment a resolution reads, apart from the process's own (for tests).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `SERVICE_URL`.
    pub service_url: Option<String>,
    /// `AWS_ENDPOINT_URL_SQS`, else `AWS_ENDPOINT_URL`.
    pub sqs_endpoint: Option<String>,
    /// `DATABASE_URL`.
    pub database_url: Option<String>,
}

impl Environment {
    /// Reads the process's environment.
    pub fn from_process() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Self {
            service_url: var("SERVICE_URL"),
            sqs_endpoint: var("AWS_ENDPOINT_URL_SQS").or_else(|| var("AWS_ENDPOINT_URL")),
            database_url: var("DATABASE_URL"),
        }
    }
}

impl Targets {
    /// Resolves every target: flag, then environment, then the state file.
    pub fn resolve(args: &RunArgs, env: &Environment) -> Result<Self, TargetError> {
        let state_path = args.state_file.clone().or_else(|| {
            std::env::current_dir()
                .ok()
                .and_then(|dir| state::locate(&dir))
        });
        let stack = match &state_path {
            Some(path) => read_state(path, args.state_file.is_some())?,
            None => None,
        };
        let from_state = |key: &str| stack.as_ref().and_then(|s| s.env.get(key).cloned());

        let service = args
            .goose
            .host
            .clone()
            .or_else(|| env.service_url.clone())
            .or_else(|| from_state("SERVICE_URL"))
            .ok_or(TargetError::NoService)?;
        let service = checked_url("service URL", service.trim_end_matches('/'))?;
        let metrics = match &args.metrics_url {
            Some(url) => checked_url("metrics URL", url)?,
            None => format!("{service}/metrics"),
        };
        let sqs_endpoint = args
            .sqs_endpoint
            .clone()
            .or_else(|| env.sqs_endpoint.clone())
            .or_else(|| from_state("AWS_ENDPOINT_URL"))
            .map(|url| checked_url("SQS endpoint", &url))
            .transpose()?;
        let queue_url = args
            .queue_url
            .clone()
            .or_else(|| from_state("SQS_QUEUE_URL"));
        let dlq_url = args.dlq_url.clone().or_else(|| from_state("SQS_DLQ_URL"));
        let database_url = args
            .database_url
            .clone()
            .or_else(|| env.database_url.clone())
            .or_else(|| from_state("DATABASE_URL"));
        let control_socket = stack.as_ref().and(state_path.as_ref()).and_then(|path| {
            path.parent()
                .map(|dir| dir.join(slipway_contracts::control::SOCKET_FILE))
        });
        Ok(Self {
            service,
            metrics,
            sqs_endpoint,
            queue_url,
            dlq_url,
            state_file: stack.and(state_path).map(|path| path.display().to_string()),
            database_url,
            control_socket,
        })
    }

    /// Refuses write scenarios against a target that is not loopback, unless allowed.
    pub fn check_writes(
        &self,
        writing: &[&str],
        allow_remote_writes: bool,
    ) -> Result<(), TargetError> {
        if writing.is_empty() || allow_remote_writes {
            return Ok(());
        }
        let remote = [
            Some(&self.service),
            self.sqs_endpoint.as_ref(),
            self.queue_url.as_ref(),
        ]
        .into_iter()
        .flatten()
        .find(|url| !is_loopback(url));
        let sqs_is_aws = self.queue_url.is_some() && self.sqs_endpoint.is_none();
        let target = match (remote, sqs_is_aws) {
            (Some(url), _) => url.clone(),
            (None, true) => "Amazon SQS (no SQS endpoint set)".to_owned(),
            (None, false) => return Ok(()),
        };
        Err(TargetError::RemoteWrites {
            scenarios: writing.join(", "),
            target,
        })
    }
}

impl fmt::Display for Targets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_none =
            |value: &Option<String>, none: &str| value.clone().unwrap_or_else(|| none.to_owned());
        writeln!(f, "targets:")?;
        writeln!(f, "  service       {}", self.service)?;
        writeln!(f, "  metrics       {}", self.metrics)?;
        writeln!(
            f,
            "  sqs endpoint  {}",
            or_none(&self.sqs_endpoint, "(AWS default)")
        )?;
        writeln!(f, "  queue         {}", or_none(&self.queue_url, "(none)"))?;
        writeln!(
            f,
            "  dlq           {}",
            or_none(&self.dlq_url, "(from RedrivePolicy)")
        )?;
        if let Some(path) = &self.state_file {
            writeln!(f, "  defaults from {path}")?;
        }
        Ok(())
    }
}

fn read_state(path: &Path, explicit: bool) -> Result<Option<StackState>, TargetError> {
    match StackState::read(path) {
        Ok(stack) => Ok(Some(stack)),
        Err(state::StateError::NotFound(_)) if !explicit => Ok(None),
        Err(error) => Err(TargetError::State(error.to_string())),
    }
}

fn checked_url(what: &'static str, url: &str) -> Result<String, TargetError> {
    let bad = || TargetError::BadUrl {
        what,
        url: url.to_owned(),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(bad)?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad());
    }
    Ok(url.to_owned())
}

/// The host of an http(s) URL, without port or brackets.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// Whether a URL points at this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &str) -> bool {
    let host = host_of(url);
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use slipway_contracts::state::SCHEMA_VERSION;

    fn args(extra: &[&str]) -> RunArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            run: RunArgs,
        }
        let argv = ["loadtest"].into_iter().chain(extra.iter().copied());
        Only::try_parse_from(argv).unwrap().run
    }

    fn state_file(dir: &Path) -> std::path::PathBuf {
        let stack = StackState {
            schema_version: SCHEMA_VERSION,
            devstack_pid: 1,
            ephemeral: true,
            components: Vec::new(),
            env: BTreeMap::from([
                (
                    "SERVICE_URL".to_owned(),
                    "http://127.0.0.1:18080".to_owned(),
                ),
                (
                    "AWS_ENDPOINT_URL".to_owned(),
                    "http://127.0.0.1:19324".to_owned(),
                ),
                (
                    "SQS_QUEUE_URL".to_owned(),
                    "http://127.0.0.1:19324/000000000000/orders".to_owned(),
                ),
                (
                    "SQS_DLQ_URL".to_owned(),
                    "http://127.0.0.1:19324/000000000000/orders-dlq".to_owned(),
                ),
            ]),
        };
        let path = dir.join("state.json");
        stack.write(&path).unwrap();
        path
    }

    #[test]
    fn defaults_come_from_the_state_file_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_file(dir.path());
        let path = path.to_str().unwrap();
        let targets =
            Targets::resolve(&args(&["--state-file", path]), &Environment::default()).unwrap();
        assert_eq!(targets.service, "http://127.0.0.1:18080");
        assert_eq!(targets.metrics, "http://127.0.0.1:18080/metrics");
        assert_eq!(
            targets.sqs_endpoint.as_deref(),
            Some("http://127.0.0.1:19324")
        );
        assert!(targets.queue_url.unwrap().ends_with("/orders"));
        assert!(targets.dlq_url.unwrap().ends_with("/orders-dlq"));
        assert_eq!(targets.state_file.as_deref(), Some(path));

        let env = Environment {
            service_url: Some("http://localhost:9000/".into()),
            sqs_endpoint: None,
            database_url: None,
        };
        let targets = Targets::resolve(&args(&["--state-file", path]), &env).unwrap();
        assert_eq!(targets.service, "http://localhost:9000");
        let targets = Targets::resolve(
            &args(&["--state-file", path, "--host", "http://[::1]:7000"]),
            &env,
        )
        .unwrap();
        assert_eq!(targets.service, "http://[::1]:7000");
    }

    #[test]
    fn no_service_anywhere_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.json");
        let error = Targets::resolve(
            &args(&["--state-file", missing.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap_err();
        // An explicit state file that is missing is an error of its own.
        assert!(matches!(error, TargetError::State(_)), "{error}");
        let error =
            Targets::resolve(&args(&["--host", "ftp://x"]), &Environment::default()).unwrap_err();
        assert!(error.to_string().contains("not an http(s) URL"));
    }

    #[test]
    fn loopback_is_recognised() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "https://LOCALHOST:1/x",
            "http://[::1]:80/",
            "http://127.9.9.9",
            "http://user:pw@127.0.0.1:5/",
            "http://api.localhost:8080",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://staging.example.com",
            "http://10.0.0.5:8080",
            "http://[2001:db8::1]:80",
            "http://127.0.0.1.example.com",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }

    #[test]
    fn writes_against_remote_targets_need_consent() {
        let local = Targets {
            service: "http://127.0.0.1:8080".into(),
            metrics: "http://127.0.0.1:8080/metrics".into(),
            sqs_endpoint: Some("http://127.0.0.1:9324".into()),
            queue_url: Some("http://127.0.0.1:9324/000000000000/orders".into()),
            dlq_url: None,
            state_file: None,
            database_url: None,
            control_socket: None,
        };
        assert!(local.check_writes(&["checkout"], false).is_ok());
        let remote = Targets {
            service: "https://staging.example.com".into(),
            ..local.clone()
        };
        let error = remote
            .check_writes(&["checkout", "queue"], false)
            .unwrap_err();
        assert!(error.to_string().contains("staging.example.com"));
        assert!(error.to_string().contains("checkout, queue"));
        assert!(remote.check_writes(&["checkout"], true).is_ok());
        assert!(remote.check_writes(&[], false).is_ok());
        let aws = Targets {
            sqs_endpoint: None,
            queue_url: Some("https://sqs.eu-west-1.amazonaws.com/1/orders".into()),
            ..local
        };
        assert!(
            aws.check_writes(&["queue"], false)
                .unwrap_err()
                .to_string()
                .contains("amazonaws.com")
        );
    }
}
