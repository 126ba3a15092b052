# tlflow container image.
#   docker build -t tlflow .          (or: buildah bud --format docker -t tlflow .)
#   docker run -p 8080:8080 -v tlflow-data:/data tlflow
# Settings are TLFLOW_* environment variables (-e) or flags after the command
# (docker run IMAGE tlflow --track x); see docs/deployment.md. The HEALTHCHECK needs the Docker image
# format (OCI images have no health checks: buildah/podman need --format docker).

# --- build stage: compilers and -dev packages, thrown away afterwards ------
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
# Keep this list in step with scripts/install-deps.sh (build part) and
# provision/roles/tlflow/defaults/main.yml (tlflow_build_packages).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      rapidjson-dev libboost-dev libboost-graph-dev \
      libboost-system-dev libboost-program-options-dev \
      libcurl4-openssl-dev libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY include include
COPY src src
COPY web web
ARG TLFLOW_JOBS=2
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
      -DTLFLOW_BUILD_TESTS=OFF -DTLFLOW_BUILD_BENCH=OFF \
      -DCMAKE_INSTALL_PREFIX=/usr/local \
 && cmake --build build -j "${TLFLOW_JOBS}" \
 && cmake --install build --strip \
 && /usr/local/bin/tlflow --version

# --- runtime stage: only the shared libraries tlflow links ----------------
FROM debian:bookworm
ARG DEBIAN_FRONTEND=noninteractive
# curl is for the HEALTHCHECK only: libcurl4 is already a runtime dependency
# of tlflow, so the curl program adds ~0.5 MB. ca-certificates lets tlflow
# reach https:// and wss:// sources and Gremlin servers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-system1.74.0 libcurl4 libssl3 zlib1g \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 tlflow \
 && useradd --system --uid 10001 --gid tlflow --home-dir /data \
      --no-create-home --shell /usr/sbin/nologin tlflow \
 && install -d -o tlflow -g tlflow -m 0750 /data
COPY --from=build /usr/local/bin/tlflow /usr/local/bin/tlflow

USER tlflow:tlflow
WORKDIR /data
# PaaS platforms set PORT; TLFLOW_HOST must stay 0.0.0.0 in a container.
# On 0.0.0.0 writes need credentials: TLFLOW_API_TOKEN (or a JWT setting),
# else the token tlflow generates at first start into /data/api-token.
ENV PORT=8080 \
    TLFLOW_HOST=0.0.0.0 \
    TLFLOW_DATA_DIR=/data
EXPOSE 8080
VOLUME ["/data"]
# Shell form on purpose: $PORT is expanded when the check runs, so the check
# follows the port the service really listens on.
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT}/status" || exit 1
# tlflow writes a snapshot on SIGTERM and exits 0. Exec form: tlflow is PID 1
# and receives the signal itself (no shell in between). CMD, not ENTRYPOINT:
# PaaS run commands (heroku.yml `run`, Procfile) replace CMD and are run by
# /bin/sh -c ("exec tlflow ...": tlflow replaces the shell); behind an
# ENTRYPOINT they would be appended to it as arguments.
# Flags: `docker run IMAGE tlflow --flag ...`, or -e VARs.
STOPSIGNAL SIGTERM
CMD ["/usr/local/bin/tlflow"]
