//! An axum hello-world on the same stack as the service: the baseline the benchmarks compare
//! against (`bench/service.sh`). `cargo run --release -p service --example hello -- 127.0.0.1:8099`

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(
        listener,
        Router::new().route("/", get(|| async { "Hello, World!" })),
    )
    .await?;
    Ok(())
}
