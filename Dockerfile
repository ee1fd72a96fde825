# dsr-worker container image: a static-ish release binary on a slim Debian base.
# Build: docker build -t dsr-worker .     Run: see docker-compose.yml
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes do not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && (cargo build --release --locked --bin dsr-worker 2>/dev/null || true)
COPY src src
COPY migrations migrations
COPY benches benches
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin dsr-worker

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app dsr
WORKDIR /app
COPY --from=build /src/target/release/dsr-worker /usr/local/bin/dsr-worker
COPY templates templates
COPY config/example.toml config/example.toml
COPY config/docker.toml config/docker.toml
USER dsr
ENV DSR_CONFIG=/app/config/docker.toml
ENTRYPOINT ["/usr/bin/tini", "--", "dsr-worker"]
CMD ["run"]
