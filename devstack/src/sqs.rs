//! `devstack sqs`: the SQS emulator served alone, like `elasticmq-native`, until Ctrl-C or
//! SIGTERM: with the queues `devstack.toml` declares, in memory or in a data directory.

use std::net::SocketAddr;

use anyhow::Context as _;
use sqs_emulator::core::SqsSettings;
use sqs_emulator::persist::PersistOptions;
use sqs_emulator::server::{Emulator, StartError};

use crate::cli::SqsArgs;
use crate::config::DevstackConfig;
use crate::launch::sqs::{create_queues, recovery_notes};
use crate::paths::Paths;
use crate::signals::shutdown_signal;

/// Runs the emulator until Ctrl-C or SIGTERM.
pub async fn run(paths: &Paths, args: SqsArgs) -> anyhow::Result<()> {
    let config = DevstackConfig::load(&paths.config_file())?;
    let declared = if args.no_declared_queues {
        Vec::new()
    } else {
        config.queues.clone()
    };
    let addr = SocketAddr::new(args.host, args.port);
    let settings = SqsSettings {
        region: args.region.clone(),
        account_id: args.account_id.clone(),
    };
    let mut builder = Emulator::builder()
        .settings(settings)
        .message_history(args.message_history)
        .queue_url_style(args.queue_url_style);
    if let Some(dir) = &args.data_dir {
        let mut options = PersistOptions::new(dir);
        options.fsync = args.fsync;
        options.repair = args.repair;
        builder = builder.persist(options);
    }
    let emulator = builder.bind(addr).await.map_err(|e| match e {
        StartError::Bind { .. } => anyhow::Error::new(e).context(format!(
            "cannot listen on {addr} (is another emulator or ElasticMQ running? try --port 0)"
        )),
        other => anyhow::Error::new(other),
    })?;
    let endpoint = emulator.endpoint();
    println!("SQS emulator listening on {endpoint} (AWS JSON 1.0 and Query protocols)");
    if let (Some(dir), Some(recovery)) = (emulator.data_dir(), emulator.recovery()) {
        println!(
            "  data in {} (fsync {}): restored {} queues from {} records",
            dir.display(),
            args.fsync,
            recovery.queues,
            recovery.records
        );
        for note in recovery_notes(recovery) {
            println!("  note: {note}");
        }
    }
    if !declared.is_empty() {
        let urls = create_queues(&endpoint, &declared)
            .await
            .context("cannot create the declared queues (see devstack.toml)")?;
        for queue in &declared {
            if let Some(url) = urls.get(&queue.name) {
                println!("  queue {url}");
            }
        }
    }
    for rule in &config.faults {
        let added = emulator
            .faults()
            .add(rule.clone())
            .map_err(|reason| anyhow::anyhow!("a [[faults]] rule of devstack.toml: {reason}"))?;
        println!(
            "  fault rule {} (devstack.toml; DELETE {endpoint}/_slipway/faults/{} to lift it)",
            added.id, added.id
        );
    }
    println!(
        "  export AWS_ENDPOINT_URL={endpoint} AWS_REGION={0} AWS_DEFAULT_REGION={0} AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x",
        args.region
    );
    println!("  aws sqs create-queue --queue-name orders");
    if !args.host.is_loopback() {
        println!(
            "  note: listening on {} — reachable from other machines; the emulator has no authentication",
            args.host
        );
    }
    emulator
        .run_until(shutdown_signal())
        .await
        .context("emulator stopped with an error")?;
    println!("SQS emulator stopped");
    Ok(())
}
