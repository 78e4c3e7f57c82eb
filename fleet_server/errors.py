"""Error hierarchy of the fleet server; third-party errors are translated once."""

from __future__ import annotations

from typing import Any


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


# -- what a request asked for cannot be done -------------------------------------
# Raised by services and storage; the API translates each once into an RFC 9457
# problem document (api/problems.py), the console into a message on the page.


class RequestError(FleetError):
    """The caller's request cannot be carried out; ``status`` is the HTTP
    status the API answers with, ``kind`` the problem type's slug."""

    status = 400
    kind = "bad-request"
    #: The problem document's title; None: the status's phrase.
    title: str | None = None

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        #: Further members of the problem document (e.g. ``errors``).
        self.extra = extra


class NotFound(RequestError):
    """The object does not exist or lies outside the caller's scope: the same
    answer for both, with no hint that another organisation's board exists."""

    status = 404
    kind = "not-found"

    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} not found")
        self.what = what
        self.ident = ident


class Forbidden(RequestError):
    """The caller's role may not do this."""

    status = 403
    kind = "forbidden"


class Conflict(RequestError):
    """The change clashes with the current state (a duplicate, a state the
    object is not in, a row that refers to it)."""

    status = 409
    kind = "conflict"


class Invalid(RequestError):
    """A value the caller sent is not acceptable; ``field`` names it when one
    field is at fault (and the problem document lists it under ``errors``)."""

    status = 400
    kind = "bad-request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        if field is not None and "errors" not in extra:
            extra["errors"] = [{"field": field, "message": detail}]
        super().__init__(detail, **extra)
        self.field = field


class Unprocessable(Invalid):
    """Well-formed but not processable (HTTP 422): a file that cannot be read,
    a value PostgreSQL cannot store."""

    status = 422
    kind = "validation"
    title = "Invalid request"


class TooLarge(RequestError):
    """The upload or request is larger than allowed."""

    status = 413
    kind = "too-large"
