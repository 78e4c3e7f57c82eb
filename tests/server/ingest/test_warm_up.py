"""Ingest builds the protocol's validators at start (fleet_protocol defers
them to first use, for the boards' sake): none is built on a first message."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from fleet_protocol.build import build_models, protocol_models
from fleet_server.ingest import service as ingest_service
from fleet_server.settings import Settings
from tests.server.ingest.conftest import running


def test_start_builds_every_protocol_model_before_taking_messages(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, list[str]]] = []

    def recording() -> int:
        threads = [thread.name for thread in threading.enumerate()]
        built = build_models()
        calls.append((built, threads))
        return built

    monkeypatch.setattr(ingest_service, "build_models", recording)
    with running(make_settings()):
        assert len(calls) == 1
        _, threads_then = calls[0]
        assert "ingest-writer" not in threads_then  # before the writer takes a message
        assert all(model.__pydantic_complete__ for model in protocol_models())
