# Multi-stage build: compile in the Rust image, run as a non-root user on Debian slim.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock diesel.toml ./
COPY src src
COPY migrations migrations
COPY benches benches
RUN cargo build --release --locked --bin rolegate

FROM debian:bookworm-slim
# libpq for the database driver; postgresql for the embedded default (omit it when
# DATABASE_URL always points at an external database).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates postgresql \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/rolegate --create-home rolegate
COPY --from=build /src/target/release/rolegate /usr/local/bin/rolegate
USER rolegate
WORKDIR /var/lib/rolegate
ENV ROLEGATE_LISTEN=0.0.0.0:8080 \
    ROLEGATE_DATA_DIR=/var/lib/rolegate/data \
    ROLEGATE_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/rolegate"]
CMD ["serve"]
