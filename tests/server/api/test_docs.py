"""docs/api.md documents every endpoint the application serves, and every
role the code knows."""

from __future__ import annotations

from pathlib import Path

from fleet_server.access.roles import CAPABILITIES
from fleet_server.api.app import create_app
from fleet_server.settings import Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def test_every_endpoint_is_documented() -> None:
    schema = create_app(Settings(), console=False).openapi()
    text = DOC.read_text()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if f"`{method.upper()} {path}`" not in text
    ]
    assert not missing, f"docs/api.md does not list: {missing}"


def test_every_role_is_documented() -> None:
    text = DOC.read_text()
    for role in CAPABILITIES:
        assert f"| `{role}` |" in text


def test_every_capability_in_the_doc_exists() -> None:
    known = set().union(*CAPABILITIES.values())
    text = DOC.read_text()
    for line in text.splitlines():
        if line.startswith("| `") and "/api/v1" in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            capability = cells[1].strip("`")
            assert capability in known | {"–", "any"}, line
