"""The API process's interpreter settings (fleet_server/api/interpreter.py):
applied while the application runs, undone when it stops."""

from __future__ import annotations

import gc
import sys
import threading

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from pydantic import ValidationError

from fleet_server.api import interpreter
from fleet_server.api.app import create_app
from fleet_server.settings import Settings
from tests.server.api.conftest import api_settings
from tests.support.wait import wait_for


def test_tune_sets_the_switch_interval_and_freezes_until_undone() -> None:
    before = sys.getswitchinterval()
    undo = interpreter.tune(0.0007)
    try:
        assert sys.getswitchinterval() == pytest.approx(0.0007)
        assert gc.get_freeze_count() > 0
        # what requests make later is still the collector's to free
        made_after: list[object] = []
        assert any(x is made_after for x in gc.get_objects(generation=0))
    finally:
        undo()
    assert sys.getswitchinterval() == pytest.approx(before)
    assert gc.get_freeze_count() == 0


def test_settling_freezes_what_survives_a_collection() -> None:
    undo = interpreter.tune(0.001)
    try:
        kept = [[n] for n in range(1000)]  # built at a first request, and kept
        assert any(x is kept for x in gc.get_objects())
        interpreter.settled()
        # The count itself is no measure: the collection may free frozen objects
        # that only garbage held, so the kept objects are looked for instead.
        tracked = {id(x) for x in gc.get_objects()}
        assert id(kept) not in tracked
        assert not any(id(inner) in tracked for inner in kept)
        assert gc.get_freeze_count() >= len(kept)
    finally:
        undo()
    assert gc.get_freeze_count() == 0


def test_the_settling_runs_once_on_its_timer_and_undo_stops_it() -> None:
    undo = interpreter.tune(0.001, settle_s=0.05)
    try:
        kept = [[n] for n in range(1000)]
        wait_for(lambda: not any(x is kept for x in gc.get_objects()), 10, "the settling freeze")
    finally:
        undo()
    undo = interpreter.tune(0.001, settle_s=3600)
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
    assert timers
    undo()
    for timer in timers:
        timer.join(5)
        assert not timer.is_alive()


def test_the_application_runs_with_the_configured_interval(api_db: str) -> None:
    before = sys.getswitchinterval()
    settings = api_settings(api_db).model_copy(update={"api_switch_interval_ms": 2.5})
    with ConnectionPool(api_db, min_size=1, max_size=2, open=True) as pool:
        app = create_app(settings, pool=pool, broker_check=lambda: None)
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            assert sys.getswitchinterval() == pytest.approx(0.0025)
            assert gc.get_freeze_count() > 0
    assert sys.getswitchinterval() == pytest.approx(before)
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FLEET_API_SWITCH_INTERVAL_MS", "0"),
        ("FLEET_API_SWITCH_INTERVAL_MS", "0.01"),
        ("FLEET_API_SWITCH_INTERVAL_MS", "1000"),
        ("FLEET_API_SWITCH_INTERVAL_MS", "abc"),
        ("FLEET_API_GC_SETTLE_S", "-1"),
        ("FLEET_API_GC_SETTLE_S", "never"),
        ("FLEET_API_GC_SETTLE_S", "100000"),
    ],
)
def test_a_setting_out_of_range_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable.removeprefix("FLEET_").lower()):
        Settings()


def test_every_console_template_is_compiled_when_the_console_is_mounted(api_db: str) -> None:
    from fleet_server.api.console import web  # noqa: PLC0415

    web.ENV.cache.clear()  # type: ignore[union-attr]
    create_app(api_settings(api_db), broker_check=lambda: None)
    compiled = {key[1] for key in web.ENV.cache}  # type: ignore[union-attr]
    pages = set(web.ENV.list_templates(filter_func=lambda n: n.endswith(".html")))
    assert len(pages) > 50
    assert pages <= compiled
