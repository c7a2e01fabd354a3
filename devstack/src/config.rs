//! `devstack.toml`: optional settings at the workspace root (ports, backends, queues, apps). No
//! file is needed for the defaults; command-line flags override the file. `[[apps]]` is
//! described in `crate::apps::declaration`.
//!
//! ```toml
//! [ports]
//! postgres = 55432
//! redis = 56379
//! sqs = 9324
//! service = 8080
//!
//! [backends]            # auto | native | docker, and for sqs: embedded | docker
//! postgres = "auto"
//! redis = "auto"
//! sqs = "embedded"
//!
//! [[queues]]
//! name = "orders-dlq"
//!
//! [[queues]]
//! name = "orders"
//! attributes = { VisibilityTimeout = "30" }
//! dead_letter = { queue = "orders-dlq", max_receive_count = 5 }
//!
//! [[faults]]            # fault rules the SQS emulator starts with (see /_slipway/faults)
//! actions = ["SendMessage"]
//! queue = "orders"
//! probability = 0.1
//! error = { code = "ThrottlingException" }
//!
//! [hooks]               # see crate::hooks: once per fresh state, and before stopping
//! ready = ["./scripts/seed.sh"]
//! stop = []
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sqs_emulator::faults::RuleSpec;

use crate::apps::declaration::AppDeclaration;
use crate::cli::BackendChoice;
use crate::ports;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevstackConfig {
    /// Ports.
    pub ports: PortsConfig,
    /// Backends.
    pub backends: BackendsConfig,
    /// Queues to create, in order (a DLQ before the queue that uses it).
    pub queues: Vec<QueueDeclaration>,
    /// The queue whose URL is `SQS_QUEUE_URL` (its DLQ is `SQS_DLQ_URL`).
    pub main_queue: String,
    /// The apps to run (`[[apps]]`); none declared means the orders service.
    pub apps: Vec<AppDeclaration>,
    /// Reload apps on save, as `up --watch` does.
    pub watch: bool,
    /// The trace collector's bounds.
    pub telemetry: TelemetryConfig,
    /// Fault rules the SQS emulator starts with (`[[faults]]`, the JSON of
    /// `POST /_slipway/faults` as TOML).
    pub faults: Vec<RuleSpec>,
    /// Commands run once the stack is ready and before it stops (`[hooks]`).
    pub hooks: crate::hooks::HooksConfig,
}

/// `[telemetry]`: how many spans the collector keeps (the oldest go first past either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Most spans kept.
    pub max_spans: usize,
    /// Most megabytes of spans kept.
    pub max_megabytes: usize,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        let bounds = crate::otlp::store::Bounds::default();
        Self {
            max_spans: bounds.max_spans,
            max_megabytes: bounds.max_bytes / (1024 * 1024),
        }
    }
}

impl TelemetryConfig {
    /// The store's bounds.
    pub fn bounds(&self) -> crate::otlp::store::Bounds {
        crate::otlp::store::Bounds {
            max_spans: self.max_spans.max(1),
            max_bytes: self.max_megabytes.max(1).saturating_mul(1024 * 1024),
        }
    }
}

/// `[ports]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortsConfig {
    /// Postgres.
    pub postgres: u16,
    /// Redis.
    pub redis: u16,
    /// SQS emulator.
    pub sqs: u16,
    /// The service's HTTP port.
    pub service: u16,
    /// The trace collector's OTLP/HTTP port.
    pub otlp: u16,
    /// The trace collector's OTLP/gRPC port.
    pub otlp_grpc: u16,
}

/// `[backends]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendsConfig {
    /// Postgres backend.
    pub postgres: BackendChoice,
    /// Redis backend.
    pub redis: BackendChoice,
    /// SQS backend.
    pub sqs: BackendChoice,
}

/// One queue to create at start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueDeclaration {
    /// Queue name.
    pub name: String,
    /// SQS attributes, as strings.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Its dead-letter queue.
    #[serde(default)]
    pub dead_letter: Option<DeadLetter>,
}

/// A dead-letter setting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetter {
    /// The DLQ's name (declared earlier in the list).
    pub queue: String,
    /// Receives before a message moves there.
    pub max_receive_count: u32,
}

impl Default for PortsConfig {
    fn default() -> Self {
        Self {
            postgres: ports::POSTGRES,
            redis: ports::REDIS,
            sqs: ports::SQS,
            service: ports::SERVICE,
            otlp: crate::otlp::receiver::DEFAULT_HTTP_PORT,
            otlp_grpc: crate::otlp::receiver::DEFAULT_GRPC_PORT,
        }
    }
}

impl Default for BackendsConfig {
    fn default() -> Self {
        Self {
            postgres: BackendChoice::Auto,
            redis: BackendChoice::Auto,
            sqs: BackendChoice::Embedded,
        }
    }
}

impl Default for DevstackConfig {
    fn default() -> Self {
        Self {
            ports: PortsConfig::default(),
            backends: BackendsConfig::default(),
            queues: default_queues(),
            main_queue: "orders".into(),
            apps: Vec::new(),
            watch: false,
            telemetry: TelemetryConfig::default(),
            faults: Vec::new(),
            hooks: crate::hooks::HooksConfig::default(),
        }
    }
}

/// `orders` with `orders-dlq` as its DLQ after 5 receives.
pub fn default_queues() -> Vec<QueueDeclaration> {
    vec![
        QueueDeclaration {
            name: "orders-dlq".into(),
            attributes: BTreeMap::new(),
            dead_letter: None,
        },
        QueueDeclaration {
            name: "orders".into(),
            attributes: BTreeMap::new(),
            dead_letter: Some(DeadLetter {
                queue: "orders-dlq".into(),
                max_receive_count: 5,
            }),
        },
    ]
}

/// Why `devstack.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid TOML of this schema.
    #[error("{path} is invalid: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        message: String,
    },
}

impl DevstackConfig {
    /// Reads `path`, or the defaults when it does not exist.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses and checks the file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut declared = Vec::new();
        for queue in &config.queues {
            if let Some(dl) = &queue.dead_letter {
                if !declared.contains(&dl.queue.as_str()) {
                    return Err(format!(
                        "queue {}: its dead-letter queue {} must be declared before it",
                        queue.name, dl.queue
                    ));
                }
                if !(1..=1000).contains(&dl.max_receive_count) {
                    return Err(format!(
                        "queue {}: max_receive_count must be 1 to 1000",
                        queue.name
                    ));
                }
            }
            declared.push(queue.name.as_str());
        }
        if !config.queues.is_empty() && !declared.contains(&config.main_queue.as_str()) {
            return Err(format!(
                "main_queue {} is not declared in [[queues]]",
                config.main_queue
            ));
        }
        for (index, rule) in config.faults.iter().enumerate() {
            rule.validate()
                .map_err(|reason| format!("[[faults]] number {}: {reason}", index + 1))?;
        }
        crate::apps::declaration::check(&config.apps, text)?;
        Ok(config)
    }

    /// The DLQ of the main queue, if it has one.
    pub fn main_dead_letter_queue(&self) -> Option<&str> {
        self.queues
            .iter()
            .find(|q| q.name == self.main_queue)?
            .dead_letter
            .as_ref()
            .map(|d| d.queue.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let config = DevstackConfig::load(&dir.path().join("devstack.toml")).unwrap();
        assert_eq!(config, DevstackConfig::default());
        assert_eq!(config.main_dead_letter_queue(), Some("orders-dlq"));
        assert_eq!(config.ports.postgres, 55432);
    }

    #[test]
    fn a_partial_file_keeps_other_defaults() {
        let config =
            DevstackConfig::parse("[ports]\nredis = 7000\n[backends]\npostgres = \"native\"\n")
                .unwrap();
        assert_eq!(config.ports.redis, 7000);
        assert_eq!(config.ports.postgres, 55432);
        assert_eq!(config.backends.postgres, BackendChoice::Native);
        assert_eq!(config.queues, default_queues());
    }

    #[test]
    fn queues_are_checked() {
        let err = DevstackConfig::parse(
            "main_queue = \"a\"\n[[queues]]\nname = \"a\"\ndead_letter = { queue = \"b\", max_receive_count = 3 }\n[[queues]]\nname = \"b\"\n",
        )
        .unwrap_err();
        assert!(err.contains("must be declared before it"), "{err}");
        assert!(DevstackConfig::parse("[ports]\nredis = \"x\"\n").is_err());
        assert!(
            DevstackConfig::parse("[porst]\n").is_err(),
            "unknown sections are refused"
        );
    }

    #[test]
    fn fault_rules_are_declared_and_checked() {
        let config = DevstackConfig::parse(
            "[[faults]]\nactions = [\"SendMessage\"]\nqueue = \"orders\"\nprobability = 0.5\nerror = { code = \"ServiceUnavailable\", status = 503 }\ncount = 3\n",
        )
        .unwrap();
        assert_eq!(config.faults.len(), 1);
        assert_eq!(config.faults[0].count, Some(3));
        assert!(config.faults[0].validate().is_ok());
        let err = DevstackConfig::parse("[[faults]]\nqueue = \"orders\"\n").unwrap_err();
        assert!(err.contains("[[faults]] number 1"), "{err}");
        assert!(err.contains("exactly one effect"), "{err}");
        assert!(DevstackConfig::parse("[[faults]]\nduplicat = true\n").is_err());
    }
}
