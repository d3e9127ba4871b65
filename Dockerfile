# The wif image: one static-enough binary (glibc, aws-lc linked in) on distroless, non-root.
# The webhook's Deployment runs `wif webhook ...`.
# docker build -t ghcr.io/wif-dev/wif:0.1.0 .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p wif \
 && strip target/release/wif

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/wif /wif
USER 65532:65532
ENTRYPOINT ["/wif"]
