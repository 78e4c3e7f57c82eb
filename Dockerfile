# The fleet server: one image for every role of docker-compose.yml (migrate,
# ingest, engine, api) and its one-shot helpers (broker-init, sim-provision,
# `fleet-server dashboards push`). See docs/deployment.md.
#
#   docker build -t laichau-fleet-server .
#   docker run --rm laichau-fleet-server fleet-server --help

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A virtualenv is copied whole into the runtime stage: no compiler, no wheels
# and no source tree are left in the image.
RUN python -m venv /opt/fleet
WORKDIR /src
COPY pyproject.toml README.md ./
COPY fleet_protocol ./fleet_protocol
COPY fleet_server ./fleet_server
COPY edge_agent ./edge_agent
RUN /opt/fleet/bin/pip install ".[server]"

FROM python:3.11-slim
ENV PATH=/opt/fleet/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# A fixed uid: the volumes it writes (the broker's CA directory, the simulated
# boards' files) are read by other containers that run as the same uid.
RUN groupadd --system --gid 10001 fleet \
    && useradd --system --uid 10001 --gid fleet --home-dir /home/fleet --create-home \
        --shell /usr/sbin/nologin fleet \
    && install -d -o fleet -g fleet -m 0755 /var/lib/mosquitto /var/lib/mosquitto/fleet \
    && install -d -o fleet -g fleet -m 0700 /var/lib/fleet-server \
    && install -d -o fleet -g fleet -m 0700 /sim
COPY --from=build /opt/fleet /opt/fleet
COPY docker/broker-init.sh /usr/local/bin/fleet-broker-init
COPY docker/healthcheck.py /usr/local/bin/fleet-healthcheck
WORKDIR /app
# `fleet-server dashboards push` reads dashboards/grafana/dashboards from here.
COPY dashboards ./dashboards
USER fleet
# api, ingest metrics, engine metrics
EXPOSE 8080 9101 9102
CMD ["fleet-server", "--help"]
