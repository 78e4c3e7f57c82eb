"""The API's OpenAPI document is a contract: moving code (issue 15's feature
folders) must not change it. A deliberate change regenerates the fixture:

    .venv/bin/python -m tests.server.api.test_openapi_stable

and the diff is reviewed with the change that made it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fleet_server.api.app import create_app
from fleet_server.settings import Settings

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "api" / "openapi.json"


def current() -> dict[str, Any]:
    schema: dict[str, Any] = create_app(Settings(), console=False).openapi()
    # Through JSON, as clients receive it (tuples become lists).
    loaded: dict[str, Any] = json.loads(json.dumps(schema))
    return loaded


def _render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _changed(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """The paths and schemas that differ between two documents."""
    paths = set(got["paths"]) | set(want["paths"])
    schemas = set(got["components"]["schemas"]) | set(want["components"]["schemas"])
    return sorted(
        [f"paths {p}" for p in paths if got["paths"].get(p) != want["paths"].get(p)]
        + [
            f"schema {n}"
            for n in schemas
            if got["components"]["schemas"].get(n) != want["components"]["schemas"].get(n)
        ]
    )


def test_openapi_document_is_unchanged() -> None:
    want = json.loads(FIXTURE.read_text())
    got = current()
    assert got == want, (
        "the OpenAPI document changed (regenerate the fixture only for a deliberate "
        f"change): {_changed(got, want) or ['top level']}"
    )


if __name__ == "__main__":
    FIXTURE.write_text(_render(current()))
