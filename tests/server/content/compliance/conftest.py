"""Hand-built broadcast days (the compliance tests' fixtures) for the content
workflow's effect on Điều 8.1."""

from __future__ import annotations

from tests.server.compliance.conftest import conn, days  # noqa: F401 - shared fixtures
