"""Who may read /metrics (fleet_server/metrics/access.py): the bearer token of
FLEET_METRICS_TOKEN when set, otherwise this machine only; the ingest and
engine listeners behind the token over real HTTP, and a listener on an
address other hosts reach refused at start without one."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge

from fleet_server.errors import ConfigError
from fleet_server.metrics import serving
from fleet_server.metrics.access import Access, check_listener, decide, metrics_token
from fleet_server.settings import Settings
from tests.support.metrics import parse
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[3]
TOKEN = "q3J5cTq2-Yx8_kR0vN1mZ4wB"


@pytest.mark.parametrize(
    ("peer", "authorization", "forwarded", "token", "expected"),
    [
        # no token: this machine only
        ("127.0.0.1", None, False, None, Access.ALLOWED),
        ("127.0.0.2", None, False, None, Access.ALLOWED),
        ("::1", None, False, None, Access.ALLOWED),
        ("::ffff:127.0.0.1", None, False, None, Access.ALLOWED),
        ("192.0.2.10", None, False, None, Access.FORBIDDEN),
        ("10.0.0.2", None, False, None, Access.FORBIDDEN),
        ("::ffff:192.0.2.10", None, False, None, Access.FORBIDDEN),
        ("testclient", None, False, None, Access.FORBIDDEN),
        (None, None, False, None, Access.FORBIDDEN),
        # a reverse proxy on this machine forwarding a request from elsewhere
        ("127.0.0.1", None, True, None, Access.FORBIDDEN),
        # a header does not help without a configured token
        ("192.0.2.10", f"Bearer {TOKEN}", False, None, Access.FORBIDDEN),
        # a token: it decides, from anywhere, loopback included
        ("192.0.2.10", f"Bearer {TOKEN}", False, TOKEN, Access.ALLOWED),
        ("192.0.2.10", f"bearer  {TOKEN} ", True, TOKEN, Access.ALLOWED),
        ("127.0.0.1", None, False, TOKEN, Access.UNAUTHORIZED),
        ("192.0.2.10", None, False, TOKEN, Access.UNAUTHORIZED),
        ("192.0.2.10", f"Bearer {TOKEN}x", False, TOKEN, Access.UNAUTHORIZED),
        ("192.0.2.10", f"Bearer {TOKEN[:-1]}", False, TOKEN, Access.UNAUTHORIZED),
        ("192.0.2.10", f"Basic {TOKEN}", False, TOKEN, Access.UNAUTHORIZED),
        ("192.0.2.10", "Bearer ", False, TOKEN, Access.UNAUTHORIZED),
    ],
)
def test_the_rule(
    peer: str | None,
    authorization: str | None,
    forwarded: bool,
    token: str | None,
    expected: Access,
) -> None:
    verdict = decide(peer=peer, authorization=authorization, forwarded=forwarded, token=token)
    assert verdict is expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short-token-1234", None),  # 16: accepted
        ("s3cr3t", "shorter than 16 characters"),
        ("changeme-changeme-changeme", "placeholder"),
        ("REPLACE-WITH-A-RANDOM-TOKEN", "placeholder"),
        ("a token with spaces in it", "letters, digits"),
        ("ünïcödé-token-0123456789", "letters, digits"),
    ],
)
def test_a_short_or_placeholder_token_is_refused_without_repeating_it(
    value: str, message: str | None
) -> None:
    settings = Settings(metrics_token=value)
    assert value not in repr(settings)
    if message is None:
        assert metrics_token(settings) == value
        return
    with pytest.raises(ConfigError, match=message) as refused:
        metrics_token(settings)
    assert value not in str(refused.value)


def test_an_empty_token_is_no_token() -> None:
    assert metrics_token(Settings(metrics_token="")) is None
    assert metrics_token(Settings()) is None


def test_a_listener_without_a_token_stays_on_this_machine() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        check_listener(host, None)
    for host in ("0.0.0.0", "::", "192.0.2.2", "ingest-1"):
        with pytest.raises(ConfigError, match=r"FLEET_METRICS_HOST=.*FLEET_METRICS_TOKEN"):
            check_listener(host, None)
        check_listener(host, TOKEN)
    registry = CollectorRegistry()
    with (
        pytest.raises(ConfigError, match="FLEET_METRICS_TOKEN is not set"),
        serving(registry, "0.0.0.0", free_port()),
    ):
        pass


def get(url: str, authorization: str | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url)
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_the_listener_with_a_token_answers_only_with_it() -> None:
    registry = CollectorRegistry()
    Gauge("fleet_ingest_broker_connected", "1 while connected", registry=registry).set(1)
    with serving(registry, "127.0.0.1", free_port(), TOKEN) as port:
        url = f"http://127.0.0.1:{port}/metrics"
        status, headers, body = get(url)
        assert (status, headers["WWW-Authenticate"]) == (401, "Bearer")
        assert "fleet_ingest" not in body
        assert get(url, f"Bearer {TOKEN}-wrong")[0] == 401
        assert get(url, f"Basic {TOKEN}")[0] == 401
        status, _, body = get(url, f"Bearer {TOKEN}")
        assert status == 200
        assert parse(body).value("fleet_ingest_broker_connected") == 1


def run_role(role: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleet_server.cli", role],
        cwd=REPO,
        env=dict(os.environ, FLEET_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("role", "port_setting"),
    [("ingest", "FLEET_INGEST_METRICS_PORT"), ("engine", "FLEET_ENGINE_METRICS_PORT")],
)
def test_a_role_refuses_to_start_on_a_reachable_address_without_a_token(
    role: str, port_setting: str
) -> None:
    env = {"FLEET_METRICS_HOST": "0.0.0.0", port_setting: str(free_port())}
    done = run_role(role, **env, FLEET_METRICS_TOKEN="")
    assert done.returncode == 1, done.stderr
    assert "FLEET_METRICS_HOST=0.0.0.0" in done.stderr
    assert "FLEET_METRICS_TOKEN is not set" in done.stderr
    placeholder = run_role(role, **env, FLEET_METRICS_TOKEN="changeme-changeme-changeme")
    assert placeholder.returncode == 1
    assert "FLEET_METRICS_TOKEN is a placeholder" in placeholder.stderr
    assert "changeme-changeme-changeme" not in placeholder.stderr
