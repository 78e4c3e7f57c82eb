"""PostgreSQL's JIT is off on the fleet server's connections unless
FLEET_DB_JIT is true (docs/deployment.md): the libpq ``options`` the URL or
PGOPTIONS already carry are kept beside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from pydantic import ValidationError

from fleet_server.api.app import create_app
from fleet_server.db.connect import connect, conninfo, merged_options
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.errors import ConfigError
from fleet_server.settings import Settings
from tests.server.api.conftest import api_settings

TIMEOUT = "-c statement_timeout=4321"


def with_options(url: str, encoded: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options={encoded}"


# -- the merging, as a pure function ------------------------------------------


def test_jit_off_alone_when_nothing_is_given() -> None:
    assert merged_options(None) == "-c jit=off"
    assert merged_options("  ") == "-c jit=off"


def test_given_options_are_kept_after_jit_off() -> None:
    """In front, so a jit the URL names itself is applied last and wins."""
    assert merged_options(TIMEOUT) == f"-c jit=off {TIMEOUT}"
    assert merged_options(f" {TIMEOUT} -c work_mem=8MB ") == (
        f"-c jit=off {TIMEOUT} -c work_mem=8MB"
    )
    assert merged_options("-c jit=on") == "-c jit=off -c jit=on"


def test_the_url_keeps_its_options_and_its_other_parameters() -> None:
    url = "postgresql://fleet:p%40ss@db.example:5433/fleet?sslmode=require&options=" + (
        "-c%20statement_timeout%3D4321"
    )
    assert conninfo_to_dict(conninfo(url, environ={})) == {
        "user": "fleet",
        "password": "p@ss",
        "host": "db.example",
        "port": "5433",
        "dbname": "fleet",
        "sslmode": "require",
        "options": f"-c jit=off {TIMEOUT}",
    }


def test_pgoptions_are_kept_when_the_url_has_none() -> None:
    """libpq reads PGOPTIONS only while the conninfo sets no options."""
    url = "postgresql://fleet@db.example/fleet"
    got = conninfo_to_dict(conninfo(url, environ={"PGOPTIONS": TIMEOUT}))
    assert got["options"] == f"-c jit=off {TIMEOUT}"
    with_own = with_options(url, "-c%20work_mem%3D8MB")
    got = conninfo_to_dict(conninfo(with_own, environ={"PGOPTIONS": TIMEOUT}))
    assert got["options"] == "-c jit=off -c work_mem=8MB"


def test_with_jit_the_url_is_unchanged() -> None:
    url = "postgresql://fleet@db.example/fleet"
    assert conninfo(url, jit=True, environ={}) == url
    assert conninfo(url, jit=True, environ={"PGOPTIONS": TIMEOUT}) == url
    with_own = with_options(url, "-c%20work_mem%3D8MB")
    assert conninfo(with_own, jit=True) == with_own


def test_a_bad_url_is_a_config_error_without_its_password() -> None:
    for jit in (False, True):
        with pytest.raises(ConfigError, match="bogus") as caught:
            conninfo("postgresql://fleet:s3cret@db.example/fleet?bogus=1", jit=jit)
        assert "s3cret" not in str(caught.value)


# -- the setting ------------------------------------------------------------------


def test_the_setting_is_false_unless_fleet_db_jit_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEET_DB_JIT", raising=False)
    assert Settings().db_jit is False
    monkeypatch.setenv("FLEET_DB_JIT", "true")
    assert Settings().db_jit is True
    monkeypatch.setenv("FLEET_DB_JIT", "perhaps")
    with pytest.raises(ValidationError, match="db_jit"):
        Settings()


# -- on a real server ---------------------------------------------------------------


def show(conn: psycopg.Connection[tuple[object, ...]], name: str) -> object:
    row = conn.execute(f"SHOW {name}").fetchone()
    assert row is not None
    return row[0]


@contextmanager
def app_connection(settings: Settings) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection of the pool ``create_app`` makes for itself."""
    app = create_app(settings, console=False, broker_check=lambda: None)
    pool = app.state.ctx.pool
    pool.open(wait=True, timeout=30)
    try:
        with pool.connection(timeout=30) as conn:
            yield conn
    finally:
        pool.close()


def test_the_server_itself_has_jit_on(db_url: str) -> None:
    """What the tests below tell apart: without the options, JIT is on."""
    with psycopg.connect(db_url) as conn:
        assert show(conn, "jit") == "on"


def test_the_apps_pool_has_jit_off_by_default(db_url: str) -> None:
    with app_connection(api_settings(db_url)) as conn:
        assert show(conn, "jit") == "off"
        assert show(conn, "application_name") == "fleet-api"


def test_the_apps_pool_leaves_jit_on_with_the_setting(db_url: str) -> None:
    settings = api_settings(db_url).model_copy(update={"db_jit": True})
    with app_connection(settings) as conn:
        assert show(conn, "jit") == "on"


def test_the_apps_pool_keeps_the_urls_own_options(db_url: str) -> None:
    url = with_options(db_url, "-c%20statement_timeout%3D4321")
    with app_connection(api_settings(url)) as conn:
        assert show(conn, "jit") == "off"
        assert show(conn, "statement_timeout") == "4321ms"


def test_connect_has_jit_off_unless_asked(db_url: str) -> None:
    """The path of the command line, migrations, ingest, reports and backups."""
    url = with_options(db_url, "-c%20statement_timeout%3D4321")
    with connect(url) as conn:
        assert (show(conn, "jit"), show(conn, "statement_timeout")) == ("off", "4321ms")
    with connect(url, jit=True) as conn:
        assert (show(conn, "jit"), show(conn, "statement_timeout")) == ("on", "4321ms")


def test_the_engine_connects_with_jit_off_unless_asked(db_url: str) -> None:
    with psycopg.connect(Engine(db_url).conninfo) as conn:
        assert show(conn, "jit") == "off"
    with psycopg.connect(Engine(db_url, EngineSettings(db_jit=True)).conninfo) as conn:
        assert show(conn, "jit") == "on"
