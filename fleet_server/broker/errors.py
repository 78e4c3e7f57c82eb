"""Errors of the broker's account management."""

from __future__ import annotations

from fleet_server.errors import FleetError


class DynsecError(FleetError):
    """A dynamic-security command failed; names the command and the broker's text."""

    def __init__(self, command: str, error: str, subject: str | None = None) -> None:
        self.command = command
        self.error = error
        self.subject = subject
        where = f" ({subject})" if subject else ""
        super().__init__(f"dynamic security {command}{where} failed: {error}")


class DynsecTimeout(DynsecError):
    """The broker did not answer in time (plugin not loaded, or no $CONTROL rights)."""
