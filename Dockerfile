# wif's images: one binary (glibc, aws-lc linked in) on distroless, non-root.
#   docker build -t ghcr.io/wif-dev/wif:0.1.0 .                                  # the webhook (and every command)
#   docker build --target proxy -t ghcr.io/wif-dev/wif-proxy:0.1.0 .             # drop-in for upstream's proxy image
#   docker build --target proxy-init -t ghcr.io/wif-dev/wif-proxy-init:0.1.0 .   # drop-in for upstream's proxy-init image
# The proxy images answer to what the pod spec the webhook injects runs: the sidecar's image
# entrypoint with `--proxy-port=<port> --log-level=<level>`, its postStart hook
# `/proxy --proxy-port=<port> --probe`, and the init container's entrypoint with PROXY_PORT set.
# Invoked as /proxy or /proxy-init, the wif binary runs `wif proxy` or `wif proxy init`.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p wif \
 && strip target/release/wif

# The proxy sidecar: UID 1501, which the redirect lets through to the real IMDS.
FROM gcr.io/distroless/cc-debian12:nonroot AS proxy
COPY --from=build /src/target/release/wif /proxy
USER 1501:1501
ENTRYPOINT ["/proxy"]

# The init container: iptables (nf_tables and legacy) and the rules' plan, run as root.
FROM debian:bookworm-slim AS proxy-init
RUN apt-get update && apt-get install -y --no-install-recommends iptables \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/wif /proxy-init
ENTRYPOINT ["/proxy-init"]

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/wif /wif
USER 65532:65532
ENTRYPOINT ["/wif"]
