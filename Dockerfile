# The one Kefu image the chart and the operator run: `kefu` (gateway, session, bot and the
# services to come, chosen by the first argument, e.g. `kefu gateway`) and `kefu-operator`.
#
#   make image                      # docker, podman, buildah or kaniko, whichever is installed
#   docker build -t kefu:dev .      # by hand
#
# Two stages: the workspace is compiled in the Rust image (Debian bookworm), the binaries run on
# distroless/cc-debian12 — the same glibc (2.36), libgcc for unwinding, CA certificates for
# rustls (webhooks, TLS to PostgreSQL and RabbitMQ), no shell, no package manager, and the
# non-root user 65532 the chart's securityContext expects. `make dockerfile-lint` (hadolint)
# checks this file in `make test`.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
# Everything the workspace needs to compile (see .dockerignore for what stays out).
COPY . .
# The graph is fixed by Cargo.lock (--locked); protobuf is compiled by protox (pure Rust), so
# the slim image's gcc (for ring and the bundled SQLite) is the only native toolchain needed.
RUN cargo build --release --locked -p kefu -p kefu-operator --bins \
 && install -D -m 0755 -t /out target/release/kefu target/release/kefu-operator

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="kefu" \
      org.opencontainers.image.description="Kefu omnichannel customer service: gateway, session, bot and the operator" \
      org.opencontainers.image.source="https://github.com/kefu-dev/kefu" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/ /usr/local/bin/
# The nonroot user of distroless (65532:65532), as in charts/kefu/values.yaml's securityContext.
USER 65532:65532
# HTTP (API, /metrics, /healthz, /readyz) and gRPC of the gateway; other services set their
# ports with KEFU_HTTP_ADDR / KEFU_GRPC_ADDR.
EXPOSE 8080 50051
ENTRYPOINT ["kefu"]
CMD ["--help"]
