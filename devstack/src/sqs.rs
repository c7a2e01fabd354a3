//! `devstack sqs`: the SQS emulator served alone, like `elasticmq-native`, until Ctrl-C or
//! SIGTERM.

use std::net::SocketAddr;

use anyhow::Context as _;
use sqs_emulator::core::SqsSettings;
use sqs_emulator::server::Emulator;

use crate::cli::SqsArgs;
use crate::signals::shutdown_signal;

/// Runs the emulator until Ctrl-C or SIGTERM.
pub async fn run(args: SqsArgs) -> anyhow::Result<()> {
    if args.data_dir.is_some() {
        anyhow::bail!(
            "--data-dir: persistence is not built yet; the emulator keeps queues in memory"
        );
    }
    let addr = SocketAddr::new(args.host, args.port);
    let settings = SqsSettings {
        region: args.region.clone(),
        account_id: args.account_id.clone(),
    };
    let emulator = Emulator::builder()
        .settings(settings)
        .bind(addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {addr} (is another emulator or ElasticMQ running? try --port 0)"
            )
        })?;
    let endpoint = emulator.endpoint();
    println!("SQS emulator listening on {endpoint} (AWS JSON 1.0 protocol)");
    println!(
        "  export AWS_ENDPOINT_URL={endpoint} AWS_REGION={} AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x",
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
