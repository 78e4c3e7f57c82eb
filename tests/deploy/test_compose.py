"""docker-compose.yml: accepted by Debian's docker-compose (1.29) with the
variables of .env.example, and the structure a production start relies on —
every service the docs name, health checks on the long-running ones, start
order through health and completion, secrets without defaults, Prometheus
targets that exist — checked by parsing the YAML."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the dev dependencies

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DEPLOYMENT_DOC = REPO / "docs" / "deployment.md"
README = REPO / "README.md"
PROMETHEUS_YML = REPO / "dashboards" / "prometheus" / "prometheus.yml"

EXPECTED_SERVICES = {
    "mosquitto",
    "broker-init",
    "timescaledb",
    "migrate",
    "ingest-1",
    "ingest-2",
    "engine",
    "api",
    "prometheus",
    "grafana",
    "sim-provision",
    "simulator",
}
ONE_SHOT = {"broker-init", "migrate", "sim-provision"}
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?([-?])[^}]*)?\}")


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    found = load_compose()["services"]
    assert isinstance(found, dict)
    return found


def env_example() -> dict[str, str]:
    """KEY=VALUE lines of .env.example, and commented ``#KEY=`` ones (optional)."""
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#?([A-Z_][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match[1]] = match[2]
    return values


def required_variables() -> set[str]:
    return {m[1] for m in VARIABLE.finditer(COMPOSE.read_text()) if m[2] == "?"}


def filled_env(tmp_path: Path, drop: str | None = None) -> Path:
    """.env.example with every required secret filled in (URL-safe values)."""
    lines = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and key == drop:
            continue
        if sep and not line.startswith("#") and not value and key in required_variables():
            value = f"test-{key.lower().replace('_', '-')}-0123456789"
        lines.append(f"{key}{sep}{value}" if sep else line)
    path = tmp_path / ".env"
    path.write_text("\n".join(lines) + "\n")
    return path


def docker_compose(tmp_path: Path, env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose, 1.29)")
    # The variables come from the env file only, not from this process.
    env = {k: v for k, v in os.environ.items() if k not in env_example()}
    return subprocess.run(
        [binary, "--env-file", str(env_file), "-f", str(COMPOSE), "--profile", "simulator", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- docker-compose 1.29 ---------------------------------------------------------------


def test_docker_compose_accepts_the_file_with_env_example(tmp_path: Path) -> None:
    result = docker_compose(tmp_path, filled_env(tmp_path), "config")
    assert result.returncode == 0, result.stderr

    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == EXPECTED_SERVICES
    api_env = resolved["services"]["api"]["environment"]
    assert api_env["FLEET_DATABASE_URL"] == (
        "postgresql://fleet_app:test-app-db-password-0123456789@timescaledb:5432/fleet"
    )
    assert "FLEET_DATABASE_OWNER_URL" not in api_env
    assert resolved["services"]["migrate"]["environment"]["FLEET_DATABASE_OWNER_URL"] == (
        "postgresql://fleet:test-postgres-password-0123456789@timescaledb:5432/fleet"
    )
    assert api_env["FLEET_PROVISIONING_MQTT_URL"] == "mqtts://mqtt.laichau.example:8883"
    # Optional settings not set in .env stay unset in the container.
    assert api_env["FLEET_API_COOKIE_SECURE"] is None


@pytest.mark.parametrize("secret", sorted(required_variables()))
def test_docker_compose_refuses_to_start_without_a_secret(tmp_path: Path, secret: str) -> None:
    result = docker_compose(tmp_path, filled_env(tmp_path, drop=secret), "config", "-q")
    assert result.returncode != 0
    assert f"set {secret}" in result.stderr


# -- structure (pure Python) ------------------------------------------------------------


def test_every_service_is_there_and_documented() -> None:
    assert set(services()) == EXPECTED_SERVICES
    doc = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    section = doc.split("\n## Services\n", 1)[1].split("\n## ", 1)[0]
    table = {m[1] for m in re.finditer(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE)}
    assert table == EXPECTED_SERVICES, "docs/deployment.md's service table"


def test_every_service_the_readme_names_is_there() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("\n## Production with Docker Compose\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z0-9-]+)`", section))
    assert named == EXPECTED_SERVICES, "README's compose section"


def test_long_running_services_have_health_checks() -> None:
    for name, service in services().items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
            assert "healthcheck" not in service, name
            assert "ports" not in service, name
            continue
        assert service.get("restart") == "unless-stopped", name
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no health check"
        assert test[0] in ("CMD", "CMD-SHELL"), name
        assert service["healthcheck"]["interval"], name


def test_dependencies_wait_for_health_or_completion() -> None:
    all_services = services()
    for name, service in all_services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, rule in depends.items():
            assert target in all_services, f"{name} depends on unknown {target}"
            wanted = "service_completed_successfully" if target in ONE_SHOT else "service_healthy"
            assert rule == {"condition": wanted}, f"{name} -> {target}"
            if "profiles" in all_services[target]:
                # A default service must not need one that only a profile starts.
                assert all_services[target]["profiles"] == service.get("profiles"), name
    order = start_order(all_services)
    assert order.index("broker-init") < order.index("mosquitto") < order.index("ingest-1")
    assert order.index("timescaledb") < order.index("migrate") < order.index("api")
    assert order.index("sim-provision") < order.index("simulator")


def start_order(all_services: dict[str, dict[str, Any]]) -> list[str]:
    """Topological order of depends_on; fails on a cycle."""
    order: list[str] = []
    pending = dict(all_services)
    while pending:
        ready = [n for n, s in pending.items() if set(s.get("depends_on", {})) <= set(order)]
        assert ready, f"dependency cycle among {sorted(pending)}"
        for name in sorted(ready):
            order.append(name)
            del pending[name]
    return order


def test_server_roles_share_settings_and_ingest_shares_the_load() -> None:
    s = services()
    roles = ("migrate", "ingest-1", "ingest-2", "engine", "api", "sim-provision")
    for name in roles:
        env = s[name]["environment"]
        assert env["FLEET_ENVIRONMENT"] == "production", name
        assert env["FLEET_DATABASE_URL"].startswith("postgresql://fleet_app:${APP_DB_PASSWORD:?")
        # Only migrate holds the owner's password; the services run as the application role.
        owner = env.get("FLEET_DATABASE_OWNER_URL", "")
        assert owner.startswith("postgresql://fleet:${POSTGRES_PASSWORD:?") == (name == "migrate")
        assert env["FLEET_MQTT_URL"].startswith("mqtts://fleet-server:${BROKER_SERVER_PASSWORD:?")
        assert s[name]["image"] == "laichau-fleet-server:latest", name
    one, two = s["ingest-1"]["environment"], s["ingest-2"]["environment"]
    assert one["FLEET_INGEST_CLIENT_ID"] != two["FLEET_INGEST_CLIENT_ID"]
    assert one["FLEET_INGEST_SHARED_GROUP"] == two["FLEET_INGEST_SHARED_GROUP"] == "fleet-ingest"
    assert s["api"]["environment"]["FLEET_API_HOST"] == "0.0.0.0"
    assert s["api"]["ports"] == ["${API_BIND:-127.0.0.1}:${API_PORT:-8080}:8080"]
    assert s["grafana"]["volumes"][:2] == [
        "./dashboards/grafana/provisioning:/etc/grafana/provisioning:ro",
        "./dashboards/grafana/dashboards:/var/lib/grafana/dashboards:ro",
    ]
    assert "./dashboards/prometheus:/etc/prometheus:ro" in s["prometheus"]["volumes"]
    assert s["prometheus"]["ports"] == ["127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"]


def test_ingest_is_given_time_to_reach_its_stop_bound() -> None:
    """Ingest exits within 21 s of SIGTERM (docs/reliability.md); Docker's
    default grace, 10 s, would kill it before."""
    for name in ("ingest-1", "ingest-2"):
        grace = services()[name].get("stop_grace_period", "10s")
        assert grace.endswith("s"), name
        assert int(grace[:-1]) > 21, name


def test_prometheus_scrapes_ports_the_roles_listen_on() -> None:
    if not PROMETHEUS_YML.exists():
        pytest.skip("dashboards/prometheus/prometheus.yml is not written yet")
    config = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    s = services()
    targets = [
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
        if not target.startswith("localhost:")
    ]
    assert set(targets) >= {"api:8080", "ingest-1:9101", "ingest-2:9101", "engine:9102"}
    for target in targets:
        host, port = target.split(":")
        env = s[host]["environment"]
        listening = {
            env.get("FLEET_API_PORT"),
            env.get("FLEET_INGEST_METRICS_PORT"),
            env.get("FLEET_ENGINE_METRICS_PORT"),
        }
        assert port in listening, target
        assert env.get("FLEET_METRICS_HOST", "0.0.0.0") == "0.0.0.0", target


def test_every_metrics_endpoint_requires_the_token_prometheus_sends() -> None:
    s = services()
    for name in ("api", "ingest-1", "ingest-2", "engine", "prometheus"):
        token = s[name]["environment"]["FLEET_METRICS_TOKEN"]
        assert token.startswith("${METRICS_TOKEN:?"), name
    config = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    for job in config["scrape_configs"]:
        if job["job_name"].startswith("fleet-"):
            assert job["authorization"] == {
                "type": "Bearer",
                "credentials_file": "/run/secrets/fleet_metrics_token",
            }, job["job_name"]
    # Prometheus writes the file from its environment to a tmpfs, then starts.
    prometheus = s["prometheus"]
    assert prometheus["tmpfs"] == ["/run/secrets"]
    assert "> /run/secrets/fleet_metrics_token" in prometheus["entrypoint"][2]
    assert prometheus["entrypoint"][2].endswith('exec /bin/prometheus "$$@"')


def test_variables_are_documented_and_secrets_have_no_default() -> None:
    documented = env_example()
    used = {m[1] for m in VARIABLE.finditer(COMPOSE.read_text())}
    assert used <= set(documented), f"not in .env.example: {sorted(used - set(documented))}"
    for secret in required_variables():
        if "PASSWORD" in secret:
            assert documented[secret] == "", f"{secret} ships with a value in .env.example"
    # Settings passed through when set (KEY with no value) are documented too.
    for name, service in services().items():
        for key, value in (service.get("environment") or {}).items():
            if value is None:
                assert key in documented, f"{name}: {key} not in .env.example"


def test_bind_mounts_and_build_contexts_exist() -> None:
    for name, service in services().items():
        build = service.get("build")
        if build:
            context = REPO / build["context"]
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("./") or source.startswith("./dashboards/grafana"):
                continue  # named volumes; Grafana's files come with the dashboards
            assert (REPO / source).exists(), f"{name}: {source}"


def test_images_carry_the_commands_compose_runs() -> None:
    server = (REPO / "Dockerfile").read_text()
    agent = (REPO / "Dockerfile.agent").read_text()
    broker = (REPO / "docker" / "broker" / "Dockerfile").read_text()
    assert "/usr/local/bin/fleet-broker-init" in server
    assert "/usr/local/bin/fleet-healthcheck" in server
    assert "/usr/local/bin/fleet-sim-boards" in agent
    assert "/usr/local/bin/fleet-sim-healthcheck" in agent
    assert "mosquitto-clients" in broker  # mosquitto_pub, the health check
    assert 'pip install ".[server]"' in server
    assert 'pip install ".[agent]"' in agent
    for dockerfile in (server, agent):
        assert "FROM python:3.11-slim" in dockerfile
        assert "\nUSER fleet\n" in dockerfile
        assert "COPY fleet_server" not in dockerfile or dockerfile is server
