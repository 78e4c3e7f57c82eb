"""Which dependencies let a request through only with some capabilities.

Every such dependency (``deps.require``, the console's ``page_for`` and
``form_for``) registers what it checks here: the tests walk the app's routes
with it against docs/api.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fleet_server.access.roles import ALL_CAPABILITIES

_CHECKS: dict[Callable[..., Any], frozenset[str]] = {}
Check = TypeVar("Check", bound=Callable[..., Any])


def checks(dependency: Check, *capabilities: str) -> Check:
    """Register ``dependency`` as the check of ``capabilities`` (all needed)."""
    unknown = set(capabilities) - ALL_CAPABILITIES
    if unknown:
        raise ValueError(f"unknown capabilities: {sorted(unknown)}")
    _CHECKS[dependency] = frozenset(capabilities)
    return dependency


def required_by(dependency: Callable[..., Any]) -> frozenset[str] | None:
    """The capabilities ``dependency`` checks, None if it checks none."""
    return _CHECKS.get(dependency)
