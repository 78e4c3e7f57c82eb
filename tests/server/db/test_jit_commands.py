"""The commands that open their own connections (``dashboards roles``,
``simulate --seed``, ``demo``) go through db/connect like the services: JIT
off unless FLEET_DB_JIT is true (docs/deployment.md). Each connection
psycopg opens is asked what it got, on a real server."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from fleet_server import cli
from fleet_server.dashboards import cli as dashboards_cli
from fleet_server.dashboards import roles as grafana_roles
from fleet_server.demo import DemoOptions, run_demo
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port

#: (application_name, jit) of each connection, in the order opened
Opened = list[tuple[str, str]]
HARNESS = str(Path(__file__).resolve().parents[2] / "support")


def show(conn: psycopg.Connection[Any], name: str) -> str:
    row = conn.execute(f"SHOW {name}").fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Opened:
    """Every ``psycopg.connect`` (db/connect's own included) recorded with the
    session's application_name and jit, its transaction left as it was; not
    the test databases' own (made in the background by tests/support)."""
    seen: Opened = []
    real = psycopg.Connection.connect

    def spy(*args: Any, **kwargs: Any) -> psycopg.Connection[Any]:
        conn = real(*args, **kwargs)
        if HARNESS not in sys._getframe(1).f_code.co_filename:
            seen.append((show(conn, "application_name"), show(conn, "jit")))
        if not conn.autocommit:
            conn.rollback()
        return conn

    monkeypatch.setattr(psycopg, "connect", spy)
    return seen


def of(seen: Opened, application: str) -> list[str]:
    return [jit for name, jit in seen if name == application]


# -- dashboards roles ----------------------------------------------------------------


@pytest.fixture
def prefix(db_owner_url: str) -> Iterator[str]:
    """Role names of this test process (roles are the server's, not the
    database's), dropped with their grants afterwards."""
    prefix = f"jit{os.getpid()}_"
    yield prefix
    role = sql.Identifier(prefix + "province")
    with psycopg.connect(db_owner_url, autocommit=True) as owner:
        owner.execute(sql.SQL("DROP OWNED BY {}").format(role))
        owner.execute(sql.SQL("DROP ROLE {}").format(role))


def test_dashboards_roles_connects_with_jit_off_unless_asked(
    db_owner_url: str, prefix: str, opened: Opened
) -> None:
    for jit in (False, True):
        done = grafana_roles.sync_roles(
            db_owner_url, environ={}, jit=jit, province_role=prefix + "province", prefix=prefix
        )
        assert [r.role for r, _ in done] == [prefix + "province"]
    assert of(opened, "fleet-dashboards-roles") == ["off", "on"]


def test_the_roles_command_passes_fleet_db_jit(
    db_owner_url: str, prefix: str, opened: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = grafana_roles.sync_roles
    monkeypatch.setattr(
        grafana_roles,
        "sync_roles",
        functools.partial(
            real, environ={}, province_role=prefix + "province", prefix=prefix + "org_"
        ),
    )
    args = argparse.Namespace(database_url=db_owner_url, datasources=None)
    monkeypatch.delenv("FLEET_DB_JIT", raising=False)
    assert dashboards_cli.cmd_roles(args) == 0
    monkeypatch.setenv("FLEET_DB_JIT", "true")
    assert dashboards_cli.cmd_roles(args) == 0
    assert of(opened, "fleet-dashboards-roles") == ["off", "on"]


# -- simulate --seed -------------------------------------------------------------------


def test_simulate_seeds_with_jit_off_unless_fleet_db_jit(
    db_url: str, mosquitto: Mosquitto, opened: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = threading.Event()
    stopped.set()
    monkeypatch.setattr(cli, "stop_event", lambda: stopped)
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("FLEET_MQTT_URL", mosquitto.url)
    args = argparse.Namespace(boards=2, scenario="normal", duration=0, heartbeat=None, seed=True)
    monkeypatch.delenv("FLEET_DB_JIT", raising=False)
    assert cli.cmd_simulate(args) == 0
    monkeypatch.setenv("FLEET_DB_JIT", "true")
    assert cli.cmd_simulate(args) == 0
    assert of(opened, "fleet-simulate") == ["off", "on"]


# -- demo ---------------------------------------------------------------------------------


def test_every_connection_of_the_demo_has_jit_off(
    db_url: str,
    db_owner_url: str,
    mosquitto: Mosquitto,
    tmp_path: Path,
    opened: Opened,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its own (seeding, history), migrate's and its services' alike; the
    demo stops as soon as it has started."""
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("FLEET_DATABASE_OWNER_URL", db_owner_url)
    monkeypatch.setenv("FLEET_MQTT_URL", mosquitto.url)
    monkeypatch.delenv("FLEET_DB_JIT", raising=False)
    stopped = threading.Event()
    stopped.set()
    opts = DemoOptions(boards=2, data_dir=tmp_path / "demo", api_port=free_port())
    run_demo(opts, stopped, say=lambda _: None)
    assert of(opened, "fleet-demo") == ["off"]
    assert {jit for _, jit in opened} == {"off"}, opened


def test_the_demo_leaves_jit_on_with_fleet_db_jit(
    db_url: str,
    db_owner_url: str,
    mosquitto: Mosquitto,
    tmp_path: Path,
    opened: Opened,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("FLEET_DATABASE_OWNER_URL", db_owner_url)
    monkeypatch.setenv("FLEET_MQTT_URL", mosquitto.url)
    monkeypatch.setenv("FLEET_DB_JIT", "true")
    stopped = threading.Event()
    stopped.set()
    opts = DemoOptions(boards=2, data_dir=tmp_path / "demo", api_port=free_port())
    run_demo(opts, stopped, say=lambda _: None)
    assert of(opened, "fleet-demo") == ["on"]
