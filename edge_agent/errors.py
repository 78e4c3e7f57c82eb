"""Error hierarchy of the edge agent."""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class ConfigError(AgentError):
    """The configuration is wrong; the agent refuses to start."""


class CollectorError(AgentError):
    """A collector could not take a reading (the hardware or tool failed)."""


class NotPresent(CollectorError):
    """The hardware or tool this collector reads is not on this board."""


class SpoolError(AgentError):
    """The on-disk spool could not be read or written."""
