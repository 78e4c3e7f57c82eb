"""Error hierarchy of the fleet server; third-party errors are translated once."""

from __future__ import annotations


class FleetError(Exception):
    """Base of every error the fleet server raises on purpose."""


class ConfigError(FleetError):
    """Settings that cannot work (bad URL, placeholder secret, unwritable path)."""


class DatabaseUnavailable(FleetError):
    """PostgreSQL could not be reached or the connection broke."""


class MigrationError(FleetError):
    """A migration failed or the recorded history does not match the files."""


class BrokerUnavailable(FleetError):
    """The MQTT broker refused or dropped the connection."""
