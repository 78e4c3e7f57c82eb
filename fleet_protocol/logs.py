"""Logs and diagnostics on request: the ``collect_logs`` command and the
gzip bodies of the bundles a board answers it with (``logs`` channel,
``LogBundleData`` in :mod:`.messages`).

A technician hours away asks a board for the last ``minutes`` (at most
``lines`` lines) of its agent's and player's journal and for a diagnostics
snapshot (versions, configuration without secrets, spool, collectors,
disk, memory, modem, clock). The board redacts before it compresses, cuts
the oldest lines until the gzip fits :data:`MAX_LOG_BUNDLE_BYTES` and
uploads one bundle per kind through its spool; the server refuses a body
that does not unpack, unpacks to more than :data:`MAX_LOG_TEXT_BYTES`, is
not UTF-8 or still holds a URL with user:password@ (it never stores a
credential the board missed).

Compatibility: ``schema_version`` stays 1; an agent older than the command
answers ``rejected`` ("unknown command") and never publishes on ``logs``.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from fleet_protocol.errors import ProtocolError

COLLECT_LOGS_COMMAND: Final = "collect_logs"
LogBundleKind = Literal["journal", "diagnostics"]
LOG_BUNDLE_KINDS: Final[tuple[LogBundleKind, ...]] = get_args(LogBundleKind)
#: Largest gzip body one bundle carries: with base64 and the envelope the
#: message stays below the broker's 64 KiB packet limit, as a snapshot does.
MAX_LOG_BUNDLE_BYTES: Final = 44_000
#: Largest text a body unpacks to (5,000 journal lines of 400 bytes fit):
#: a 44 KB gzip of zeros would otherwise unpack to 40 MB on the server.
MAX_LOG_TEXT_BYTES: Final = 2 * 1024 * 1024
MAX_LOG_MINUTES: Final = 1440
MAX_LOG_LINES: Final = 5000


def _distinct(value: list[LogBundleKind]) -> list[LogBundleKind]:
    if len(set(value)) != len(value):
        raise ValueError("name each kind once")
    return value


class CollectLogsArgs(BaseModel):
    """``args`` of ``collect_logs``: ``{"minutes": 60, "lines": 1000,
    "include": ["journal", "diagnostics"]}`` (each optional, these defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    minutes: Annotated[int, Field(ge=1, le=MAX_LOG_MINUTES)] = 60
    lines: Annotated[int, Field(ge=1, le=MAX_LOG_LINES)] = 1000
    include: Annotated[
        list[LogBundleKind], Field(min_length=1, max_length=2), AfterValidator(_distinct)
    ] = Field(default_factory=lambda: list(LOG_BUNDLE_KINDS))


def check_collect_logs_args(args: dict[str, Any]) -> CollectLogsArgs:
    """The arguments of ``collect_logs``, or ProtocolError (``invalid_args``)
    naming the field."""
    try:
        return CollectLogsArgs.model_validate(args)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p)[:64] for p in first["loc"]) or "args"
        message = first["msg"].removeprefix("Value error, ")
        raise ProtocolError("invalid_args", f"collect_logs: {where}: {message}") from None


def gzip_text(text: bytes) -> bytes:
    """``text`` gzipped, the same bytes for the same text (no time stamp)."""
    return gzip.compress(text, compresslevel=9, mtime=0)


def gunzip(body: bytes, limit: int = MAX_LOG_TEXT_BYTES) -> bytes:
    """What a gzip ``body`` unpacks to, reading at most ``limit`` bytes of
    it; ValueError when it is not one whole gzip member or unpacks to more."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        text = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not a valid gzip body: {exc}") from None
    if len(text) > limit:
        raise ValueError(f"unpacks to more than {limit} bytes")
    if not inflater.eof:
        raise ValueError("the gzip body is cut short")
    if inflater.unused_data:
        raise ValueError("bytes after the gzip body")
    return text


__all__ = [
    "COLLECT_LOGS_COMMAND",
    "LOG_BUNDLE_KINDS",
    "MAX_LOG_BUNDLE_BYTES",
    "MAX_LOG_LINES",
    "MAX_LOG_MINUTES",
    "MAX_LOG_TEXT_BYTES",
    "CollectLogsArgs",
    "LogBundleKind",
    "check_collect_logs_args",
    "gunzip",
    "gzip_text",
]
