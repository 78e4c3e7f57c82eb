"""Bounds every message obeys, so no board can stop ingest with a value
PostgreSQL refuses.

Text carries no NUL or other control character (``text`` and ``jsonb`` refuse
NUL; the others break reports and logs) and no lone UTF-16 surrogate (it
cannot be encoded as UTF-8). Integers fit the column that stores them, floats
are finite (``jsonb`` has no NaN or Infinity), and times are RFC 3339 strings
with a timezone in a sane range. The same types guard the agent, which builds
these models before it publishes.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue

INT32_MAX = 2**31 - 1  # PostgreSQL integer
INT64_MAX = 2**63 - 1  # PostgreSQL bigint
#: Longest uptime believed: 10 years (3,660 days, leap days included).
MAX_UPTIME_S = 3_660 * 86_400
#: Longest battery runtime believed: a year (a UPS reporting more is broken).
MAX_RUNTIME_S = 365 * 86_400
#: Longest round trip or answer time believed: 10 minutes.
MAX_DELAY_MS = 600_000.0
#: Deepest nesting of objects and lists inside a JSON value (config, output …).
MAX_JSON_DEPTH = 32
#: Times must lie in [TIME_MIN, TIME_MAX). A board whose clock was never set
#: reads 1970; ingest's clock window refuses that, the model does not, so the
#: agent keeps working until NTP sets its clock.
TIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)

# C0 controls, DEL and lone surrogates; free text may keep tab, LF and CR.
_BAD_IN_PLAIN_TEXT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_BAD_IN_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# RFC 3339 date-time (section 5.6): seconds and an offset are required.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def text_problem(value: str, *, free: bool = False) -> str | None:
    """What is wrong with ``value`` as text, or None. Never echoes the text."""
    found = (_BAD_IN_FREE_TEXT if free else _BAD_IN_PLAIN_TEXT).search(value)
    if found is None:
        return None
    code = ord(found.group())
    what = "a lone UTF-16 surrogate" if 0xD800 <= code <= 0xDFFF else "the control character"
    return f"contains {what} U+{code:04X} at position {found.start()}"


def printable(text: str, *, free: bool = False) -> str:
    """``text`` with every character the protocol refuses replaced by U+FFFD,
    for text from outside (a camera's answer, a command's output) that a board
    puts into a message. ``free``: keep tab, LF and CR (messages, errors)."""
    return (_BAD_IN_FREE_TEXT if free else _BAD_IN_PLAIN_TEXT).sub("\ufffd", text)


def _plain_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(f"text {problem}; no control characters are allowed here")
    return value


def _free_text(value: str) -> str:
    problem = text_problem(value, free=True)
    if problem is not None:
        raise ValueError(
            f"text {problem}; of the control characters only tab, LF and CR are allowed"
        )
    return value


def _rfc3339(value: object) -> object:
    """Parse an RFC 3339 string here: pydantic's own parser also reads
    ``"1700000000"`` (epoch seconds), ``"2026-03-02 01:00"`` and more."""
    if not isinstance(value, str):
        return value  # a datetime (the agent), or a wrong type the strict schema refuses
    if _RFC3339.fullmatch(value) is None:
        raise ValueError(
            "time must be an RFC 3339 string with a timezone, e.g. 2026-03-02T01:00:00Z"
        )
    try:
        return datetime.fromisoformat(value.upper())  # 't' and 'z' are allowed too
    except ValueError as exc:  # 2026-02-30, 24:00, an offset of a day …
        raise ValueError(f"time is not a valid RFC 3339 time: {exc}") from None


def _utc_in_range(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("time must include a timezone (use UTC, e.g. 2026-11-28T03:15:00Z)")
    # Check the year first: astimezone() overflows at year 1 and 9999.
    utc = value.astimezone(UTC) if TIME_MIN.year <= value.year < TIME_MAX.year else None
    if utc is None or not TIME_MIN <= utc < TIME_MAX:
        raise ValueError(
            "time must lie from 1970-01-01T00:00:00Z up to (not including) 2100-01-01T00:00:00Z"
        )
    return utc


def _exactly_int(value: object) -> object:
    """``Literal[1]`` alone also takes ``1.0`` and ``true`` (they equal 1)."""
    if type(value) is not int:
        raise ValueError("schema_version must be the JSON integer 1")
    return value


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, str):
        problem = text_problem(value, free=True)
        return None if problem is None else f"text {problem}"
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not -INT64_MAX <= value <= INT64_MAX:
        return "integer outside ±(2^63-1)"
    if isinstance(value, float) and not math.isfinite(value):
        return "number must be finite (no NaN or Infinity)"
    return None


def check_json(value: Any, path: str = "", depth: int = 0) -> None:
    """Raise ValueError naming the place of the first value in a nested JSON
    value that PostgreSQL or the code reading it cannot take: keys are plain
    text, strings free text, integers signed 64-bit, numbers finite."""
    if isinstance(value, dict | list):
        if depth >= MAX_JSON_DEPTH:
            raise ValueError(f"at {path}: nested deeper than {MAX_JSON_DEPTH} levels")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and (problem := text_problem(key)) is not None:
                raise ValueError(f"a key {f'in {path} ' if path else ''}{problem}")
            name = key[:64] if isinstance(key, str) else str(key)
            check_json(item, f"{path}.{name}" if path else name, depth + 1)
    elif (problem := _scalar_problem(value)) is not None:
        raise ValueError(f"at {path}: {problem}" if path else problem)


def json_object(value: dict[str, Any]) -> dict[str, Any]:
    """After-validator for a JSON object (``config``, ``output``, ``details`` …)."""
    check_json(value)
    return value


SchemaVersion = Annotated[Literal[1], BeforeValidator(_exactly_int)]
#: Identifiers and short strings: no control character at all.
PlainText = Annotated[str, AfterValidator(_plain_text)]
#: Messages, reasons, errors: tab, LF and CR allowed.
FreeText = Annotated[str, AfterValidator(_free_text)]
UtcTime = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_utc_in_range)]
Int32Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
Int64Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
DelayMs = Annotated[float, Field(ge=0, le=MAX_DELAY_MS)]
ShortKey = Annotated[PlainText, Field(min_length=1, max_length=64)]
#: A JSON object whose nested keys, text, integers and floats are all checked.
JsonObject = Annotated[dict[ShortKey, JsonValue], AfterValidator(json_object)]
