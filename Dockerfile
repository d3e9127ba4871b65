# wif's images: one binary (glibc, aws-lc linked in) on distroless, non-root.
#   docker build -t ghcr.io/wif-dev/wif:0.1.0 .                                  # the webhook (and every command)
#   docker build --target proxy -t ghcr.io/wif-dev/wif-proxy:0.1.0 .             # drop-in for upstream's proxy image
#   docker build --target proxy-init -t ghcr.io/wif-dev/wif-proxy-init:0.1.0 .   # drop-in for upstream's proxy-init image
# The proxy images answer to what the pod spec the webhook injects runs: the sidecar's image
# entrypoint with `--proxy-port=<port> --log-level=<level>`, its postStart hook
# `/proxy --proxy-port=<port> --probe`, and the init container's entrypoint with PROXY_PORT set.
# Invoked as /proxy or /proxy-init, the wif binary runs `wif proxy` or `wif proxy init`.
#
# The bases are build arguments, defaulting to the public images, so that scripts/images can build
# the same targets where no registry is reachable, on bases it makes from Debian's packages.
ARG BUILD_BASE=rust:1.95-bookworm
ARG RUNTIME_BASE=gcr.io/distroless/cc-debian12:nonroot
ARG PROXY_INIT_BASE=debian:bookworm-slim
# Where the binary comes from: `build` compiles it here; `prebuilt` takes a stripped `wif` from
# the root of the build context. Debian has no Rust 1.95, and compiling inside a container costs
# a cold release build on every test run; a bookworm host (glibc 2.36, as in cc-debian12) has
# already built the binary this stage would make. Unused stages are skipped (BuildKit, buildah);
# `:-build` below repeats the default because buildah 1.28 follows a FROM to an earlier stage only
# through --build-arg values, not through this line.
ARG BINARY_STAGE=build

FROM ${BUILD_BASE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p wif \
 && strip target/release/wif

FROM scratch AS prebuilt
COPY wif /src/target/release/wif

FROM ${BINARY_STAGE:-build} AS binary

# The proxy sidecar: UID 1501, which the redirect lets through to the real IMDS.
FROM ${RUNTIME_BASE} AS proxy
COPY --from=binary /src/target/release/wif /proxy
USER 1501:1501
ENTRYPOINT ["/proxy"]

# The init container: iptables (nf_tables and legacy) and the rules' plan, run as root.
FROM ${PROXY_INIT_BASE} AS proxy-init
RUN apt-get update && apt-get install -y --no-install-recommends iptables \
 && rm -rf /var/lib/apt/lists/*
COPY --from=binary /src/target/release/wif /proxy-init
ENTRYPOINT ["/proxy-init"]

FROM ${RUNTIME_BASE}
COPY --from=binary /src/target/release/wif /wif
USER 65532:65532
ENTRYPOINT ["/wif"]
