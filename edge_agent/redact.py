"""Removing credentials from URLs before they reach a message or a log line.

One definition for the agent and the server (``fleet_protocol.redact``):
what it removes is all the protocol's credential check looks for, so a
redacted text never gets a message refused as ``credential_leak``.
"""

from __future__ import annotations

from fleet_protocol.redact import redact

__all__ = ["redact"]
