# syntax=docker/dockerfile:1.7
#
# Slipway's images, built from the workspace:
#   docker build -t slipway-service:dev .                       # the service (default target)
#   docker build -t slipway-loadtest:dev --target loadtest .    # the load generator (k8s/loadtest)
#
# Stages: chef (toolchain + cargo-chef) → planner (the dependency recipe) → builder (the
# dependencies compile in their own cached layer, then the workspace) → runtime.
#
# Runtime: a static musl binary on distroless `static-debian12:nonroot`. Not scratch, because
# that image adds exactly what a static binary still needs: CA certificates (TLS to SQS, RDS,
# ElastiCache), /etc/passwd with the `nonroot` user (uid 65532), tzdata. Not distroless `cc`
# (glibc), because its ~25 MB base plus the binary would miss the 30 MB target.
#
# Allocator: musl's own malloc takes a global lock and is several times slower than glibc's
# under threads, so the musl build of the service links mimalloc (service/Cargo.toml, for
# `target_env = "musl"` only; the glibc builds keep glibc's). See README, "Deploy".
#
# BuildKit cache mounts keep cargo's registry and git checkouts between builds; the
# dependency layer of cargo-chef keeps compiled dependencies.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS chef
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && case "${TARGETARCH:-amd64}" in \
      amd64) echo x86_64-unknown-linux-musl ;; \
      arm64) echo aarch64-unknown-linux-musl ;; \
      *) echo "unsupported architecture ${TARGETARCH}" >&2; exit 1 ;; \
    esac > /rust-target \
 && rustup target add "$(cat /rust-target)" \
 && cargo install cargo-chef --locked --version 0.1.71
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml or Cargo.lock change.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    cargo chef cook --release --locked --target "$(cat /rust-target)" \
      --recipe-path recipe.json -p service -p loadtest
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    cargo build --release --locked --target "$(cat /rust-target)" \
      -p service --bin service -p loadtest --bin loadtest \
 && mkdir -p /out \
 && cp "target/$(cat /rust-target)/release/service" "target/$(cat /rust-target)/release/loadtest" /out/

FROM gcr.io/distroless/static-debian12:nonroot AS loadtest
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="slipway-loadtest" \
      org.opencontainers.image.description="Slipway's goose load generator with SLO thresholds" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=builder /out/loadtest /usr/local/bin/loadtest
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/loadtest"]

# The default target: the service alone.
FROM gcr.io/distroless/static-debian12:nonroot AS service
# docker build --build-arg VERSION=… --build-arg REVISION=$(git rev-parse HEAD) .
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="slipway-service" \
      org.opencontainers.image.description="The Slipway orders microservice: HTTP API and SQS worker pool" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=builder /out/service /usr/local/bin/service
USER 65532:65532
ENV HTTP_ADDR=0.0.0.0:8080 \
    LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/service", "healthcheck", "--path", "/livez"]
ENTRYPOINT ["/usr/local/bin/service"]
CMD ["serve"]
