# The ratewire gateway's image: built with the toolchain and lock file CI uses, run as a user
# with no rights of its own. `docker build -t ratewire .` from the repository's root.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ratewire-gateway --bin ratewire

FROM debian:bookworm-slim
# CA roots for the platforms' and the businesses' HTTPS endpoints (and rediss://).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ratewire
COPY --from=build /src/target/release/ratewire /usr/local/bin/ratewire
USER 10001:10001
ENV RATEWIRE_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ratewire"]
CMD ["serve", "--config", "/etc/ratewire/ratewire.toml"]
